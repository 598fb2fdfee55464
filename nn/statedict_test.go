package nn

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestStateDict(t *testing.T) {
	s, err := NewSequential[float64]([]int{2, 9, 8},
		NewConv2d[float64](2, 3, 3, 2, 1), Tanh[float64](), NewMaxPool2d[float64](2, 1), Flatten[float64](), NewLinear[float64](3*4*3, 5))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StateDict(); err == nil || !strings.Contains(err.Error(), "not bound") {
		t.Fatalf("StateDict before binding: err = %v, want one saying the model is not bound", err)
	}
	a, err := s.NewArena(3)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := s.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name  string
		shape []int
	}{{"0.weight", []int{3, 2, 3, 3}}, {"0.bias", []int{3}}, {"4.weight", []int{5, 36}}, {"4.bias", []int{5}}}
	if len(sd) != len(want) {
		t.Fatalf("%d tensors, want %d", len(sd), len(want))
	}
	var total int
	for i, w := range want {
		if sd[i].Name != w.name || !slices.Equal(sd[i].Shape, w.shape) || len(sd[i].Data) != prod(w.shape) {
			t.Errorf("tensor %d = %s %v (%d values), want %s %v", i, sd[i].Name, sd[i].Shape, len(sd[i].Data), w.name, w.shape)
		}
		total += len(sd[i].Data)
	}
	// The tensors are the arena's parameters, in order, without gaps.
	if p := a.Params; total != len(p) || &sd[0].Data[0] != &p[0] || &sd[3].Data[len(sd[3].Data)-1] != &p[len(p)-1] {
		t.Fatalf("the tensors do not cover the arena's %d parameters in order", len(p))
	}
}

func TestLoadStateDict(t *testing.T) {
	for _, tm := range testModels {
		t.Run(tm.name, func(t *testing.T) {
			src, _, x, _ := build(t, tm, 3, 1)
			dst, _, _, _ := build(t, tm, 3, 2)
			sd, err := src.StateDict()
			if err != nil {
				t.Fatal(err)
			}
			if err := dst.LoadStateDict(sd); err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(src.Forward(x, 3))
			if got := dst.Forward(x, 3); !slices.Equal(got, want) {
				t.Fatalf("outputs after loading differ:\n%v\n%v", got, want)
			}
		})
	}
}

func TestLoadStateDictErrors(t *testing.T) {
	tm := testModels[0] // Linear(5, 4), ReLU, Linear(4, 3), Tanh, Linear(3, 3)
	m, _, _, _ := build(t, tm, 1, 1)
	good, err := m.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func([]Tensor) []Tensor) []Tensor {
		c := make([]Tensor, len(good))
		for i, g := range good {
			c[i] = Tensor{g.Name, slices.Clone(g.Shape), make([]float64, len(g.Data))}
		}
		return f(c)
	}
	for _, tc := range []struct {
		name    string
		tensors []Tensor
		want    string
	}{
		{"missing", edit(func(c []Tensor) []Tensor { return c[1:] }), `no tensor "0.weight" (shape [4 5])`},
		{"wrong shape", edit(func(c []Tensor) []Tensor { c[2].Shape = []int{5, 4}; return c }), `"2.weight" has shape [5 4]`},
		{"wrong length", edit(func(c []Tensor) []Tensor { c[3].Data = c[3].Data[:1]; return c }), `"2.bias" has shape [3] (1 values)`},
		{"extra", edit(func(c []Tensor) []Tensor { return append(c, Tensor{"1.weight", []int{1}, []float64{0}}) }), "no parameters named [1.weight]"},
		{"twice", edit(func(c []Tensor) []Tensor { return append(c, c[0]) }), `"0.weight" is given twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(m.bound.Params)
			err := m.LoadStateDict(tc.tensors)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if !slices.Equal(m.bound.Params, before) {
				t.Fatal("a failed LoadStateDict changed the parameters")
			}
		})
	}
}

func ExampleSequential_StateDict() {
	m, err := NewSequential[float64]([]int{784}, NewLinear[float64](784, 10), ReLU[float64](), NewLinear[float64](10, 2))
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := m.NewArena(1); err != nil {
		fmt.Println(err)
		return
	}
	sd, err := m.StateDict()
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range sd {
		fmt.Println(t.Name, t.Shape)
	}
	// Output:
	// 0.weight [10 784]
	// 0.bias [10]
	// 2.weight [2 10]
	// 2.bias [2]
}
