package nn

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBuiltinSpecs checks that the shipped specs build the models dptrain
// has always trained: same layers, same parameter layout, same initial
// weights for a seed.
func TestBuiltinSpecs(t *testing.T) {
	want := map[string]func() (*Sequential[float64], error){
		"cnn": func() (*Sequential[float64], error) {
			return NewSequential[float64]([]int{1, 28, 28},
				NewConv2d[float64](1, 16, 8, 2, 3), Tanh[float64](), NewMaxPool2d[float64](2, 1),
				NewConv2d[float64](16, 32, 4, 2, 0), Tanh[float64](), NewMaxPool2d[float64](2, 1),
				Flatten[float64](), NewLinear[float64](32*4*4, 32), Tanh[float64](), NewLinear[float64](32, 10))
		},
		"cnn-gn": func() (*Sequential[float64], error) {
			return NewSequential[float64]([]int{1, 28, 28},
				NewConv2d[float64](1, 16, 8, 2, 3), NewGroupNorm[float64](4, 16), Tanh[float64](), NewMaxPool2d[float64](2, 1),
				NewConv2d[float64](16, 32, 4, 2, 0), NewGroupNorm[float64](4, 32), Tanh[float64](), NewMaxPool2d[float64](2, 1),
				Flatten[float64](), NewLinear[float64](32*4*4, 32), Tanh[float64](), NewLinear[float64](32, 10))
		},
		"mlp": func() (*Sequential[float64], error) {
			return NewSequential[float64]([]int{784}, NewLinear[float64](784, 128), ReLU[float64](), NewLinear[float64](128, 10))
		},
		"scatter-linear": func() (*Sequential[float64], error) {
			return NewSequential[float64]([]int{81, 7, 7}, NewGroupNorm[float64](27, 81), Flatten[float64](), NewLinear[float64](81*7*7, 10))
		},
		"resnet-gn": func() (*Sequential[float64], error) {
			return NewSequential[float64]([]int{1, 28, 28},
				NewStdConv2d[float64](1, 16, 8, 2, 3), NewGroupNorm[float64](4, 16), Tanh[float64](),
				Residual[float64](nil, NewStdConv2d[float64](16, 16, 3, 1, 1), NewGroupNorm[float64](4, 16), Tanh[float64](), NewStdConv2d[float64](16, 16, 3, 1, 1), NewGroupNorm[float64](4, 16)),
				Tanh[float64](), NewMaxPool2d[float64](2, 2),
				NewStdConv2d[float64](16, 32, 3, 2, 1), NewGroupNorm[float64](4, 32), Tanh[float64](),
				Flatten[float64](), NewLinear[float64](32*4*4, 10))
		},
	}
	if got := BuiltinSpecs(); !slices.Equal(got, []string{"cnn", "cnn-gn", "mlp", "resnet-gn", "scatter-linear"}) {
		t.Fatalf("BuiltinSpecs() = %v, want [cnn cnn-gn mlp resnet-gn scatter-linear]", got)
	}
	for name, build := range want {
		t.Run(name, func(t *testing.T) {
			spec, err := LoadSpec(name)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Build[float64](spec)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := build()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.OutShape(), ref.OutShape()) || len(got.Layers()) != len(ref.Layers()) {
				t.Fatalf("spec model out %v with %d layers, want %v with %d", got.OutShape(), len(got.Layers()), ref.OutShape(), len(ref.Layers()))
			}
			for k := range got.Layers() {
				if a, b := got.Layers()[k].Kind(), ref.Layers()[k].Kind(); a != b {
					t.Errorf("layer %d is %s, want %s", k, a, b)
				}
			}
			ga, err := got.NewArena(5)
			if err != nil {
				t.Fatal(err)
			}
			ra, err := ref.NewArena(5)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ga.Params, ra.Params) {
				t.Fatal("initial parameters differ from the hand-built model's")
			}
		})
	}
}

func TestLoadSpecFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "tiny.json")
	text := `{"input": [2, 6, 6], "layers": [
		{"type": "conv2d", "in": 2, "out": 3, "kernel": 3},
		{"type": "groupnorm", "groups": 3},
		{"type": "relu"},
		{"type": "avgpool2d", "kernel": 2},
		{"type": "flatten"},
		{"type": "linear", "in": 12, "out": 4},
		{"type": "gelu"}, {"type": "silu"}, {"type": "elu", "alpha": 0.5}, {"type": "tanh"},
		{"type": "layernorm"},
		{"type": "residual", "branch": [{"type": "linear", "out": 4}, {"type": "silu"}]},
		{"type": "residual", "branch": [{"type": "linear", "out": 3}], "projection": {"type": "linear", "out": 3}},
		{"type": "linear", "out": 2}]}`
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := LoadSpec(p)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Build[float64](spec)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, l := range m.Layers() {
		kinds = append(kinds, l.Kind())
	}
	if got := strings.Join(kinds, " "); got != "Conv2d(2, 3, k=3, s=1, p=0) GroupNorm(3, 3) ReLU AvgPool2d(2, stride=2) Flatten Linear(12, 4) GELU SiLU ELU(alpha=0.5) Tanh LayerNorm([4]) Residual([Linear(4, 4), SiLU] + x) Residual([Linear(4, 3)] + Linear(4, 3)) Linear(3, 2)" {
		t.Fatalf("layers %s", got)
	}
	if _, err := LoadSpec(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") || !strings.Contains(err.Error(), "cnn, cnn-gn, mlp") {
		t.Fatalf("missing file: %v, want an error naming the file and the built-in models", err)
	}
}

func TestSpecErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"not JSON", `{"input": [784], "layers": [`, []string{"not valid JSON"}},
		{"empty", ``, []string{"empty"}},
		{"unknown top-level field", `{"input": [4], "layer": []}`, []string{`"layer"`}},
		{"trailing text", `{"input": [4], "layers": [{"type": "relu"}]} {}`, []string{"text follows"}},
		{"no input", `{"layers": [{"type": "relu"}]}`, []string{`no "input"`, "[784]"}},
		{"zero input", `{"input": [1, 0, 28], "layers": [{"type": "relu"}]}`, []string{"[1 0 28]", "positive"}},
		{"no layers", `{"input": [4]}`, []string{`no "layers"`}},
		{"no type", `{"input": [4], "layers": [{"out": 3}]}`, []string{"layer 0", `no "type"`, "linear"}},
		{"unknown type", `{"input": [4], "layers": [{"type": "relu"}, {"type": "swish"}]}`, []string{"layer 1", `unknown layer type "swish"`, "conv2d"}},
		{"batchnorm", `{"input": [3, 8, 8], "layers": [{"type": "BatchNorm2d"}]}`, []string{"layer 0", "refused", "per-sample clipping", "groupnorm"}},
		{"field of another type", `{"input": [4], "layers": [{"type": "linear", "out": 2, "kernel": 3}]}`, []string{"layer 0 (linear)", `"kernel" does not belong`, "out, in (optional)"}},
		{"field on a parameter-free layer", `{"input": [4], "layers": [{"type": "relu", "out": 2}]}`, []string{"(relu)", `"out"`, `none besides "type"`}},
		{"missing size", `{"input": [1, 8, 8], "layers": [{"type": "conv2d", "out": 2}]}`, []string{"(conv2d)", `no "kernel"`, "out and kernel"}},
		{"not an integer", `{"input": [4], "layers": [{"type": "linear", "out": 2.5}]}`, []string{`"out" is 2.5`, "integer"}},
		{"a string size", `{"input": [4], "layers": [{"type": "linear", "out": "10"}]}`, []string{`"out" is "10"`, "integer"}},
		{"bad alpha", `{"input": [4], "layers": [{"type": "elu", "alpha": -1}]}`, []string{"(elu)", `"alpha" is -1`, "positive number"}},
		{"dropout p of 1", `{"input": [4], "layers": [{"type": "dropout", "p": 1}]}`, []string{"layer 0 (dropout)", `"p" is 1`, "[0, 1)"}},
		{"dropout negative p", `{"input": [4], "layers": [{"type": "dropout", "p": -0.1}]}`, []string{"layer 0 (dropout)", `"p" is -0.1`}},
		{"dropout without p", `{"input": [4], "layers": [{"type": "dropout"}]}`, []string{"layer 0 (dropout)", `no "p"`}},
		{"dropout p a string", `{"input": [4], "layers": [{"type": "dropout", "p": "0.5"}]}`, []string{`"p" is "0.5"`}},
		{"weight standardization not a bool", `{"input": [1, 8, 8], "layers": [{"type": "conv2d", "out": 2, "kernel": 3, "weight_standardization": 1}]}`, []string{"layer 0 (conv2d)", `"weight_standardization" is 1`, "true or false"}},
		{"weight standardization on linear", `{"input": [4], "layers": [{"type": "linear", "out": 2, "weight_standardization": true}]}`, []string{"layer 0 (linear)", `"weight_standardization" does not belong`}},
		{"global pool of vectors", `{"input": [4], "layers": [{"type": "globalavgpool"}]}`, []string{"layer 0 (GlobalAvgPool)", "[C, H, W]"}},
		{"groups not dividing channels", `{"input": [6, 4, 4], "layers": [{"type": "groupnorm", "groups": 4}]}`, []string{"layer 0 (GroupNorm(4, 6))", "divide the 6 channels"}},
		{"wrong channels", `{"input": [6, 4, 4], "layers": [{"type": "groupnorm", "groups": 2, "channels": 4}]}`, []string{"layer 0 (groupnorm)", `"channels" is 4`}},
		{"conv1d on images", `{"input": [1, 8, 8], "layers": [{"type": "conv1d", "out": 2, "kernel": 3}]}`, []string{"layer 0 (conv1d)", "[1 8 8]", "[C, L]"}},
		{"embedding not first", `{"input": [4], "layers": [{"type": "linear", "out": 4}, {"type": "embedding", "vocab": 9, "dim": 2}]}`, []string{"layer 1 (Embedding(9, 2))", "first"}},
		{"residual without branch", `{"input": [4], "layers": [{"type": "residual"}]}`, []string{"layer 0 (residual)", `no "branch"`}},
		{"residual bad branch layer", `{"input": [4], "layers": [{"type": "residual", "branch": [{"type": "relu"}, {"type": "linear"}]}]}`, []string{"layer 0 (residual)", "branch layer 1 (linear)", `no "out"`}},
		{"residual shape change", `{"input": [4], "layers": [{"type": "residual", "branch": [{"type": "linear", "out": 3}]}]}`, []string{"layer 0 (Residual([Linear(4, 3)] + x))", "gives [3]", "projection"}},
		{"residual projection kind", `{"input": [4], "layers": [{"type": "residual", "branch": [{"type": "relu"}], "projection": {"type": "tanh"}}]}`, []string{"projection is a tanh layer"}},
		{"residual projection shape", `{"input": [4], "layers": [{"type": "residual", "branch": [{"type": "linear", "out": 3}], "projection": {"type": "linear", "out": 2}}]}`, []string{"the branch gives [3] but the projection [2]"}},
		{"zero size", `{"input": [4], "layers": [{"type": "linear", "out": 0}]}`, []string{`"out" is 0`, "positive"}},
		{"negative padding", `{"input": [1, 8, 8], "layers": [{"type": "conv2d", "out": 2, "kernel": 3, "padding": -1}]}`, []string{`"padding" is -1`}},
		{"linear after conv", `{"input": [1, 8, 8], "layers": [{"type": "conv2d", "out": 2, "kernel": 3}, {"type": "linear", "out": 10}]}`, []string{"layer 1 (linear)", "[2 6 6]", "flatten"}},
		{"conv on vectors", `{"input": [784], "layers": [{"type": "conv2d", "out": 2, "kernel": 3}]}`, []string{"layer 0 (conv2d)", "[784]", "[C, H, W]"}},
		{"wrong in", `{"input": [4], "layers": [{"type": "linear", "out": 2}, {"type": "linear", "in": 3, "out": 2}]}`, []string{"layer 1 (linear)", `"in" is 3`, "gives 2 features"}},
		{"wrong channels", `{"input": [3, 8, 8], "layers": [{"type": "conv2d", "in": 1, "out": 2, "kernel": 3}]}`, []string{"layer 0 (conv2d)", `"in" is 1`, "3 channels"}},
		{"window too large", `{"input": [1, 4, 4], "layers": [{"type": "maxpool2d", "kernel": 5}]}`, []string{"layer 0", "smaller than the 5x5 window"}},
		{"kernel too large", `{"input": [1, 4, 4], "layers": [{"type": "conv2d", "out": 1, "kernel": 7, "padding": 1}]}`, []string{"layer 0", "6x6 is smaller than the 7x7 kernel"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := ParseSpec(strings.NewReader(tc.text), "bad.json")
			if err == nil {
				_, err = Build[float64](spec)
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(tc.want, "bad.json") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func ExampleParseSpec() {
	const text = `{
	  "input": [784],
	  "layers": [
	    {"type": "linear", "out": 64},
	    {"type": "relu"},
	    {"type": "linear", "out": 10}
	  ]
	}`
	spec, err := ParseSpec(strings.NewReader(text), "example.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	model, err := Build[float64](spec)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range model.Layers() {
		fmt.Println(l.Kind())
	}
	// Output:
	// Linear(784, 64)
	// ReLU
	// Linear(64, 10)
}
