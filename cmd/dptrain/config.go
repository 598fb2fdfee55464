package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dpmpi/dpmpi/nn"
)

// config holds every command-line setting of a run.
type config struct {
	DataDir    string
	DataFormat string
	TrainData  string
	TestData   string
	LabelCol   string
	Classes    int
	NormMean   []float64
	NormStd    []float64
	TrainLimit int
	TestLimit  int

	CenterNorm  float64 // centring: the per-sample norm bound R of the private mean; 0: no centring
	CenterSigma float64 // centring: the mean's noise multiplier

	Model         string
	Precision     string // float64 or float32: the model's, the optimizer's and the reductions' element type
	Clipping      string
	DistOptimizer string
	MaxGradNorm   float64
	MaxGradNorms  []float64 // explicit per-layer thresholds; nil means derived

	TargetQuantile float64 // adaptive clipping: the target quantile γ
	ClipLR         float64 // adaptive clipping: the geometric step η
	CountNoiseStd  float64 // adaptive clipping: σ_b; 0 means B/20

	Optimizer   string
	LR          float64
	LRSchedule  string
	Momentum    float64
	WeightDecay float64
	EMA         float64 // decay of the weights' moving average; 0: none
	EMAWarmup   float64 // the average's warm-up w: decay min(EMA, (1+t)/(w+t))

	Multiplicity int    // augmented copies per sample, averaged before clipping
	Augment      string // image augmentations of the copies: flip, crop=P
	AugmentViews string // precomputed views of the training features, comma-separated .npy files

	BatchSize  float64 // expected global batch size; 0 if SampleRate given
	SampleRate float64
	Epochs     float64
	Steps      int

	Sigma         float64
	sigmaSet      bool
	precisionSet  bool // --precision given; else a resumed run takes the checkpoint's
	TargetEpsilon float64
	MaxEpsilon    float64
	Delta         float64
	Accountant    string

	Seed        uint64
	Secure      bool
	Noise       string // "rank0" or "sharded"
	MaxPhysical int

	Out             string
	CheckpointDir   string
	CheckpointEvery int
	Resume          bool
	Ledger          string
	Metrics         string
	WeightsOut      string
	TorchOut        string
	Plot            string
	LogEvery        int
	EvalEvery       int
	RankLogs        bool
	Progress        string
	Throttle        time.Duration
}

// perLayer reports whether the run clips each layer on its own.
func (c *config) perLayer() bool {
	return c.Clipping == "per-layer" || c.Clipping == "adaptive-per-layer" || c.Clipping == "adaptive-split"
}

// adaptive reports whether the thresholds adapt (private quantile
// estimation).
func (c *config) adaptive() bool { return strings.HasPrefix(c.Clipping, "adaptive-") }

type floatList []float64

func (f *floatList) String() string {
	s := make([]string, len(*f))
	for i, v := range *f {
		s[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strings.Join(s, ",")
}

func (f *floatList) Set(v string) error {
	*f = nil
	for _, p := range strings.Split(v, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", p)
		}
		*f = append(*f, x)
	}
	return nil
}

const usageHead = `dptrain trains a classifier with differentially private SGD (Opacus's DP
optimizers), on one process or on N MPI ranks: a built-in model or one from a
spec file, on Fashion-MNIST or on your own CSV or NumPy data:

  dptrain [flags]
  mpirun --bind-to none -np 2 dptrain [flags]
  srun --mpi=pmix dptrain [flags]

Each rank holds a disjoint shard of the training set and Poisson-samples it
with the global rate q; rank 0 adds the noise, writes the privacy ledger
(before every update), the checkpoints, the metrics and the final weights.
SIGTERM or SIGUSR1 makes every rank stop after the current step, write a
checkpoint and exit with status 0; continue with --resume.

Flags:
`

// parseFlags parses args into a validated config. It returns flag.ErrHelp
// when help was asked for (after printing it to out).
func parseFlags(args []string, out io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("dptrain", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, usageHead)
		fs.PrintDefaults()
		fmt.Fprint(out, "\nSee docs/dptrain.md for the checkpoint, ledger and file formats.\n")
	}
	var norms, mean, std floatList
	var batch float64
	fs.StringVar(&c.DataDir, "data-dir", "", "Fashion-MNIST directory (IDX files, gzip or raw); empty means $DPMPI_FASHION_MNIST or /usr/share/datasets/fashion-mnist")
	fs.StringVar(&c.DataFormat, "data-format", "idx", "training data: idx (Fashion-MNIST's layout, see --data-dir), csv or npy (see --train-data)")
	fs.StringVar(&c.TrainData, "train-data", "", "training data for --data-format csv (`FILE`.csv) or npy (FEATURES.npy,LABELS.npy); docs/models.md describes the formats")
	fs.StringVar(&c.TestData, "test-data", "", "test data, in the form of --train-data")
	fs.StringVar(&c.LabelCol, "label-column", "", "CSV label column: a header name or a 0-based index (-1: the last); default the column named label")
	fs.IntVar(&c.Classes, "classes", 0, "number of classes (default: the largest training label + 1); give it so that it does not depend on the private data")
	fs.Var(&mean, "normalize-mean", "CSV/NPY features: subtract these public constants (`M` for every feature, or M1,M2,... one per feature); never statistics of the private training set")
	fs.Var(&std, "normalize-std", "CSV/NPY features: then divide by these public constants (`S` or S1,S2,...)")
	fs.Float64Var(&c.CenterNorm, "center-norm", 0, "CSV/NPY features: subtract a differentially private estimate of the training features' mean from every training, test and --augment-views sample, after --normalize-*: each sample's vector clipped to norm `R`, Gaussian noise of std --center-sigma·R on the sum (package dpmean); its cost is composed into the accountant, ledger and budget guard, and --target-epsilon's σ is calibrated for what remains (0: no centring)")
	fs.Float64Var(&c.CenterSigma, "center-sigma", 50, "the noise multiplier `Z` of --center-norm's mean (one release at sampling rate 1; Z = 50 costs ε = 0.115 (RDP) alone at δ = 1e-5)")
	fs.IntVar(&c.TrainLimit, "train-limit", 0, "use only the first `N` training images (0: all 60,000); for quick runs and tests")
	fs.IntVar(&c.TestLimit, "test-limit", 0, "use only the first `N` test images (0: all 10,000)")
	fs.StringVar(&c.Model, "model", "cnn", "model: cnn (Papernot/Tramèr tanh CNN: conv16 8x8/2 p3, tanh, maxpool 2/1, conv32 4x4/2, tanh, maxpool 2/1, fc32, tanh, fc10), cnn-gn (the same with GroupNorm after each conv), mlp (784-128 ReLU-10), resnet-gn, scatter-linear (GroupNorm + linear on ScatterNet features from dpfeatures), or a model spec `FILE` (JSON, docs/models.md); the built-in models' last layer gets one output per class")
	fs.StringVar(&c.Precision, "precision", "float32", "element type of the model, the gradients, the optimizer and the Allreduce: float32, or float64 (about half as fast); norms, noise, the accountant, checkpoints and weight files stay float64 (docs/dptrain.md); --resume without it continues in the checkpoint's precision")
	fs.StringVar(&c.Clipping, "clipping", "per-layer", "clipping: flat (one threshold over the model), per-layer (one threshold per layer), adaptive-flat / adaptive-per-layer (the same, with thresholds that follow --target-quantile of the norms by private quantile estimation, starting from --max-grad-norm(s)), or adaptive-split (per-layer thresholds whose total ‖C‖₂ stays --max-grad-norm while the split follows the layers' norms, so that every layer clips the same fraction of its samples)")
	fs.Float64Var(&c.TargetQuantile, "target-quantile", 0.5, "adaptive clipping: the fraction `γ` of samples whose norm each threshold should exceed")
	fs.Float64Var(&c.ClipLR, "clip-lr", 0.2, "adaptive clipping: the step `η` of the update C ← C·exp(−η(b̃−γ)), b̃ the noisy fraction of unclipped samples")
	fs.Float64Var(&c.CountNoiseStd, "count-noise-std", 0, "adaptive clipping: the std `σ_b` of the noise on each threshold's clipped count (default: the expected batch size / 20); σ is split between the gradient and the counts (docs/dptrain.md)")
	fs.StringVar(&c.DistOptimizer, "dist-optimizer", "simple", "distributed per-layer optimizer: simple (one Allreduce after backward) or hooks (per-layer buckets reduced during backward); flat clipping always uses DistributedDPOptimizer")
	fs.Float64Var(&c.MaxGradNorm, "max-grad-norm", 1.0, "total clipping threshold `C`: flat clipping clips to C; per-layer clipping, unless --max-grad-norms is given, uses C_l = C/sqrt(L) for each of the L layers so that the total sensitivity is C")
	fs.Var(&norms, "max-grad-norms", "explicit per-layer thresholds `C1,C2,...`, one per layer (cnn: 4, mlp: 2); implies --clipping per-layer")
	fs.StringVar(&c.Optimizer, "optimizer", "sgd", "wrapped optimizer: sgd (with --momentum) or adam")
	fs.Float64Var(&c.LR, "lr", 0.1, "learning rate")
	fs.StringVar(&c.LRSchedule, "lr-schedule", "constant", "learning-rate schedule over the planned steps: constant, or cosine (lr·(1+cos(π·t/T))/2 at step t of T)")
	fs.Float64Var(&c.Momentum, "momentum", 0, "SGD momentum")
	fs.Float64Var(&c.WeightDecay, "weight-decay", 0, "L2 weight decay of the wrapped optimizer")
	fs.IntVar(&c.Multiplicity, "multiplicity", 0, "augmentation multiplicity `K` (De et al. 2022): each sample enters the step as K augmented copies whose gradients are averaged before clipping, at no privacy cost (default 1, or 1 + the number of --augment-views)")
	fs.StringVar(&c.Augment, "augment", "", "augment the training images of shape [C,H,W]: a comma-separated `list` of flip (mirror left-right with probability ½) and crop=P (shift by up to P pixels each way, zero-filled), drawn afresh for every copy, step and sample")
	fs.StringVar(&c.AugmentViews, "augment-views", "", "with --data-format npy: precomputed views of the training features (for example dpfeatures --flip's features of the mirrored images), comma-separated .npy `files` with the training features' shape and row order; the copies of a sample are the sample and its views")
	fs.Float64Var(&c.EMA, "ema", 0, "evaluate and write an exponential moving average of the weights with this `decay` in (0,1), warmed up as min(decay, (1+t)/(w+t)) at step t (w: --ema-warmup); free of privacy cost (0: the weights themselves)")
	fs.Float64Var(&c.EMAWarmup, "ema-warmup", 10, "warm-up `w` > 1 of --ema: step s of T weighs about (s/T)^(w−1), so the average spans about the last T/(w−1) steps (10: TensorFlow's; 2: about the uniform average of all steps)")
	fs.Float64Var(&batch, "batch-size", 0, "expected global (logical) batch size `B`; the sample rate is q = B/N. Give this or --sample-rate (default B = 256)")
	fs.Float64Var(&c.SampleRate, "sample-rate", 0, "Poisson sample rate `q` in (0,1]; alternative to --batch-size")
	fs.Float64Var(&c.Epochs, "epochs", 0, "train for this many epochs of round(1/q) steps (default 1); alternative to --steps")
	fs.IntVar(&c.Steps, "steps", 0, "train for this many logical steps; alternative to --epochs")
	fs.Float64Var(&c.Sigma, "sigma", 0, "noise multiplier σ (0 disables noise: no privacy); give this or --target-epsilon")
	fs.Float64Var(&c.TargetEpsilon, "target-epsilon", 0, "calibrate σ before training so that the whole run spends at most this ε (Opacus get_noise_multiplier); also caps the budget like --max-epsilon")
	fs.Float64Var(&c.MaxEpsilon, "max-epsilon", 0, "budget guard: stop before any step that would make ε exceed this (0: no guard unless --target-epsilon)")
	fs.Float64Var(&c.Delta, "delta", 1e-5, "δ of the (ε, δ) guarantee")
	fs.StringVar(&c.Accountant, "accountant", "rdp", "accountant for calibration, the budget guard and progress: rdp or prv (the summary reports both)")
	fs.Uint64Var(&c.Seed, "seed", 1, "seed of the model initialisation, the sampling and the noise (rank r's streams are derived from (seed, r))")
	fs.BoolVar(&c.Secure, "secure", false, "secure mode: noise and sampling from CSPRNGs keyed by the OS (not reproducible; a resumed run draws fresh noise and the ledger counts replayed steps again)")
	fs.StringVar(&c.Noise, "noise", "rank0", "which ranks draw the noise: rank0 (rank 0 draws all of it, as Opacus does) or sharded (each rank draws its 1/W slice of the coordinates, so rank 0 no longer waits on P draws per step); the privacy guarantee is the same")
	fs.IntVar(&c.MaxPhysical, "max-physical-batch", 256, "largest physical batch per rank: a larger local batch is split into virtual steps (0: no limit)")
	fs.StringVar(&c.Out, "out", "out/dptrain", "output directory: default home of the checkpoints, ledger, metrics, weights and plot")
	fs.StringVar(&c.CheckpointDir, "checkpoint-dir", "", "checkpoint directory (default <out>/checkpoints)")
	fs.IntVar(&c.CheckpointEvery, "checkpoint-every", 50, "write a checkpoint every `K` logical steps (0: only at the end and on SIGTERM/SIGUSR1)")
	fs.BoolVar(&c.Resume, "resume", false, "continue from the checkpoint in --checkpoint-dir, exactly (same sampling and noise as an uninterrupted run)")
	fs.StringVar(&c.Ledger, "ledger", "", "privacy ledger (accountant.Ledger format, read by dpaccount ledger), one record written and fsynced before each update (default <checkpoint-dir>/ledger.txt)")
	fs.StringVar(&c.Metrics, "metrics", "", "metrics file, JSON lines: step, epoch, loss, test accuracy, ε (default <out>/metrics.jsonl)")
	fs.StringVar(&c.WeightsOut, "weights-out", "", "final weights file (default <out>/weights.bin; format in docs/dptrain.md)")
	fs.StringVar(&c.TorchOut, "torch-out", "", "final weights as safetensors with PyTorch state_dict names, float32 (default <out>/model.safetensors; \"none\" to skip)")
	fs.StringVar(&c.Plot, "plot", "", "privacy curve PNG (ε against epoch, RDP and PRV) written at the end (default <out>/privacy.png; \"none\" to skip)")
	fs.IntVar(&c.LogEvery, "log-every", 10, "progress line and metrics record every `K` steps")
	fs.IntVar(&c.EvalEvery, "eval-every", 1, "evaluate test accuracy every `K` epochs (0: only at the end)")
	fs.BoolVar(&c.RankLogs, "rank-logs", false, "ranks other than 0 log to <out>/rank-N.log instead of keeping quiet")
	fs.StringVar(&c.Progress, "progress", "auto", "rank 0 progress display: auto (bar on a terminal, lines otherwise), bar, lines or none")
	fs.DurationVar(&c.Throttle, "throttle", 0, "sleep this long after every step (for testing preemption and crashes)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (all settings are --flags; see --help)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	c.sigmaSet = set["sigma"]
	c.precisionSet = set["precision"]
	c.NormMean, c.NormStd = mean, std
	if len(norms) > 0 {
		c.MaxGradNorms = norms
		if set["clipping"] && !c.perLayer() {
			return nil, errors.New("--max-grad-norms gives per-layer thresholds but --clipping is " + c.Clipping)
		}
		if !set["clipping"] {
			c.Clipping = "per-layer"
		}
	}
	if !c.adaptive() {
		for _, f := range []string{"target-quantile", "clip-lr", "count-noise-std"} {
			if set[f] {
				return nil, fmt.Errorf("--%s applies to adaptive clipping only; add --clipping adaptive-per-layer or adaptive-flat", f)
			}
		}
	}
	if set["batch-size"] && set["sample-rate"] {
		return nil, errors.New("--batch-size and --sample-rate both given; give one (q = B/N)")
	}
	c.BatchSize = batch
	if !set["batch-size"] && !set["sample-rate"] {
		c.BatchSize = 256
	}
	if set["epochs"] && set["steps"] {
		return nil, errors.New("--epochs and --steps both given; give one")
	}
	if !set["epochs"] && !set["steps"] {
		c.Epochs = 1
	}
	if c.CheckpointDir == "" {
		c.CheckpointDir = filepath.Join(c.Out, "checkpoints")
	}
	if c.Ledger == "" {
		c.Ledger = filepath.Join(c.CheckpointDir, "ledger.txt")
	}
	if c.Metrics == "" {
		c.Metrics = filepath.Join(c.Out, "metrics.jsonl")
	}
	if c.WeightsOut == "" {
		c.WeightsOut = filepath.Join(c.Out, "weights.bin")
	}
	if c.Plot == "" {
		c.Plot = filepath.Join(c.Out, "privacy.png")
	}
	if c.TorchOut == "" {
		c.TorchOut = filepath.Join(c.Out, "model.safetensors")
	}
	return c, c.validate(set)
}

func (c *config) validate(set map[string]bool) error {
	pos := func(name string, v float64) error {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("--%s must be a positive number, got %v", name, v)
		}
		return nil
	}
	for _, f := range []struct {
		name, value string
		allowed     []string
	}{
		{"data-format", c.DataFormat, []string{"idx", "csv", "npy"}},
		{"precision", c.Precision, []string{"float64", "float32"}},
		{"clipping", c.Clipping, []string{"flat", "per-layer", "adaptive-flat", "adaptive-per-layer", "adaptive-split"}},
		{"dist-optimizer", c.DistOptimizer, []string{"simple", "hooks"}},
		{"noise", c.Noise, []string{"rank0", "sharded"}},
		{"optimizer", c.Optimizer, []string{"sgd", "adam"}},
		{"lr-schedule", c.LRSchedule, []string{"constant", "cosine"}},
		{"accountant", c.Accountant, []string{"rdp", "prv"}},
		{"progress", c.Progress, []string{"auto", "bar", "lines", "none"}},
	} {
		if !slices.Contains(f.allowed, f.value) {
			last := len(f.allowed) - 1
			return fmt.Errorf("--%s %q: want %s or %s", f.name, f.value, strings.Join(f.allowed[:last], ", "), f.allowed[last])
		}
	}
	if err := c.validateData(set); err != nil {
		return err
	}
	if err := c.validateCenter(set); err != nil {
		return err
	}
	if !slices.Contains(nn.BuiltinSpecs(), c.Model) {
		if _, err := os.Stat(c.Model); err != nil {
			return fmt.Errorf("--model %q is neither a built-in model (%s) nor a readable spec file: %v", c.Model, strings.Join(nn.BuiltinSpecs(), ", "), err)
		}
	}
	if c.Optimizer == "adam" && c.Momentum != 0 {
		return errors.New("--momentum applies to --optimizer sgd only")
	}
	if err := pos("max-grad-norm", c.MaxGradNorm); err != nil {
		return err
	}
	for i, v := range c.MaxGradNorms {
		if err := pos(fmt.Sprintf("max-grad-norms (entry %d)", i+1), v); err != nil {
			return err
		}
	}
	if err := pos("lr", c.LR); err != nil {
		return err
	}
	if c.adaptive() {
		if !(c.TargetQuantile > 0 && c.TargetQuantile < 1) {
			return fmt.Errorf("--target-quantile must be in (0,1), such as 0.5 for the median norm; got %v", c.TargetQuantile)
		}
		if err := pos("clip-lr", c.ClipLR); err != nil {
			return err
		}
		if c.CountNoiseStd < 0 || math.IsInf(c.CountNoiseStd, 0) || math.IsNaN(c.CountNoiseStd) {
			return fmt.Errorf("--count-noise-std must be finite and > 0 (or 0 for the expected batch size / 20); got %v", c.CountNoiseStd)
		}
	}
	if c.Multiplicity < 0 {
		return fmt.Errorf("--multiplicity must be ≥ 1, got %d", c.Multiplicity)
	}
	if c.AugmentViews != "" && (c.DataFormat != "npy" || c.Augment != "") {
		return errors.New("--augment-views needs --data-format npy and no --augment (the views are the copies)")
	}
	if c.EMA < 0 || c.EMA >= 1 {
		return fmt.Errorf("--ema must be a decay in (0,1), such as 0.999, or 0 for none; got %v", c.EMA)
	}
	if !(c.EMAWarmup > 1) || math.IsInf(c.EMAWarmup, 0) {
		return fmt.Errorf("--ema-warmup must be a finite number > 1 (10: TensorFlow's warm-up); got %v", c.EMAWarmup)
	}
	if c.Momentum < 0 || c.Momentum >= 1 || c.WeightDecay < 0 {
		return fmt.Errorf("--momentum must be in [0,1) and --weight-decay ≥ 0, got %v and %v", c.Momentum, c.WeightDecay)
	}
	if set["batch-size"] {
		if err := pos("batch-size", c.BatchSize); err != nil {
			return err
		}
	}
	if set["sample-rate"] && !(c.SampleRate > 0 && c.SampleRate <= 1) {
		return fmt.Errorf("--sample-rate must be in (0,1], got %v", c.SampleRate)
	}
	if set["epochs"] {
		if err := pos("epochs", c.Epochs); err != nil {
			return err
		}
	}
	if set["steps"] && c.Steps <= 0 {
		return fmt.Errorf("--steps must be positive, got %d", c.Steps)
	}
	if c.sigmaSet && c.TargetEpsilon != 0 {
		return errors.New("--sigma and --target-epsilon both given: either fix σ (optionally with --max-epsilon as a budget guard) or let --target-epsilon calibrate σ")
	}
	if !c.sigmaSet && c.TargetEpsilon == 0 {
		return errors.New("give --sigma (noise multiplier) or --target-epsilon (σ calibrated before training); --sigma 0 trains without privacy")
	}
	if c.sigmaSet && (c.Sigma < 0 || math.IsInf(c.Sigma, 0) || math.IsNaN(c.Sigma)) {
		return fmt.Errorf("--sigma must be finite and ≥ 0, got %v", c.Sigma)
	}
	if set["target-epsilon"] {
		if err := pos("target-epsilon", c.TargetEpsilon); err != nil {
			return err
		}
	}
	if set["max-epsilon"] {
		if err := pos("max-epsilon", c.MaxEpsilon); err != nil {
			return err
		}
		if c.TargetEpsilon > 0 && c.MaxEpsilon < c.TargetEpsilon {
			return fmt.Errorf("--max-epsilon %v is below --target-epsilon %v", c.MaxEpsilon, c.TargetEpsilon)
		}
	}
	if !(c.Delta > 0 && c.Delta < 1) {
		return fmt.Errorf("--delta must be in (0,1), got %v", c.Delta)
	}
	if c.TrainLimit < 0 || c.TestLimit < 0 || c.MaxPhysical < 0 || c.CheckpointEvery < 0 || c.EvalEvery < 0 {
		return errors.New("--train-limit, --test-limit, --max-physical-batch, --checkpoint-every and --eval-every must be ≥ 0")
	}
	if c.LogEvery <= 0 {
		return fmt.Errorf("--log-every must be positive, got %d", c.LogEvery)
	}
	return nil
}

// validateData checks the data flags against --data-format.
func (c *config) validateData(set map[string]bool) error {
	if c.DataFormat == "idx" {
		for _, f := range []string{"train-data", "test-data", "label-column", "normalize-mean", "normalize-std"} {
			if set[f] {
				return fmt.Errorf("--%s applies to --data-format csv or npy; Fashion-MNIST (idx) is read from --data-dir and normalised with its public constants", f)
			}
		}
	} else {
		if set["data-dir"] {
			return fmt.Errorf("--data-dir applies to --data-format idx; give --train-data and --test-data for %s", c.DataFormat)
		}
		if c.TrainData == "" || c.TestData == "" {
			return fmt.Errorf("--data-format %s needs --train-data and --test-data", c.DataFormat)
		}
		if set["label-column"] && c.DataFormat != "csv" {
			return errors.New("--label-column applies to --data-format csv")
		}
		for _, f := range []struct {
			name string
			path string
		}{{"train-data", c.TrainData}, {"test-data", c.TestData}} {
			if n := len(strings.Split(f.path, ",")); c.DataFormat == "npy" && n != 2 {
				return fmt.Errorf("--%s %q: --data-format npy takes two files, FEATURES.npy,LABELS.npy", f.name, f.path)
			}
		}
	}
	if c.Classes < 0 {
		return fmt.Errorf("--classes must be positive (or 0: from the labels), got %d", c.Classes)
	}
	return nil
}

// validateCenter checks --center-norm and --center-sigma.
func (c *config) validateCenter(set map[string]bool) error {
	switch {
	case c.CenterNorm == 0:
		if set["center-sigma"] {
			return errors.New("--center-sigma applies with --center-norm R (the features' private mean)")
		}
		return nil
	case !(c.CenterNorm > 0) || math.IsInf(c.CenterNorm, 0):
		return fmt.Errorf("--center-norm must be a positive norm bound R (or 0: no centring), got %v", c.CenterNorm)
	case !(c.CenterSigma > 0) || math.IsInf(c.CenterSigma, 0):
		return fmt.Errorf("--center-sigma must be a positive noise multiplier, got %v (the mean is never released without noise)", c.CenterSigma)
	case c.DataFormat == "idx":
		return errors.New("--center-norm applies to --data-format csv or npy; Fashion-MNIST (idx) is normalised with its public constants")
	}
	return nil
}

// budget returns the ε the budget guard enforces, 0 for none.
func (c *config) budget() float64 {
	if c.MaxEpsilon > 0 {
		return c.MaxEpsilon
	}
	return c.TargetEpsilon
}
