package main

// Tests of the data formats, model spec files and the PyTorch weights file.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio"
	"github.com/dpmpi/dpmpi/data"
	"github.com/dpmpi/dpmpi/nn"
	"github.com/dpmpi/dpmpi/nn/safetensors"
	"gonum.org/v1/gonum/mat"
)

// exportSplit writes the first n samples of the synthetic IDX split
// (prefix train or t10k) as a CSV file (label first, then p/255 per pixel)
// and as a float64 NumPy pair, and returns their paths.
func exportSplit(t *testing.T, dir, prefix string, n int) (csvPath, npyPair string) {
	t.Helper()
	d, err := data.LoadIDXSplit(dataDir, prefix == "train")
	if err != nil {
		t.Fatal(err)
	}
	d = d.Head(n)
	var b strings.Builder
	b.WriteString("label")
	for j := 0; j < d.Dim(); j++ {
		fmt.Fprintf(&b, ",p%d", j)
	}
	b.WriteByte('\n')
	x := make([]float64, d.Len()*d.Dim())
	y := make([]int64, d.Len())
	for i := 0; i < d.Len(); i++ {
		b.WriteString(strconv.Itoa(int(d.Labels[i])))
		y[i] = int64(d.Labels[i])
		for j := 0; j < d.Dim(); j++ {
			v := float64(d.Pixels[i*d.Dim()+j]) / 255
			x[i*d.Dim()+j] = v
			b.WriteByte(',')
			b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		}
		b.WriteByte('\n')
	}
	csvPath = filepath.Join(dir, prefix+".csv")
	if err := os.WriteFile(csvPath, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	xp, yp := filepath.Join(dir, prefix+"-x.npy"), filepath.Join(dir, prefix+"-y.npy")
	for p, v := range map[string]any{xp: mat.NewDense(d.Len(), d.Dim(), x), yp: y} {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := npyio.Write(f, v); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return csvPath, xp + "," + yp
}

// TestDataFormats: with σ = 0 and q = 1, a run on the same samples read
// from CSV or NumPy files, normalised with the same public constants, ends
// with the weights of the run on the IDX files (to rounding: Images
// normalises as p·(1/(255·std)) − mean/std, Table as (p/255 − mean)/std), at
// 1 and 2 ranks; and the PyTorch weights file holds those weights.
func TestDataFormats(t *testing.T) {
	dir := t.TempDir()
	trainCSV, trainNPY := exportSplit(t, dir, "train", 96)
	testCSV, testNPY := exportSplit(t, dir, "t10k", 32)
	common := []string{"--progress", "none", "--plot", "none", "--model", "cnn", "--precision", "float64", "--sample-rate", "1", "--steps", "3",
		"--sigma", "0", "--max-grad-norm", "0.5", "--lr", "0.5", "--checkpoint-every", "0", "--seed", "3"}
	run := func(np int, out string, extra ...string) []float64 {
		t.Helper()
		o := filepath.Join(dir, out)
		mustRun(t, np, append(append([]string{"--out", o}, common...), extra...)...)
		return weights(t, filepath.Join(o, "weights.bin"))
	}
	ref := run(1, "idx", "--data-dir", dataDir, "--train-limit", "96", "--test-limit", "32")
	norm := []string{"--normalize-mean", strconv.FormatFloat(data.FashionMNISTMean, 'g', -1, 64),
		"--normalize-std", strconv.FormatFloat(data.FashionMNISTStd, 'g', -1, 64)}
	for _, tc := range []struct {
		name        string
		np          int
		train, test string
	}{
		{"csv", 1, trainCSV, testCSV},
		{"csv", 2, trainCSV, testCSV},
		{"npy", 2, trainNPY, testNPY},
	} {
		out := fmt.Sprintf("%s-%d", tc.name, tc.np)
		w := run(tc.np, out, append([]string{"--data-format", tc.name, "--train-data", tc.train, "--test-data", tc.test}, norm...)...)
		if d := maxDiff(ref, w); d > 1e-9 {
			t.Errorf("%s at %d ranks: weights differ from the IDX run by %g (> 1e-9)", tc.name, tc.np, d)
		}
	}
	// The PyTorch file of the IDX run holds its weights, rounded to float32,
	// in StateDict's order.
	f, err := os.Open(filepath.Join(dir, "idx", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ts, meta, err := safetensors.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := buildModel[float64](&config{Model: "cnn"}, 784, 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.NewArena(1); err != nil {
		t.Fatal(err)
	}
	if err := m.LoadStateDict(ts); err != nil {
		t.Fatalf("loading model.safetensors into the cnn: %v", err)
	}
	got, _ := m.StateDict()
	n := 0
	for _, tt := range got {
		n += len(tt.Data)
	}
	if n != len(ref) {
		t.Fatalf("model.safetensors holds %d values, weights.bin %d", n, len(ref))
	}
	if meta["dptrain_model"] != "cnn" || meta["steps"] != "3" {
		t.Errorf("metadata %v: want dptrain_model cnn, steps 3", meta)
	}
}

// TestSpecModel: a model spec file trains; the checkpoint records its
// content, so resuming with a changed file is refused; a spec that does
// not fit the data is refused naming both shapes.
func TestSpecModel(t *testing.T) {
	dir := t.TempDir()
	spec := func(name string, v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	type L = map[string]any
	resnet := map[string]any{"input": []int{1, 28, 28}, "layers": []L{
		{"type": "conv2d", "out": 8, "kernel": 4, "stride": 2, "padding": 1},
		{"type": "groupnorm", "groups": 2},
		{"type": "residual", "branch": []L{{"type": "conv2d", "out": 8, "kernel": 3, "padding": 1}, {"type": "gelu"}}},
		{"type": "globalavgpool"},
		{"type": "linear", "out": 10},
	}}
	good := spec("resnet.json", resnet)
	args := func(out, model string, extra ...string) []string {
		return base(filepath.Join(dir, out), append([]string{"--model", model, "--train-limit", "128", "--test-limit", "32",
			"--batch-size", "32", "--steps", "4", "--sigma", "1", "--checkpoint-every", "2"}, extra...)...)
	}
	r := mustRun(t, 2, args("res", good)...)
	if !strings.Contains(r.stdout, "test accuracy") {
		t.Fatalf("no summary:\n%s", r.stdout)
	}
	// Reformatting the file keeps the identity; changing a layer does not.
	b, _ := os.ReadFile(good)
	var v any
	json.Unmarshal(b, &v)
	pretty, _ := json.MarshalIndent(v, "", "    ")
	os.WriteFile(good, pretty, 0o644)
	mustRun(t, 2, args("res", good, "--resume", "--steps", "6")...)
	resnet["layers"].([]L)[1]["groups"] = 4
	spec("resnet.json", resnet)
	r = runJob(t, 2, args("res", good, "--resume", "--steps", "8")...)
	if r.code != 1 || !strings.Contains(r.stderr, "ModelSpec: checkpoint") {
		t.Errorf("resuming with a changed spec: exit %d, want 1 naming ModelSpec\n%s", r.code, r.stderr)
	}

	for _, tc := range []struct {
		name  string
		model any // a spec (written to a file) or a string flag value
		want  []string
	}{
		{"input", L{"input": []int{10}, "layers": []L{{"type": "linear", "out": 10}}},
			[]string{"inputs of shape [10] (10 values)", "hold 784 values"}},
		{"classes", L{"input": []int{784}, "layers": []L{{"type": "linear", "out": 3}}},
			[]string{"outputs of shape [3]", "10 classes", `"out": 10`}},
		{"batchnorm", L{"input": []int{784}, "layers": []L{{"type": "batchnorm"}}},
			[]string{"batchnorm"}},
		{"missing", "no-such-model.json", []string{"no-such-model.json", "built-in model"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			model, ok := tc.model.(string)
			if !ok {
				model = spec(tc.name+".json", tc.model)
			}
			r := runJob(t, 1, args("bad-"+tc.name, model)...)
			if r.code == 0 {
				t.Fatalf("exit 0, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}

// TestDataFlags: data flags that do not fit --data-format are refused
// before any rank starts training.
func TestDataFlags(t *testing.T) {
	dir := t.TempDir()
	trainCSV, _ := exportSplit(t, dir, "train", 8)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--train-data", trainCSV}, "--train-data applies to --data-format csv or npy"},
		{[]string{"--data-format", "csv", "--train-data", trainCSV}, "needs --train-data and --test-data"},
		{[]string{"--data-format", "npy", "--train-data", trainCSV, "--test-data", trainCSV}, "takes two files"},
		{[]string{"--data-format", "npy", "--train-data", "a,b", "--test-data", "c,d", "--label-column", "y"}, "--label-column applies to --data-format csv"},
		{[]string{"--data-format", "csv", "--data-dir", dataDir, "--train-data", trainCSV, "--test-data", trainCSV}, "--data-dir applies to --data-format idx"},
		{[]string{"--data-format", "parquet"}, `--data-format "parquet"`},
		{[]string{"--classes", "-2"}, "--classes must be positive"},
	} {
		r := runJob(t, 0, append([]string{"--out", filepath.Join(dir, "o"), "--sigma", "1", "--progress", "none"}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q\n%s", tc.args, r.code, tc.want, r.stderr)
		}
	}
	// A CSV test split with a label beyond the training split's classes.
	bad := filepath.Join(dir, "bad.csv")
	b, _ := os.ReadFile(trainCSV)
	lines := strings.Split(string(b), "\n")
	lines[1] = "12" + lines[1][strings.IndexByte(lines[1], ','):]
	os.WriteFile(bad, []byte(strings.Join(lines, "\n")), 0o644)
	r := runJob(t, 0, "--out", filepath.Join(dir, "o2"), "--sigma", "1", "--progress", "none", "--model", "mlp",
		"--data-format", "csv", "--train-data", trainCSV, "--test-data", bad, "--classes", "10")
	if r.code != 1 || !strings.Contains(r.stderr, "--test-data") || !strings.Contains(r.stderr, "bad.csv") {
		t.Errorf("test label 12 of 10 classes: exit %d\n%s", r.code, r.stderr)
	}
}

// TestSpecEquivalence: with σ = 0 and q = 1, spec models holding every
// layer kind of nn end with the same weights at 1 to 4 ranks, with the
// simple and the hook-based optimizer, after several steps (virtual ones
// included). Model A reads images: conv2d (weight-standardised too),
// groupnorm, layernorm, gelu, silu, elu, tanh, dropout (active: its masks
// are keyed by the sample's dataset index, so the ranks draw the same
// ones), residual blocks with and without a projection, pools,
// globalavgpool, linear. Model B reads token indices from a CSV file:
// embedding, conv1d, layernorm, relu. The tolerance is TestEquivalence's:
// the ranks sum the same per-sample terms in another order.
func TestSpecEquivalence(t *testing.T) {
	dir := t.TempDir()
	type L = map[string]any
	write := func(name string, v any) string {
		b, _ := json.Marshal(v)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	specA := func(p ...float64) L {
		return L{"input": []int{1, 28, 28}, "layers": []L{
			{"type": "conv2d", "out": 4, "kernel": 4, "stride": 2, "padding": 1, "weight_standardization": true},
			{"type": "groupnorm", "groups": 2},
			{"type": "gelu"},
			{"type": "dropout", "p": p[0]},
			{"type": "residual", "branch": []L{{"type": "conv2d", "out": 4, "kernel": 3, "padding": 1, "weight_standardization": true},
				{"type": "dropout", "p": p[1]}, {"type": "silu"}}},
			{"type": "residual",
				"branch":     []L{{"type": "conv2d", "out": 6, "kernel": 3, "stride": 2, "padding": 1}, {"type": "elu", "alpha": 0.5}},
				"projection": L{"type": "conv2d", "out": 6, "kernel": 1, "stride": 2}},
			{"type": "maxpool2d", "kernel": 2, "stride": 1},
			{"type": "avgpool2d", "kernel": 2, "stride": 1},
			{"type": "layernorm"},
			{"type": "tanh"},
			{"type": "globalavgpool"},
			{"type": "dropout", "p": p[2]},
			{"type": "linear", "out": 10},
		}}
	}
	modelA := write("a.json", specA(0.3, 0.2, 0.5))
	// Model A without dropping, to show that the dropout above is active.
	modelA0 := write("a0.json", specA(0, 0, 0))
	modelB := write("b.json", L{"input": []int{784}, "layers": []L{
		{"type": "embedding", "vocab": 8, "dim": 3},
		{"type": "conv1d", "out": 4, "kernel": 1},
		{"type": "layernorm"},
		{"type": "relu"},
		{"type": "flatten"},
		{"type": "linear", "out": 10},
	}})
	// Model B's data: each pixel as a token p/32 in 0..7.
	tokens := func(prefix string, n int) string {
		d, err := data.LoadIDXSplit(dataDir, prefix == "train")
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(strconv.Itoa(int(d.Labels[i])))
			for j := 0; j < d.Dim(); j++ {
				fmt.Fprintf(&b, ",%d", d.Pixels[i*d.Dim()+j]/32)
			}
			b.WriteByte('\n')
		}
		p := filepath.Join(dir, prefix+"-tokens.csv")
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	csvData := []string{"--data-format", "csv", "--label-column", "0", "--classes", "10",
		"--train-data", tokens("train", 64), "--test-data", tokens("t10k", 16)}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"A", []string{"--model", modelA, "--data-dir", dataDir, "--train-limit", "64", "--test-limit", "16"}},
		{"B", append([]string{"--model", modelB}, csvData...)},
	} {
		var ref []float64
		for _, opt := range []string{"simple", "hooks"} {
			for np := 1; np <= 4; np++ {
				out := filepath.Join(dir, fmt.Sprintf("%s-%s-%d", tc.name, opt, np))
				args := append([]string{"--out", out, "--progress", "none", "--plot", "none", "--torch-out", "none", "--precision", "float64",
					"--sample-rate", "1", "--steps", "3", "--sigma", "0", "--max-grad-norm", "0.5", "--lr", "0.3",
					"--momentum", "0.9", "--max-physical-batch", "12", "--dist-optimizer", opt,
					"--checkpoint-every", "0", "--seed", "3"}, tc.args...)
				mustRun(t, np, args...)
				w := weights(t, filepath.Join(out, "weights.bin"))
				if ref == nil {
					ref = w
					if d := maxDiff(ref, specInit(t, tc.args[1], 3)); d < 1e-3 {
						t.Fatalf("model %s: training moved the weights by only %g", tc.name, d)
					}
					continue
				}
				if d := maxDiff(ref, w); d > 1e-9 {
					t.Errorf("model %s, %s at %d ranks: weights differ from simple at 1 rank by %g (> 1e-9)", tc.name, opt, np, d)
				}
			}
		}
		t.Logf("model %s: %d parameters agree within 1e-9 at 1-4 ranks, simple and hooks", tc.name, len(ref))
		if tc.name == "A" {
			out := filepath.Join(dir, "A0")
			mustRun(t, 1, append([]string{"--out", out, "--progress", "none", "--plot", "none", "--torch-out", "none",
				"--sample-rate", "1", "--steps", "3", "--sigma", "0", "--max-grad-norm", "0.5", "--lr", "0.3",
				"--momentum", "0.9", "--max-physical-batch", "12", "--checkpoint-every", "0", "--seed", "3",
				"--model", modelA0}, tc.args[2:]...)...)
			if d := maxDiff(ref, weights(t, filepath.Join(out, "weights.bin"))); d < 1e-6 {
				t.Errorf("model A with p = 0 ends within %g of the run with dropout: is dropout active in training?", d)
			}
		}
	}
}

// specInit returns the initial parameters dptrain gives the spec file's
// model with the seed.
func specInit(t *testing.T, path string, seed uint64) []float64 {
	t.Helper()
	spec, err := nn.LoadSpec(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := nn.Build[float64](spec)
	if err != nil {
		t.Fatal(err)
	}
	a, err := m.NewArena(seed)
	if err != nil {
		t.Fatal(err)
	}
	return a.Params
}

// TestDropoutResume: a run of a model with dropout, stopped after 3 steps
// and resumed to 6, ends with the weights of the uninterrupted run at 2
// ranks (the masks are keyed by the step and the dataset index, not drawn
// from a stream), and those differ from the same run without dropout.
func TestDropoutResume(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, p float64) string {
		b, _ := json.Marshal(map[string]any{"input": []int{784}, "layers": []map[string]any{
			{"type": "linear", "out": 32}, {"type": "tanh"}, {"type": "dropout", "p": p}, {"type": "linear", "out": 10}}})
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	drop, keep := write("drop.json", 0.5), write("keep.json", 0)
	args := func(out, model string, extra ...string) []string {
		return base(filepath.Join(dir, out), append([]string{"--model", model, "--train-limit", "128", "--test-limit", "32",
			"--batch-size", "32", "--sigma", "1", "--lr", "0.5", "--checkpoint-every", "3", "--torch-out", "none"}, extra...)...)
	}
	mustRun(t, 2, args("full", drop, "--steps", "6")...)
	mustRun(t, 2, args("res", drop, "--steps", "3")...)
	mustRun(t, 2, args("res", drop, "--steps", "6", "--resume")...)
	mustRun(t, 2, args("keep", keep, "--steps", "6")...)
	full := weights(t, filepath.Join(dir, "full", "weights.bin"))
	if d := maxDiff(full, weights(t, filepath.Join(dir, "res", "weights.bin"))); d != 0 {
		t.Errorf("resumed run's weights differ from the uninterrupted run's by %g", d)
	}
	if d := maxDiff(full, weights(t, filepath.Join(dir, "keep", "weights.bin"))); d < 1e-6 {
		t.Errorf("dropout 0.5 ends within %g of dropout 0: not active?", d)
	}
}
