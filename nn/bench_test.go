package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/dpmpi/dpmpi/optimizer"
)

// The benchmark models of issue 6, the ones Opacus was timed with.
func benchMLP() (*Sequential, error) {
	return NewSequential([]int{784},
		NewLinear(784, 512), ReLU(), NewLinear(512, 256), ReLU(), NewLinear(256, 10))
}

func benchCNN() (*Sequential, error) {
	return NewSequential([]int{1, 28, 28},
		NewConv2d(1, 16, 8, 2, 3), Tanh(), NewMaxPool2d(2, 1),
		NewConv2d(16, 32, 4, 2, 0), Tanh(), NewMaxPool2d(2, 1),
		Flatten(), NewLinear(32*4*4, 32), Tanh(), NewLinear(32, 10))
}

// trainStep is one benchmark step: forward, loss, backward and, for the
// private modes, per-layer clipping into the arena's gradient.
type trainStep struct {
	s       *Sequential
	a       *optimizer.Arena[float64]
	x       []float64
	y       []int
	d       []float64
	norms   []float64
	factors []float64
	private bool
	clip    float64
	ready   func(int, optimizer.GradSource[float64]) error
}

func newTrainStep(tb testing.TB, build func() (*Sequential, error), n int, mode GradMode, private bool) *trainStep {
	s, err := build()
	if err != nil {
		tb.Fatal(err)
	}
	a, err := s.NewArena(1)
	if err != nil {
		tb.Fatal(err)
	}
	s.SetGradMode(mode)
	r := rand.New(rand.NewPCG(1, 2))
	t := &trainStep{s: s, a: a, private: private, clip: 1,
		x: make([]float64, n*prod(s.InShape())), y: make([]int, n),
		d: make([]float64, n*10), norms: make([]float64, n), factors: make([]float64, n)}
	for i := range t.x {
		t.x[i] = r.NormFloat64()
	}
	if e, ok := s.Layers()[0].(*Embedding); ok { // token indices
		for i := range t.x {
			t.x[i] = float64(r.IntN(e.Vocab))
		}
	}
	for i := range t.y {
		t.y[i] = r.IntN(10)
	}
	// Per-layer clipping as DPPerLayerOptimizer does it: norms, factors
	// min(1, C/(‖g‖+1e-6)), weighted sum into the layer's gradient, in one
	// pass where the source offers it.
	t.ready = func(l int, src optimizer.GradSource[float64]) error {
		if ca, ok := src.(optimizer.ClipAdder[float64]); ok {
			ca.ClipAdd(t.a.Grad(l), t.clip, t.norms, t.factors)
			return nil
		}
		src.Norms(t.norms)
		for i, v := range t.norms {
			t.factors[i] = min(1, t.clip/(v+1e-6))
		}
		src.AddWeighted(t.a.Grad(l), t.factors)
		return nil
	}
	return t
}

func (t *trainStep) run() error {
	out := t.s.Forward(t.x, len(t.y))
	if err := SoftmaxCrossEntropy(out, t.y, 10, nil, t.d); err != nil {
		return err
	}
	clear(t.a.Grads)
	if !t.private {
		return t.s.BackwardSum(t.d)
	}
	return t.s.Backward(t.d, t.ready)
}

func benchStep(b *testing.B, build func() (*Sequential, error), mode GradMode, private bool) {
	const n = 256
	t := newTrainStep(b, build, n, mode, private)
	if err := t.run(); err != nil { // size the buffers
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		if err := t.run(); err != nil {
			b.Fatal(err)
		}
	}
	cpu := processCPU() - cpu0
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	// CPU time per step is less sensitive than wall time to other
	// processes sharing the machine.
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// Run with: go test -run '^$' -bench . -benchtime 3s ./nn
func BenchmarkMLPNonPrivate(b *testing.B)   { benchStep(b, benchMLP, Mixed, false) }
func BenchmarkMLPMaterialized(b *testing.B) { benchStep(b, benchMLP, Materialized, true) }
func BenchmarkMLPGhost(b *testing.B)        { benchStep(b, benchMLP, Mixed, true) }
func BenchmarkCNNNonPrivate(b *testing.B)   { benchStep(b, benchCNN, Mixed, false) }
func BenchmarkCNNMaterialized(b *testing.B) { benchStep(b, benchCNN, Materialized, true) }
func BenchmarkCNNMixed(b *testing.B)        { benchStep(b, benchCNN, Mixed, true) }
func BenchmarkCNNGhost(b *testing.B)        { benchStep(b, benchCNN, Ghost, true) }
