package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/dpmpi/dpmpi/optimizer"
)

// The benchmark models of issue 6, the ones Opacus was timed with.
// They are the test models "mlp-784" and "cnn-28", in precision F.
func benchMLP[F Float]() (*Sequential[F], error) {
	return NewSequential[F]([]int{784}, testLayers[F]("mlp-784")...)
}

func benchCNN[F Float]() (*Sequential[F], error) {
	return NewSequential[F]([]int{1, 28, 28}, testLayers[F]("cnn-28")...)
}

// trainStep is one benchmark step: forward, loss, backward and, for the
// private modes, per-layer clipping into the arena's gradient.
type trainStep[F Float] struct {
	s       *Sequential[F]
	a       *optimizer.Arena[F]
	x       []F
	y       []int
	d       []F
	norms   []float64
	factors []float64
	private bool
	clip    float64
	ready   func(int, optimizer.GradSource[F]) error
}

func newTrainStep[F Float](tb testing.TB, build func() (*Sequential[F], error), n int, mode GradMode, private bool) *trainStep[F] {
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
	t := &trainStep[F]{s: s, a: a, private: private, clip: 1,
		x: make([]F, n*prod(s.InShape())), y: make([]int, n),
		d: make([]F, n*10), norms: make([]float64, n), factors: make([]float64, n)}
	for i := range t.x {
		t.x[i] = F(r.NormFloat64())
	}
	if e, ok := s.Layers()[0].(*Embedding[F]); ok { // token indices
		for i := range t.x {
			t.x[i] = F(r.IntN(e.Vocab))
		}
	}
	for i := range t.y {
		t.y[i] = r.IntN(10)
	}
	// Per-layer clipping as DPPerLayerOptimizer does it: norms, factors
	// min(1, C/(‖g‖+1e-6)), weighted sum into the layer's gradient, in one
	// pass where the source offers it.
	t.ready = func(l int, src optimizer.GradSource[F]) error {
		if ca, ok := src.(optimizer.ClipAdder[F]); ok {
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

func (t *trainStep[F]) run() error {
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

func benchStep[F Float](b *testing.B, build func() (*Sequential[F], error), mode GradMode, private bool) {
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
//
// The float32 rows run the same models, inputs and seeds in float32, so
// that go test -bench 'MLP|CNN' compares the precisions side by side.
func BenchmarkMLPNonPrivate(b *testing.B)   { benchStep(b, benchMLP[float64], Mixed, false) }
func BenchmarkMLPMaterialized(b *testing.B) { benchStep(b, benchMLP[float64], Materialized, true) }
func BenchmarkMLPGhost(b *testing.B)        { benchStep(b, benchMLP[float64], Mixed, true) }
func BenchmarkCNNNonPrivate(b *testing.B)   { benchStep(b, benchCNN[float64], Mixed, false) }
func BenchmarkCNNMaterialized(b *testing.B) { benchStep(b, benchCNN[float64], Materialized, true) }
func BenchmarkCNNMixed(b *testing.B)        { benchStep(b, benchCNN[float64], Mixed, true) }
func BenchmarkCNNGhost(b *testing.B)        { benchStep(b, benchCNN[float64], Ghost, true) }

func BenchmarkMLPNonPrivateFloat32(b *testing.B) { benchStep(b, benchMLP[float32], Mixed, false) }
func BenchmarkMLPMaterializedFloat32(b *testing.B) {
	benchStep(b, benchMLP[float32], Materialized, true)
}
func BenchmarkMLPGhostFloat32(b *testing.B)      { benchStep(b, benchMLP[float32], Mixed, true) }
func BenchmarkCNNNonPrivateFloat32(b *testing.B) { benchStep(b, benchCNN[float32], Mixed, false) }
func BenchmarkCNNMaterializedFloat32(b *testing.B) {
	benchStep(b, benchCNN[float32], Materialized, true)
}
func BenchmarkCNNMixedFloat32(b *testing.B) { benchStep(b, benchCNN[float32], Mixed, true) }
func BenchmarkCNNGhostFloat32(b *testing.B) { benchStep(b, benchCNN[float32], Ghost, true) }
