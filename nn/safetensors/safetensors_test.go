package safetensors_test

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio"

	"github.com/dpmpi/dpmpi/data"
	"github.com/dpmpi/dpmpi/nn"
	"github.com/dpmpi/dpmpi/nn/safetensors"
)

func TestWriteRead(t *testing.T) {
	in := []nn.Tensor{
		{Name: "0.weight", Shape: []int{2, 3}, Data: []float64{1, -2, 3.25, math.Pi, 1e-300, -0}},
		{Name: "0.bias", Shape: []int{2}, Data: []float64{0.1, -7}},
		{Name: "2.weight", Shape: []int{1, 1, 1, 1}, Data: []float64{42}},
	}
	for _, tc := range []struct {
		name  string
		dtype safetensors.DType
		round func(float64) float64
	}{
		{"F64", safetensors.Float64, func(v float64) float64 { return v }},
		{"F32", safetensors.Float32, func(v float64) float64 { return float64(float32(v)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := safetensors.Write(&buf, in, tc.dtype, map[string]string{"epsilon": "2.99"}); err != nil {
				t.Fatal(err)
			}
			out, meta, err := safetensors.Read(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if meta["epsilon"] != "2.99" {
				t.Errorf("metadata %v, want epsilon 2.99", meta)
			}
			if len(out) != len(in) {
				t.Fatalf("%d tensors read, want %d", len(out), len(in))
			}
			for _, w := range in {
				i := slices.IndexFunc(out, func(g nn.Tensor) bool { return g.Name == w.Name })
				if i < 0 {
					t.Fatalf("tensor %q not read back", w.Name)
				}
				g := out[i]
				if !slices.Equal(g.Shape, w.Shape) || len(g.Data) != len(w.Data) {
					t.Fatalf("%s: shape %v, %d values, want %v", w.Name, g.Shape, len(g.Data), w.Shape)
				}
				for j, v := range w.Data {
					if g.Data[j] != tc.round(v) {
						t.Errorf("%s[%d] = %v, want %v", w.Name, j, g.Data[j], tc.round(v))
					}
				}
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tensors []nn.Tensor
		dtype   safetensors.DType
		want    string
	}{
		{"duplicate", []nn.Tensor{{Name: "a", Shape: []int{1}, Data: []float64{1}}, {Name: "a", Shape: []int{1}, Data: []float64{2}}}, safetensors.Float32, `two tensors are named "a"`},
		{"shape", []nn.Tensor{{Name: "w", Shape: []int{2, 2}, Data: []float64{1, 2, 3}}}, safetensors.Float32, `"w" has shape [2 2] (4 values) but 3 values`},
		{"scalar", []nn.Tensor{{Name: "s", Shape: []int{}, Data: []float64{1}}}, safetensors.Float64, `"s" is a scalar`},
		{"dtype", []nn.Tensor{{Name: "w", Shape: []int{1}, Data: []float64{1}}}, safetensors.DType(7), "unknown element type 7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := safetensors.Write(&buf, tc.tensors, tc.dtype, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, _, err := safetensors.Read(strings.NewReader("\x05\x00\x00\x00\x00\x00\x00\x00{bad}")); err == nil {
		t.Fatal("Read of a corrupt header succeeded")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "w.safetensors")
	if err := safetensors.WriteFile(p, []nn.Tensor{{Name: "x", Shape: []int{1}, Data: []float64{1}}}, safetensors.Float32, nil); err != nil {
		t.Fatal(err)
	}
	// A failing write leaves the previous file in place and no temporary.
	if err := safetensors.WriteFile(p, []nn.Tensor{{Name: "x", Shape: []int{2}, Data: []float64{1}}}, safetensors.Float32, nil); err == nil {
		t.Fatal("bad tensor written")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("directory holds %d files after a failed write, want the first file only", len(ents))
	}
	f, _ := os.Open(p)
	defer f.Close()
	if ts, _, err := safetensors.Read(f); err != nil || len(ts) != 1 || ts[0].Data[0] != 1 {
		t.Fatalf("first file damaged: %v %v", ts, err)
	}
}

// torchModels are dpmpi models with their torch.nn twins: dptrain's CNN and
// MLP, and models holding the other layer kinds nn has today.
var torchModels = []struct {
	name   string
	in     []int
	layers func() []nn.Layer[float64]
	torch  string
	tokens bool // the input is token indices: each image's 28 row means, quantised to 0..9
}{
	{"cnn", []int{1, 28, 28}, func() []nn.Layer[float64] {
		return []nn.Layer[float64]{
			nn.NewConv2d[float64](1, 16, 8, 2, 3), nn.Tanh[float64](), nn.NewMaxPool2d[float64](2, 1),
			nn.NewConv2d[float64](16, 32, 4, 2, 0), nn.Tanh[float64](), nn.NewMaxPool2d[float64](2, 1),
			nn.Flatten[float64](), nn.NewLinear[float64](32*4*4, 32), nn.Tanh[float64](), nn.NewLinear[float64](32, 10)}
	}, "nn.Sequential(nn.Conv2d(1, 16, 8, 2, 3), nn.Tanh(), nn.MaxPool2d(2, 1), " +
		"nn.Conv2d(16, 32, 4, 2, 0), nn.Tanh(), nn.MaxPool2d(2, 1), " +
		"nn.Flatten(), nn.Linear(512, 32), nn.Tanh(), nn.Linear(32, 10))", false},
	{"mlp", []int{784}, func() []nn.Layer[float64] {
		return []nn.Layer[float64]{nn.NewLinear[float64](784, 512), nn.ReLU[float64](), nn.NewLinear[float64](512, 256), nn.ReLU[float64](), nn.NewLinear[float64](256, 10)}
	}, "nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))", false},
	{"relu-avgpool", []int{1, 28, 28}, func() []nn.Layer[float64] {
		return []nn.Layer[float64]{
			nn.NewConv2d[float64](1, 8, 3, 1, 1), nn.ReLU[float64](), nn.NewAvgPool2d[float64](2, 2),
			nn.NewConv2d[float64](8, 8, 5, 3, 2), nn.Tanh[float64](), nn.NewMaxPool2d[float64](3, 2),
			nn.Flatten[float64](), nn.NewLinear[float64](8*2*2, 10)}
	}, "nn.Sequential(nn.Conv2d(1, 8, 3, 1, 1), nn.ReLU(), nn.AvgPool2d(2, 2), " +
		"nn.Conv2d(8, 8, 5, 3, 2), nn.Tanh(), nn.MaxPool2d(3, 2), nn.Flatten(), nn.Linear(32, 10))", false},
	{"gelu-silu-elu-gap", []int{1, 28, 28}, func() []nn.Layer[float64] {
		return []nn.Layer[float64]{
			nn.NewConv2d[float64](1, 8, 3, 1, 1), nn.GELU[float64](), nn.NewConv2d[float64](8, 8, 3, 2, 1), nn.SiLU[float64](),
			nn.GlobalAvgPool[float64](), nn.NewLinear[float64](8, 16), nn.ELU[float64](0.7), nn.NewLinear[float64](16, 10)}
	}, "nn.Sequential(nn.Conv2d(1, 8, 3, 1, 1), nn.GELU(), nn.Conv2d(8, 8, 3, 2, 1), nn.SiLU(), " +
		"nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), nn.Linear(8, 16), nn.ELU(0.7), nn.Linear(16, 10))", false},
	{"conv1d", []int{28, 28}, func() []nn.Layer[float64] {
		return []nn.Layer[float64]{nn.NewConv1d[float64](28, 16, 5, 2, 2), nn.GELU[float64](), nn.NewConv1d[float64](16, 8, 3, 1, 0), nn.Flatten[float64](), nn.NewLinear[float64](8*12, 10)}
	}, "nn.Sequential(nn.Conv1d(28, 16, 5, 2, 2), nn.GELU(), nn.Conv1d(16, 8, 3, 1, 0), nn.Flatten(), nn.Linear(96, 10))", false},
	{"embedding", []int{28}, func() []nn.Layer[float64] {
		return []nn.Layer[float64]{nn.NewEmbedding[float64](10, 6), nn.Tanh[float64](), nn.Flatten[float64](), nn.NewLinear[float64](28*6, 10)}
	}, "nn.Sequential(nn.Embedding(10, 6), nn.Tanh(), nn.Flatten(), nn.Linear(168, 10))", true},
	{"residual", []int{1, 28, 28}, func() []nn.Layer[float64] {
		return []nn.Layer[float64]{
			nn.NewConv2d[float64](1, 8, 3, 2, 1),
			nn.Residual[float64](nil, nn.NewGroupNorm[float64](2, 8), nn.SiLU[float64](), nn.NewConv2d[float64](8, 8, 3, 1, 1)),
			nn.Residual[float64](nn.NewConv2d[float64](8, 16, 1, 2, 0), nn.NewConv2d[float64](8, 16, 3, 2, 1), nn.NewGroupNorm[float64](4, 16), nn.ReLU[float64]()),
			nn.GlobalAvgPool[float64](), nn.NewLinear[float64](16, 10)}
	}, "nn.Sequential(nn.Conv2d(1, 8, 3, 2, 1), " +
		"Residual(nn.Sequential(nn.GroupNorm(2, 8), nn.SiLU(), nn.Conv2d(8, 8, 3, 1, 1))), " +
		"Residual(nn.Sequential(nn.Conv2d(8, 16, 3, 2, 1), nn.GroupNorm(4, 16), nn.ReLU()), nn.Conv2d(8, 16, 1, 2, 0)), " +
		"nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), nn.Linear(16, 10))", false},
	{"groupnorm-layernorm", []int{1, 28, 28}, func() []nn.Layer[float64] {
		return []nn.Layer[float64]{
			nn.NewConv2d[float64](1, 8, 3, 2, 1), nn.NewGroupNorm[float64](4, 8), nn.SiLU[float64](),
			nn.NewConv2d[float64](8, 8, 3, 2, 1), nn.NewLayerNorm[float64](), nn.GELU[float64](),
			nn.GlobalAvgPool[float64](), nn.NewLinear[float64](8, 12), nn.NewLayerNorm[float64](), nn.NewLinear[float64](12, 10)}
	}, "nn.Sequential(nn.Conv2d(1, 8, 3, 2, 1), nn.GroupNorm(4, 8), nn.SiLU(), " +
		"nn.Conv2d(8, 8, 3, 2, 1), nn.LayerNorm([8, 7, 7]), nn.GELU(), " +
		"nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), nn.Linear(8, 12), nn.LayerNorm([12]), nn.Linear(12, 10))", false},
	// Weight-standardised convolutions (the state dict holds the raw W;
	// StdConv2d standardises in its forward) and Dropout in evaluation
	// mode, the default of both sides.
	{"stdconv-dropout", []int{1, 28, 28}, func() []nn.Layer[float64] {
		return []nn.Layer[float64]{
			nn.NewStdConv2d[float64](1, 8, 4, 2, 1), nn.NewGroupNorm[float64](2, 8), nn.Tanh[float64](), nn.Dropout[float64](0.3),
			nn.Residual[float64](nil, nn.NewStdConv2d[float64](8, 8, 3, 1, 1), nn.Dropout[float64](0.5), nn.ELU[float64](1)),
			nn.NewMaxPool2d[float64](2, 2), nn.Flatten[float64](), nn.Dropout[float64](0.2), nn.NewLinear[float64](8*7*7, 10)}
	}, "nn.Sequential(StdConv2d(1, 8, 4, 2, 1), nn.GroupNorm(2, 8), nn.Tanh(), nn.Dropout(0.3), " +
		"Residual(nn.Sequential(StdConv2d(8, 8, 3, 1, 1), nn.Dropout(0.5), nn.ELU(1.0))), " +
		"nn.MaxPool2d(2, 2), nn.Flatten(), nn.Dropout(0.2), nn.Linear(392, 10))", false},
}

// TestTorchRoundTrip writes each model's weights as safetensors, loads them
// into the torch.nn twin with Debian's python3-torch, and compares the
// logits on 100 Fashion-MNIST test images. It needs /usr/bin/python3 with
// torch and the data set; scripts/test.sh installs both and sets
// DPMPI_REQUIRE_TORCH=1, which turns the skip into a failure.
func TestTorchRoundTrip(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import torch, numpy").Run(); err != nil {
		if os.Getenv("DPMPI_REQUIRE_TORCH") == "1" {
			t.Fatalf("DPMPI_REQUIRE_TORCH=1 but %s cannot import torch and numpy: %v (apt-get install python3-torch)", python, err)
		}
		t.Skipf("%s cannot import torch and numpy (apt-get install python3-torch): %v", python, err)
	}
	test, err := data.LoadIDXSplit("", false)
	if err != nil {
		if os.Getenv("DPMPI_REQUIRE_TORCH") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	const n = 100
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	x := make([]float64, n*test.Dim())
	test.Batch(idx, x, make([]int, n))
	dir := t.TempDir()
	type job struct {
		Model   string `json:"model"`
		Weights string `json:"weights"`
		Inputs  string `json:"inputs"`
		Shape   []int  `json:"shape"`
		Logits  string `json:"logits"`
		Tokens  bool   `json:"tokens"`
	}
	var jobs []job
	want := make([][]float64, len(torchModels))
	for k, tm := range torchModels {
		m, err := nn.NewSequential[float64](tm.in, tm.layers()...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.NewArena(7); err != nil {
			t.Fatal(err)
		}
		sd, err := m.StateDict()
		if err != nil {
			t.Fatal(err)
		}
		// Normalisation layers start at γ = 1, β = 0, which would hide a
		// misplaced γ or β: give them other values.
		r := rand.New(rand.NewPCG(uint64(k), 1))
		for _, t := range sd {
			if isNorm(t, sd) {
				for i := range t.Data {
					t.Data[i] = 0.5 * r.NormFloat64()
				}
			}
		}
		in := x
		if tm.tokens {
			in = make([]float64, n*28)
			for i := range in {
				var s float64
				for _, v := range x[i*28 : (i+1)*28] {
					s += v
				}
				in[i] = math.Floor(min(max(s/28*3+3, 0), 9))
			}
		}
		want[k] = slices.Clone(m.Forward(in, n))
		j := job{tm.torch, filepath.Join(dir, tm.name+".safetensors"), filepath.Join(dir, tm.name+"-x.npy"), tm.in, filepath.Join(dir, tm.name+"-logits.npy"), tm.tokens}
		if err := safetensors.WriteFile(j.Weights, sd, safetensors.Float64, nil); err != nil {
			t.Fatal(err)
		}
		writeNPY(t, j.Inputs, in)
		jobs = append(jobs, j)
	}
	spec, err := json.Marshal(jobs)
	if err != nil {
		t.Fatal(err)
	}
	jobsFile := filepath.Join(dir, "jobs.json")
	if err := os.WriteFile(jobsFile, spec, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(python, "testdata/torch_logits.py", jobsFile).CombinedOutput(); err != nil {
		t.Fatalf("torch: %v\n%s", err, out)
	}
	for k, tm := range torchModels {
		t.Run(tm.name, func(t *testing.T) {
			got := readNPY(t, jobs[k].Logits)
			if len(got) != len(want[k]) {
				t.Fatalf("torch gave %d logits, dpmpi %d", len(got), len(want[k]))
			}
			var worst float64
			for i, w := range want[k] {
				rel := math.Abs(got[i]-w) / max(math.Abs(w), 1e-3)
				worst = max(worst, rel)
				if rel > 1e-6 {
					t.Fatalf("logit %d (sample %d, class %d): torch %v, dpmpi %v (relative %.2g)", i, i/10, i%10, got[i], w, rel)
				}
			}
			t.Logf("%d logits agree within %.2g relative", len(got), worst)
		})
	}
}

// isNorm reports whether t belongs to a normalisation layer (GroupNorm,
// LayerNorm): its module's weight and bias have the same shape, which no
// Linear or convolution has.
func isNorm(t nn.Tensor, sd []nn.Tensor) bool {
	base := strings.TrimSuffix(strings.TrimSuffix(t.Name, ".weight"), ".bias")
	var w, b []int
	for _, u := range sd {
		switch u.Name {
		case base + ".weight":
			w = u.Shape
		case base + ".bias":
			b = u.Shape
		}
	}
	return w != nil && b != nil && slices.Equal(w, b)
}

// writeNPY writes v as a one-dimensional .npy array; the script reshapes it.
func writeNPY(t *testing.T, path string, v []float64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := npyio.Write(f, v); err != nil {
		t.Fatal(err)
	}
}

func readNPY(t *testing.T, path string) []float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var v []float64
	if err := npyio.Read(f, &v); err != nil {
		t.Fatal(err)
	}
	return v
}
