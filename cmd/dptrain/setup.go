package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dpmpi/dpmpi/internal/prec"
	"github.com/dpmpi/dpmpi/internal/seed"

	"github.com/dpmpi/dpmpi/accountant"
	"github.com/dpmpi/dpmpi/data"
	"github.com/dpmpi/dpmpi/nn"
	"github.com/dpmpi/dpmpi/optimizer"
	"github.com/dpmpi/dpmpi/perlayer"
	"github.com/dpmpi/dpmpi/simple"
)

// setup builds everything up to the first step: data, model, run length and
// σ, DP optimizer, sampler and the run's identity. All ranks return errors
// for the same deterministic reasons, so the caller can use agree.
func (t *trainer[F]) setup() error {
	c := t.c
	var err error
	if t.data, err = loadData(c); err != nil {
		return err
	}
	var spec *nn.Spec
	if t.net.model, spec, err = buildModel[F](c, t.data.train.Dim(), t.data.classes); err != nil {
		return err
	}
	if t.net.arena, err = t.net.model.NewArena(c.Seed); err != nil {
		return err
	}
	if t.data.views, err = loadViews(c, t.data.train); err != nil {
		return err
	}
	if t.aug, err = newAugmenter(c, t.net.model.InShape(), t.data.views); err != nil {
		return err
	}
	if t.aug != nil && t.aug.k > 1 {
		if err := t.net.model.SetMultiplicity(t.aug.k); err != nil {
			return err
		}
	}
	th, err := thresholds(c, t.net.model.NumLayers())
	if err != nil {
		return err
	}
	t.priv.prior = centerPrior(c)
	if err := t.planRun(); err != nil {
		return err
	}
	if err := t.buildOptimizer(th); err != nil {
		return err
	}
	n := t.data.train.Len()
	t.rng.sampler, err = data.NewSampler(data.SamplerConfig{N: n, Rate: t.priv.q, Rank: t.rank, World: t.world,
		Seed: c.Seed, Secure: c.Secure, Shuffle: true, ShuffleSeed: c.Seed})
	if err != nil {
		return err
	}
	t.id = runIdentity{Model: modelName(c), Precision: precisionName[F](), ModelSpec: modelIdentity(c, spec), Data: dataIdentity(c, t.data.classes), Clipping: c.Clipping, Thresholds: th, Optimizer: c.Optimizer,
		LR: c.LR, LRSchedule: c.LRSchedule, Momentum: c.Momentum, WeightDecay: c.WeightDecay, World: t.world, TrainN: n,
		SampleRate: t.priv.q, Sigma: t.priv.sigma, TargetEpsilon: c.TargetEpsilon, Delta: c.Delta,
		Accountant: c.Accountant, Seed: c.Seed, Secure: c.Secure, Noise: noiseIdentity(c.Noise), EMA: c.EMA, EMAWarmup: emaWarmupIdentity(c),
		Adaptive: t.adaptiveIdentity(), Augment: t.augmentIdentity(), Center: centerIdentity(c)}
	if c.EMA > 0 {
		t.net.avg = newAverage(c.EMA, c.EMAWarmup, t.net.arena.Params)
	}
	return nil
}

// precisionName is --precision's value for F.
func precisionName[F optimizer.Float]() string {
	if prec.Is32[F]() {
		return "float32"
	}
	return "float64"
}

// buildModel builds c.Model for data of dimension dim with classes labels.
// A built-in model (nn.BuiltinSpecs) gets one output per class; a spec file
// must already have them, and its input must hold dim values.
func buildModel[F optimizer.Float](c *config, dim, classes int) (*nn.Sequential[F], *nn.Spec, error) {
	spec, err := nn.LoadSpec(c.Model)
	if err != nil {
		return nil, nil, err
	}
	if builtinModel(c.Model) {
		last := &spec.Layers[len(spec.Layers)-1]
		last.Out = &classes
	}
	m, err := nn.Build[F](spec)
	if err != nil {
		return nil, nil, err
	}
	if in := product(m.InShape()); in != dim {
		return nil, nil, fmt.Errorf("--model %s takes inputs of shape %v (%d values) but the data's samples hold %d values; give a spec whose \"input\" matches the data", c.Model, m.InShape(), in, dim)
	}
	if out := m.OutShape(); len(out) != 1 || out[0] != classes {
		return nil, nil, fmt.Errorf("--model %s has outputs of shape %v but the data has %d classes; its last layer must have \"out\": %d (or set --classes)", c.Model, out, classes, classes)
	}
	return m, spec, nil
}

// builtinModel reports whether --model names a built-in model rather than a
// spec file (a file of that name would take precedence, as in nn.LoadSpec).
func builtinModel(name string) bool {
	if !slices.Contains(nn.BuiltinSpecs(), name) {
		return false
	}
	_, err := os.Stat(name)
	return err != nil
}

// modelName is the model's name in the run's identity: the built-in name,
// or the spec file's base name (its content is ModelSpec).
func modelName(c *config) string {
	if builtinModel(c.Model) {
		return c.Model
	}
	return "spec file " + filepath.Base(c.Model)
}

func product(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// loadData reads the training and test splits in --data-format and applies
// --train-limit/--test-limit. The number of classes is --classes, or the
// largest training label plus one; a test label outside them is an error
// naming the file and the sample.
func loadData(c *config) (dataset, error) {
	var (
		ds  dataset
		err error
	)
	switch c.DataFormat {
	case "idx":
		ds, err = loadIDX(c)
	case "csv", "npy":
		ds, err = loadTable(c)
	default:
		err = fmt.Errorf("--data-format %q: want idx, csv or npy", c.DataFormat)
	}
	if err != nil {
		return dataset{}, err
	}
	if ds.classes < 2 {
		return dataset{}, fmt.Errorf("the training labels hold %d class(es); a classifier needs at least 2 (set --classes)", ds.classes)
	}
	return ds, nil
}

// loadIDX reads Fashion-MNIST's layout with data.LoadIDXSplit, so that any
// 28×28 data set in its file layout works (a small one for tests, say).
func loadIDX(c *config) (dataset, error) {
	train, err := data.LoadIDXSplit(c.DataDir, true)
	var test *data.Images
	if err == nil {
		test, err = data.LoadIDXSplit(c.DataDir, false)
	}
	if err != nil {
		return dataset{}, fmt.Errorf("loading the data set: %w\n  or run scripts/setup.sh; --data-dir or $%s may point at a directory holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (gzip or raw)", err, data.FashionMNISTEnv)
	}
	classes := c.Classes
	if classes == 0 {
		for _, l := range train.Labels {
			classes = max(classes, int(l)+1)
		}
	}
	for i, l := range train.Labels {
		if int(l) >= classes {
			return dataset{}, fmt.Errorf("label %d of training image %d in %s is outside --classes %d", l, i, labelsFile(c.DataDir, true), classes)
		}
	}
	test = test.Head(c.TestLimit)
	for i, l := range test.Labels {
		if int(l) >= classes {
			return dataset{}, fmt.Errorf("label %d of test image %d in %s is outside the %d classes of the training labels (0 to %d); use a test split with the training split's classes", l, i, labelsFile(c.DataDir, false), classes, classes-1)
		}
	}
	return dataset{train: train.Head(c.TrainLimit), test: test, classes: classes}, nil
}

// loadTable reads CSV or NumPy splits with data's readers; the test split
// is read with the training split's number of classes.
func loadTable(c *config) (dataset, error) {
	norm := data.Normalization{Mean: c.NormMean, Std: c.NormStd}
	read := func(path string, classes int) (*data.Table, error) {
		if c.DataFormat == "csv" {
			return data.ReadCSVFile(path, data.CSVOptions{Label: c.LabelCol, Classes: classes, Normalization: norm})
		}
		x, y, _ := strings.Cut(path, ",")
		return data.ReadNPYFiles(x, y, data.NPYOptions{Classes: classes, Normalization: norm})
	}
	train, err := read(c.TrainData, c.Classes)
	if err != nil {
		return dataset{}, fmt.Errorf("--train-data: %w", err)
	}
	test, err := read(c.TestData, train.Classes)
	if err != nil {
		return dataset{}, fmt.Errorf("--test-data (read with the training data's %d classes): %w", train.Classes, err)
	}
	if !slices.Equal(train.Shape, test.Shape) {
		return dataset{}, fmt.Errorf("--test-data samples have shape %v but --train-data samples have %v", test.Shape, train.Shape)
	}
	return dataset{train: train.Head(c.TrainLimit), test: test.Head(c.TestLimit), classes: train.Classes}, nil
}

// emaWarmupIdentity is the run identity's record of --ema-warmup: 0 for the
// default 10 or without --ema, as in checkpoints written before the flag.
func emaWarmupIdentity(c *config) float64 {
	if c.EMA == 0 || c.EMAWarmup == 10 {
		return 0
	}
	return c.EMAWarmup
}

// loadViews reads --augment-views: feature files of the training set's
// shape, read with its labels, normalisation and --train-limit.
func loadViews(c *config, train labelled) ([]labelled, error) {
	if c.AugmentViews == "" {
		return nil, nil
	}
	tr, ok := train.(*data.Table)
	if !ok {
		return nil, errors.New("--augment-views needs --data-format npy")
	}
	_, labels, _ := strings.Cut(c.TrainData, ",")
	var views []labelled
	for _, f := range strings.Split(c.AugmentViews, ",") {
		v, err := data.ReadNPYFiles(f, labels, data.NPYOptions{Classes: tr.Classes, Normalization: data.Normalization{Mean: c.NormMean, Std: c.NormStd}})
		if err != nil {
			return nil, fmt.Errorf("--augment-views: %w", err)
		}
		v = v.Head(c.TrainLimit)
		if v.Len() != tr.Len() || !slices.Equal(v.Shape, tr.Shape) {
			return nil, fmt.Errorf("--augment-views %s: %d samples of shape %v, but the training data has %d of shape %v; a view must hold every training sample, in the same order", f, v.Len(), v.Shape, tr.Len(), tr.Shape)
		}
		views = append(views, v)
	}
	return views, nil
}

// augmentIdentity is the run identity's record of the augmentation flags:
// empty without augmentation.
func (t *trainer[F]) augmentIdentity() string {
	if t.aug == nil {
		return ""
	}
	base := make([]string, 0)
	for _, f := range strings.Split(t.c.AugmentViews, ",") {
		if f != "" {
			base = append(base, filepath.Base(f))
		}
	}
	return fmt.Sprintf("multiplicity=%d augment=%s views=%s", t.aug.k, t.c.Augment, strings.Join(base, ","))
}

// labelsFile names the labels file data.LoadIDXSplit reads for a split of
// the data set in dir.
func labelsFile(dir string, train bool) string {
	if dir == "" {
		dir = os.Getenv(data.FashionMNISTEnv)
	}
	if dir == "" {
		dir = data.FashionMNISTDir
	}
	prefix := "t10k"
	if train {
		prefix = "train"
	}
	p := filepath.Join(dir, prefix+"-labels-idx1-ubyte")
	if _, err := os.Stat(p + ".gz"); err == nil {
		return p + ".gz"
	}
	return p
}

// thresholds returns the per-layer (or single flat) clipping thresholds.
func thresholds(c *config, layers int) ([]float64, error) {
	if !c.perLayer() {
		return []float64{c.MaxGradNorm}, nil
	}
	if c.MaxGradNorms != nil {
		if len(c.MaxGradNorms) != layers {
			return nil, fmt.Errorf("--max-grad-norms gives %d thresholds but --model %s has %d layers with parameters; give %d values or use --max-grad-norm C (C_l = C/sqrt(%d))", len(c.MaxGradNorms), c.Model, layers, layers, layers)
		}
		return append([]float64(nil), c.MaxGradNorms...), nil
	}
	t := make([]float64, layers)
	for i := range t {
		t[i] = c.MaxGradNorm / math.Sqrt(float64(layers))
	}
	return t, nil
}

// planRun sets the sample rate q, the run's length and σ (calibrated for
// --target-epsilon over that length), and the accountant.
func (t *trainer[F]) planRun() error {
	c := t.c
	n := t.data.train.Len()
	if c.SampleRate > 0 {
		t.priv.q = c.SampleRate
	} else {
		if c.BatchSize > float64(n) {
			return fmt.Errorf("--batch-size %v exceeds the %d training images", c.BatchSize, n)
		}
		t.priv.q = c.BatchSize / float64(n)
	}
	t.plan.spe = data.StepsPerEpoch(t.priv.q)
	if c.Steps > 0 {
		t.plan.total = c.Steps
	} else {
		t.plan.total = max(1, int(math.Round(c.Epochs*float64(t.plan.spe))))
	}
	mech, err := accountant.NewMechanism(c.Accountant)
	if err != nil {
		return err
	}
	t.priv.sigma = c.Sigma
	if c.TargetEpsilon > 0 {
		t.priv.sigma, _, err = accountant.Calibrate(mech, accountant.Calibration{TargetEpsilon: c.TargetEpsilon, Delta: c.Delta, SampleRate: t.priv.q, Steps: t.plan.total, Prior: t.priv.prior})
		if err != nil {
			after := ""
			if t.priv.prior != nil {
				after = fmt.Sprintf(" after the features' mean (--center-sigma %v)", c.CenterSigma)
			}
			return fmt.Errorf("--target-epsilon %v: calibrating σ for %d steps at q=%.6g, δ=%g%s: %w", c.TargetEpsilon, t.plan.total, t.priv.q, c.Delta, after, err)
		}
	}
	t.priv.acct = accountant.NewWith(mech)
	return nil
}

// countNoiseStd is σ_b of adaptive clipping: --count-noise-std, or the
// expected global batch size / 20 (Andrew et al. 2021).
func (t *trainer[F]) countNoiseStd() float64 {
	if t.c.CountNoiseStd > 0 {
		return t.c.CountNoiseStd
	}
	return t.priv.q * float64(t.data.train.Len()) / 20
}

// adaptiveIdentity is the run identity's record of the adaptive clipping
// settings; empty for fixed thresholds.
func (t *trainer[F]) adaptiveIdentity() string {
	if !t.c.adaptive() {
		return ""
	}
	return fmt.Sprintf("quantile=%v lr=%v count-noise-std=%v", t.c.TargetQuantile, t.c.ClipLR, t.countNoiseStd())
}

// noiseIdentity is the run identity's record of --noise: empty for rank-0
// noise, so that checkpoints written before the flag existed still match.
func noiseIdentity(mode string) string {
	if mode == "rank0" {
		return ""
	}
	return mode
}

// buildOptimizer builds the wrapped updater and the DP optimizer the flags
// ask for, with clipping thresholds th, and sets the step hook.
func (t *trainer[F]) buildOptimizer(th []float64) error {
	c := t.c
	// Per-rank expected batch size B_w = q·N/W (public), global rate q.
	bw := t.priv.q * float64(t.data.train.Len()) / float64(t.world)
	cfg := optimizer.Config{NoiseMultiplier: t.priv.sigma, ExpectedBatchSize: bw, SecureMode: c.Secure, NoiseMode: optimizer.RankZeroNoise}
	if c.Noise == "sharded" {
		cfg.NoiseMode = optimizer.ShardedNoise
	}
	if c.adaptive() {
		cfg.Adaptive = &optimizer.QuantileClipping{TargetQuantile: c.TargetQuantile, LearningRate: c.ClipLR, CountNoiseStd: t.countNoiseStd(),
			KeepTotal: c.Clipping == "adaptive-split"}
	}
	if !c.Secure {
		t.rng.noise = optimizer.NewBlockGenerator(seed.ForRank(c.Seed, "noise", t.rank))
		cfg.Generator = t.rng.noise
	}
	var inner optimizer.Updater[F]
	var err error
	if c.Optimizer == "sgd" {
		inner, err = optimizer.NewSGD[F](c.LR, c.Momentum, 0, c.WeightDecay, false)
	} else {
		inner, err = optimizer.NewAdam[F](c.LR, 0.9, 0.999, 1e-8, c.WeightDecay)
	}
	if err != nil {
		return err
	}
	a := t.net.arena
	switch {
	case !c.perLayer():
		o, err := optimizer.NewDistributedDPOptimizer(a, inner, th[0], cfg, t.grads)
		if err != nil {
			return err
		}
		t.net.opt = o.Engine
	case c.DistOptimizer == "simple":
		o, err := simple.New(a, inner, th, cfg, t.grads)
		if err != nil {
			return err
		}
		t.net.opt = o.Engine
	default:
		o, err := perlayer.NewDistributedPerLayerOptimizer(a, inner, th, cfg, t.grads)
		if err != nil {
			return err
		}
		t.net.opt = o
		t.net.ready = o.LayerReady
	}
	t.net.opt.SetStepHook(t.hook)
	return nil
}
