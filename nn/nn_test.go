package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/optimizer"
)

// testModel is a model under test with its per-sample input shape; its
// layers, in either precision, are testLayers[F](name).
type testModel struct {
	name  string
	in    []int
	class int
}

// layers returns the model's float64 layers.
func (tm testModel) layers() []Layer[float64] { return testLayers[float64](tm.name) }

var testModels = []testModel{
	{"mlp", []int{5}, 3},
	{"cnn", []int{2, 9, 8}, 3},
	{"cnn-pad-stride", []int{1, 9, 9}, 2},
	{"cnn-vector", []int{2, 7, 7}, 3},
	{"activations", []int{2, 6, 6}, 3},
	{"norms", []int{4, 3, 3}, 3},
	{"conv1d", []int{2, 9}, 3},
	{"embedding", []int{6}, 3},
	{"residual", []int{4, 6, 6}, 3},
	{"residual-nested", []int{5}, 3},
	{"dropout-ws", []int{2, 7, 7}, 3},
	{"std-conv-small", []int{1, 6, 6}, 2},
	{"cnn-vector-k3-k8", []int{1, 12, 12}, 2},
}

// testLayers returns the layers of the test model of the given name, over
// elements of type F.
func testLayers[F Float](name string) []Layer[F] {
	switch name {
	case "mlp":
		return []Layer[F]{NewLinear[F](5, 4), ReLU[F](), NewLinear[F](4, 3), Tanh[F](), NewLinear[F](3, 3)}
	case "cnn":
		return []Layer[F]{
			NewConv2d[F](2, 3, 3, 2, 1), Tanh[F](), NewMaxPool2d[F](2, 1),
			NewConv2d[F](3, 4, 2, 1, 0), ReLU[F](), NewAvgPool2d[F](2, 1),
			Flatten[F](), NewLinear[F](4*2*1, 3),
		}
	case "cnn-pad-stride":
		return []Layer[F]{
			NewConv2d[F](1, 2, 4, 2, 3), Tanh[F](), NewAvgPool2d[F](2, 2),
			Flatten[F](), NewLinear[F](2*3*3, 2),
		}
	// Channel counts and In·K·K multiples of 8, so that the convolutions
	// run on vecmath's kernels where the machine has them: Gemm on an
	// unrolled input for K = 2 and 3, GemmGather for K = 4 and 8 (padded or
	// not, one or several input channels).
	case "cnn-vector":
		return []Layer[F]{
			NewConv2d[F](2, 8, 2, 1, 0), Tanh[F](), NewMaxPool2d[F](2, 1),
			NewConv2d[F](8, 16, 4, 1, 1), ReLU[F](),
			Flatten[F](), NewLinear[F](16*4*4, 3),
		}
	// The element-wise activations computed from their inputs and global
	// average pooling.
	case "activations":
		return []Layer[F]{
			NewConv2d[F](2, 4, 3, 1, 1), GELU[F](), NewConv2d[F](4, 4, 3, 1, 0), SiLU[F](),
			GlobalAvgPool[F](), NewLinear[F](4, 5), ELU[F](0.7), NewLinear[F](5, 3),
		}
	// Per-sample normalisation: GroupNorm on images and on vectors,
	// LayerNorm on images and on vectors.
	case "norms":
		return []Layer[F]{
			NewConv2d[F](4, 4, 2, 1, 1), NewGroupNorm[F](2, 4), Tanh[F](), NewLayerNorm[F](),
			Flatten[F](), NewLinear[F](64, 6), NewGroupNorm[F](3, 6), ReLU[F](), NewLinear[F](6, 5), NewLayerNorm[F](), NewLinear[F](5, 3),
		}
	// One-dimensional convolutions, padded and strided; the second takes
	// the ghost norms in Mixed mode where Lo² < Out·In·K (the last two).
	case "conv1d":
		return []Layer[F]{
			NewConv1d[F](2, 4, 3, 1, 1), Tanh[F](), NewConv1d[F](4, 3, 2, 2, 0), SiLU[F](),
			NewConv1d[F](3, 4, 2, 2, 1), Flatten[F](), NewLinear[F](12, 3),
		}
	// Token embeddings, with a token repeated within a sample (the input
	// is drawn by build from the vocabulary; see tokens).
	case "embedding":
		return []Layer[F]{NewEmbedding[F](5, 3), Tanh[F](), Flatten[F](), NewLinear[F](18, 4), ReLU[F](), NewLinear[F](4, 3)}
	// Residual blocks: identity and 1×1-convolution shortcuts, GroupNorm
	// in a branch.
	case "residual":
		return []Layer[F]{
			NewConv2d[F](4, 4, 3, 1, 1),
			Residual[F](nil, NewGroupNorm[F](2, 4), SiLU[F](), NewConv2d[F](4, 4, 3, 1, 1)),
			Residual[F](NewConv2d[F](4, 8, 1, 2, 0), NewConv2d[F](4, 8, 3, 2, 1), Tanh[F]()),
			GlobalAvgPool[F](), NewLinear[F](8, 3),
		}
	// Blocks holding the model's first parameters, a Linear shortcut, and a
	// block inside a block.
	case "residual-nested":
		return []Layer[F]{
			Residual[F](nil, NewLinear[F](5, 5), ReLU[F]()),
			Residual[F](NewLinear[F](5, 4), NewLinear[F](5, 4), Tanh[F](), Residual[F](nil, NewLinear[F](4, 4), ELU[F](1))),
			NewLinear[F](4, 3),
		}
	// Weight-standardised convolutions (the first one forming its
	// gradients early, on vecmath's GemmGather for K = 4; the second on an
	// unrolled input) and dropout in training mode (build gives the keys),
	// inside a residual branch too.
	case "dropout-ws":
		return []Layer[F]{
			NewStdConv2d[F](2, 8, 4, 1, 1), Dropout[F](0.3), Tanh[F](),
			Residual[F](nil, NewStdConv2d[F](8, 8, 3, 1, 1), Dropout[F](0.5), NewGroupNorm[F](2, 8)),
			Flatten[F](), Dropout[F](0.2), NewLinear[F](8*6*6, 3),
		}
	case "std-conv-small":
		return []Layer[F]{NewStdConv2d[F](1, 3, 3, 2, 1), ELU[F](1), Flatten[F](), NewLinear[F](27, 2)}
	case "cnn-vector-k3-k8":
		return []Layer[F]{
			NewConv2d[F](1, 8, 8, 2, 3), Tanh[F](),
			NewConv2d[F](8, 8, 3, 1, 0), Tanh[F](),
			Flatten[F](), NewLinear[F](8*4*4, 2),
		}
	// The benchmark models (benchMLP, benchCNN), not in testModels: too
	// large for the finite differences.
	case "mlp-784":
		return []Layer[F]{NewLinear[F](784, 512), ReLU[F](), NewLinear[F](512, 256), ReLU[F](), NewLinear[F](256, 10)}
	case "cnn-28":
		return []Layer[F]{
			NewConv2d[F](1, 16, 8, 2, 3), Tanh[F](), NewMaxPool2d[F](2, 1),
			NewConv2d[F](16, 32, 4, 2, 0), Tanh[F](), NewMaxPool2d[F](2, 1),
			Flatten[F](), NewLinear[F](32*4*4, 32), Tanh[F](), NewLinear[F](32, 10),
		}
	}
	panic("nn: no test model " + name)
}

// build returns a bound, initialised model and random inputs and labels.
func build(t testing.TB, tm testModel, n int, seed uint64) (*Sequential[float64], *optimizer.Arena[float64], []float64, []int) {
	return buildAs[float64](t, tm, n, seed, false)
}

// buildAs is build over elements of type F. Every value is drawn in float64
// and rounded to F; with round32 the values are first rounded to float32,
// so that buildAs[float64] and buildAs[float32] with round32 set give
// models of the same parameters on the same inputs.
func buildAs[F Float](t testing.TB, tm testModel, n int, seed uint64, round32 bool) (*Sequential[F], *optimizer.Arena[F], []F, []int) {
	t.Helper()
	rnd := func(v float64) F {
		if round32 {
			v = float64(float32(v))
		}
		return F(v)
	}
	s, err := NewSequential[F](tm.in, testLayers[F](tm.name)...)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.NewArena(seed)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range a.Params {
		a.Params[i] = rnd(float64(v))
	}
	r := rand.New(rand.NewPCG(seed, 99))
	// Normalisation layers start at γ = 1, β = 0, where a gradient that
	// forgets γ or β would go unnoticed: move them away from it.
	for _, l := range s.Layers() {
		if nl, ok := l.(*norm[F]); ok {
			for i := range nl.gamma {
				nl.gamma[i], nl.beta[i] = rnd(1+0.5*r.NormFloat64()), rnd(0.3*r.NormFloat64())
			}
		}
	}
	x := make([]F, n*prod(tm.in))
	for i := range x {
		x[i] = rnd(r.NormFloat64())
	}
	// A model that starts with an embedding takes token indices.
	if e, ok := s.Layers()[0].(*Embedding[F]); ok {
		for i := range x {
			x[i] = F(r.IntN(e.Vocab))
		}
	}
	y := make([]int, n)
	for i := range y {
		y[i] = r.IntN(tm.class)
	}
	// Dropout layers drop in training mode, with fixed keys: the same
	// masks at every pass, so that the model is a fixed function.
	if s.dropouts > 0 {
		ids := make([]int, n)
		for i := range ids {
			ids[i] = 1000 + 7*i
		}
		s.SetTraining(true)
		s.SetDropoutKeys(42, 5, ids)
	}
	return s, a, x, y
}

// losses returns the per-example losses of the model at its current
// parameters.
func losses(t testing.TB, s *Sequential[float64], x []float64, y []int, classes int) []float64 {
	n := len(y)
	out := s.Forward(x, n)
	l := make([]float64, n)
	if err := SoftmaxCrossEntropy(out, y, classes, l, make([]float64, len(out))); err != nil {
		t.Fatal(err)
	}
	return l
}

// perSample runs forward and backward in the given mode and returns, per
// arena layer, each sample's gradient extracted through AddWeighted with a
// one-hot weight, and the sources' norms.
func perSample(t testing.TB, s *Sequential[float64], mode GradMode, x []float64, y []int, classes int) (g [][][]float64, norms [][]float64) {
	n := len(y)
	s.SetGradMode(mode)
	out := s.Forward(x, n)
	d := make([]float64, len(out))
	if err := SoftmaxCrossEntropy(out, y, classes, nil, d); err != nil {
		t.Fatal(err)
	}
	if err := s.Backward(d, nil); err != nil {
		t.Fatal(err)
	}
	srcs := s.Sources()
	g = make([][][]float64, len(srcs))
	norms = make([][]float64, len(srcs))
	for l, src := range srcs {
		if src.Samples() != n {
			t.Fatalf("layer %d: Samples() = %d, want %d", l, src.Samples(), n)
		}
		norms[l] = make([]float64, n)
		src.Norms(norms[l])
		for i := 0; i < n; i++ {
			w := make([]float64, n)
			w[i] = 1
			gi := make([]float64, src.Len())
			src.AddWeighted(gi, w)
			g[l] = append(g[l], gi)
		}
	}
	return g, norms
}

func l2(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

// TestPerSampleGradFiniteDifference compares each sample's gradient, in
// every mode, with central finite differences of that sample's loss.
func TestPerSampleGradFiniteDifference(t *testing.T) {
	const n, h = 3, 1e-5
	for _, tm := range testModels {
		for _, mode := range []GradMode{Ghost, Materialized, Mixed} {
			t.Run(tm.name+"/"+mode.String(), func(t *testing.T) {
				s, a, x, y := build(t, tm, n, 1)
				g, norms := perSample(t, s, mode, x, y, tm.class)
				for l := range a.Layers {
					p := a.Param(l)
					for j := range p {
						old := p[j]
						p[j] = old + h
						lp := losses(t, s, x, y, tm.class)
						p[j] = old - h
						lm := losses(t, s, x, y, tm.class)
						p[j] = old
						for i := 0; i < n; i++ {
							fd := (lp[i] - lm[i]) / (2 * h)
							if d := math.Abs(fd - g[l][i][j]); d > 1e-6*(1+math.Abs(fd)) {
								t.Fatalf("layer %d param %d sample %d: analytic %.10g, finite difference %.10g", l, j, i, g[l][i][j], fd)
							}
						}
					}
					for i := 0; i < n; i++ {
						if want := l2(g[l][i]); math.Abs(norms[l][i]-want) > 1e-12*(1+want) {
							t.Fatalf("layer %d sample %d: Norms %.15g, norm of gradient %.15g", l, i, norms[l][i], want)
						}
					}
				}
			})
		}
	}
}

// TestPerSampleSumIsBatchGradient checks that Σ_i g_i from the sources
// equals the batch gradient of BackwardSum, and that BackwardSum matches a
// finite difference of the summed loss.
func TestPerSampleSumIsBatchGradient(t *testing.T) {
	const n = 5
	for _, tm := range testModels {
		for _, mode := range []GradMode{Ghost, Materialized} {
			t.Run(tm.name+"/"+mode.String(), func(t *testing.T) {
				s, a, x, y := build(t, tm, n, 2)
				g, _ := perSample(t, s, mode, x, y, tm.class)
				clear(a.Grads)
				out := s.Forward(x, n)
				d := make([]float64, len(out))
				if err := SoftmaxCrossEntropy(out, y, tm.class, nil, d); err != nil {
					t.Fatal(err)
				}
				if err := s.BackwardSum(d); err != nil {
					t.Fatal(err)
				}
				for l := range a.Layers {
					gs := a.Grad(l)
					for j := range gs {
						var sum float64
						for i := 0; i < n; i++ {
							sum += g[l][i][j]
						}
						if math.Abs(sum-gs[j]) > 1e-12*(1+math.Abs(sum)) {
							t.Fatalf("layer %d param %d: Σ per-sample %.15g, batch gradient %.15g", l, j, sum, gs[j])
						}
					}
				}
				// One spot check of the batch gradient itself.
				const h = 1e-5
				p := a.Param(0)
				old := p[1]
				p[1] = old + h
				sp := sum(losses(t, s, x, y, tm.class))
				p[1] = old - h
				sm := sum(losses(t, s, x, y, tm.class))
				p[1] = old
				if fd := (sp - sm) / (2 * h); math.Abs(fd-a.Grad(0)[1]) > 1e-6*(1+math.Abs(fd)) {
					t.Fatalf("batch gradient %.10g, finite difference %.10g", a.Grad(0)[1], fd)
				}
			})
		}
	}
}

func sum(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}

// TestClipAdd checks the one-pass clipping of every source that offers it
// (the optimizer's per-layer path) against Norms, ClipFactor and
// AddWeighted on a second, fresh backward pass, in every mode. The
// threshold is the median norm, so that about half of the samples are
// clipped. A materialised Conv2d source computes its per-sample gradients
// in cache in ClipAdd and writes the block in Norms, so the two paths share
// no work.
func TestClipAdd(t *testing.T) {
	const n = 37
	for _, tm := range testModels {
		for _, mode := range []GradMode{Ghost, Materialized, Mixed} {
			t.Run(tm.name+"/"+mode.String(), func(t *testing.T) {
				s, a, x, y := build(t, tm, n, 3)
				s.SetGradMode(mode)
				backward := func() []optimizer.GradSource[float64] {
					out := s.Forward(x, n)
					d := make([]float64, len(out))
					if err := SoftmaxCrossEntropy(out, y, tm.class, nil, d); err != nil {
						t.Fatal(err)
					}
					if err := s.Backward(d, nil); err != nil {
						t.Fatal(err)
					}
					return s.Sources()
				}
				type res struct{ norms, factors, sum []float64 }
				var want []res
				for l, src := range backward() {
					r := res{make([]float64, n), make([]float64, n), make([]float64, a.Layers[l].Len)}
					src.Norms(r.norms)
					sorted := append([]float64(nil), r.norms...)
					slices.Sort(sorted)
					for i, v := range r.norms {
						r.factors[i] = optimizer.ClipFactor(sorted[n/2], v)
					}
					src.AddWeighted(r.sum, r.factors)
					want = append(want, r)
				}
				clipAdders := 0
				for l, src := range backward() {
					ca, ok := src.(optimizer.ClipAdder[float64])
					if !ok {
						continue
					}
					clipAdders++
					w := want[l]
					got := res{make([]float64, n), make([]float64, n), make([]float64, a.Layers[l].Len)}
					median := slices.Sorted(slices.Values(w.norms))[n/2]
					ca.ClipAdd(got.sum, median, got.norms, got.factors)
					for i := range w.norms {
						if d := math.Abs(got.norms[i] - w.norms[i]); d > 1e-12*w.norms[i] {
							t.Errorf("layer %d sample %d: ClipAdd norm %.15g, Norms %.15g", l, i, got.norms[i], w.norms[i])
						}
						if d := math.Abs(got.factors[i] - w.factors[i]); d > 1e-12 {
							t.Errorf("layer %d sample %d: ClipAdd factor %.15g, want %.15g", l, i, got.factors[i], w.factors[i])
						}
					}
					for j := range w.sum {
						if d := math.Abs(got.sum[j] - w.sum[j]); d > 1e-12*(1+math.Abs(w.sum[j])) {
							t.Errorf("layer %d param %d: ClipAdd sum %.15g, AddWeighted %.15g", l, j, got.sum[j], w.sum[j])
						}
					}
				}
				if strings.HasPrefix(tm.name, "cnn") && mode != Ghost && clipAdders == 0 {
					t.Errorf("no source implements ClipAdd")
				}
			})
		}
	}
}

// TestGhostMatchesMaterialized checks norms and weighted sums of the two
// forms on a batch large enough to use both workers and parallel GEMMs.
func TestGhostMatchesMaterialized(t *testing.T) {
	const n = 37
	for _, tm := range testModels {
		t.Run(tm.name, func(t *testing.T) {
			s, a, x, y := build(t, tm, n, 3)
			r := rand.New(rand.NewPCG(5, 6))
			w := make([]float64, n)
			for i := range w {
				w[i] = r.Float64()
			}
			type res struct{ norms, sum []float64 }
			get := func(mode GradMode) []res {
				s.SetGradMode(mode)
				out := s.Forward(x, n)
				d := make([]float64, len(out))
				if err := SoftmaxCrossEntropy(out, y, tm.class, nil, d); err != nil {
					t.Fatal(err)
				}
				var rs []res
				if err := s.Backward(d, nil); err != nil {
					t.Fatal(err)
				}
				for l, src := range s.Sources() {
					r := res{make([]float64, n), make([]float64, a.Layers[l].Len)}
					src.Norms(r.norms)
					src.AddWeighted(r.sum, w)
					rs = append(rs, r)
				}
				return rs
			}
			gh, ma := get(Ghost), get(Materialized)
			for l := range gh {
				for i := range gh[l].norms {
					if d := math.Abs(gh[l].norms[i] - ma[l].norms[i]); d > 1e-10*(1+ma[l].norms[i]) {
						t.Errorf("layer %d sample %d: ghost norm %.15g, materialised %.15g", l, i, gh[l].norms[i], ma[l].norms[i])
					}
				}
				for j := range gh[l].sum {
					if d := math.Abs(gh[l].sum[j] - ma[l].sum[j]); d > 1e-10*(1+math.Abs(ma[l].sum[j])) {
						t.Errorf("layer %d param %d: ghost sum %.15g, materialised %.15g", l, j, gh[l].sum[j], ma[l].sum[j])
					}
				}
			}
		})
	}
}

func TestReadyOrderAndErrors(t *testing.T) {
	s, _, x, y := build(t, testModels[1], 4, 1)
	out := s.Forward(x, 4)
	d := make([]float64, len(out))
	if err := SoftmaxCrossEntropy(out, y, 3, nil, d); err != nil {
		t.Fatal(err)
	}
	var order []int
	err := s.Backward(d, func(l int, src optimizer.GradSource[float64]) error {
		order = append(order, l)
		if src.Samples() != 4 {
			return fmt.Errorf("layer %d has %d samples", l, src.Samples())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(order) != "[2 1 0]" {
		t.Fatalf("ready order %v, want [2 1 0]", order)
	}
	boom := errors.New("boom")
	order = order[:0]
	err = s.Backward(d, func(l int, _ optimizer.GradSource[float64]) error {
		order = append(order, l)
		if l == 1 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || fmt.Sprint(order) != "[2 1]" {
		t.Fatalf("err %v, order %v; want boom after [2 1]", err, order)
	}
	if s.Forward(x, 4); s.Sources() != nil {
		t.Fatal("Sources after Forward without Backward should be nil")
	}
}

func TestEmptyBatch(t *testing.T) {
	for _, tm := range testModels {
		s, a, _, _ := build(t, tm, 0, 1)
		out := s.Forward(nil, 0)
		if len(out) != 0 {
			t.Fatalf("%s: %d outputs for an empty batch", tm.name, len(out))
		}
		calls := 0
		if err := s.Backward(nil, func(l int, src optimizer.GradSource[float64]) error {
			calls++
			src.Norms(nil)
			dst := make([]float64, src.Len())
			src.AddWeighted(dst, nil)
			if l2(dst) != 0 || src.Samples() != 0 {
				return fmt.Errorf("layer %d: non-zero sum or samples on empty batch", l)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if calls != len(a.Layers) {
			t.Fatalf("%s: ready called %d times, want %d", tm.name, calls, len(a.Layers))
		}
	}
}

func TestSoftmaxCrossEntropy(t *testing.T) {
	// Equal logits: loss log C, gradient 1/C − onehot.
	l := make([]float64, 1)
	d := make([]float64, 4)
	if err := SoftmaxCrossEntropy([]float64{3, 3, 3, 3}, []int{2}, 4, l, d); err != nil {
		t.Fatal(err)
	}
	if math.Abs(l[0]-math.Log(4)) > 1e-15 || math.Abs(d[2]+0.75) > 1e-15 || math.Abs(d[0]-0.25) > 1e-15 {
		t.Fatalf("loss %v grad %v", l, d)
	}
	// Large logits must not overflow: log(1+e^-1000) ≈ 0 for the right class.
	if err := SoftmaxCrossEntropy([]float64{1000, 0}, []int{0}, 2, l, d[:2]); err != nil || l[0] != 0 {
		t.Fatalf("loss %v err %v, want 0", l[0], err)
	}
	// Finite differences of the loss against the gradient.
	z := []float64{0.3, -1.2, 2.0}
	if err := SoftmaxCrossEntropy(z, []int{1}, 3, l, d[:3]); err != nil {
		t.Fatal(err)
	}
	for j := range z {
		zp := append([]float64(nil), z...)
		zp[j] += 1e-6
		lp := make([]float64, 1)
		SoftmaxCrossEntropy(zp, []int{1}, 3, lp, make([]float64, 3))
		zp[j] -= 2e-6
		lm := make([]float64, 1)
		SoftmaxCrossEntropy(zp, []int{1}, 3, lm, make([]float64, 3))
		if fd := (lp[0] - lm[0]) / 2e-6; math.Abs(fd-d[j]) > 1e-8 {
			t.Fatalf("logit %d: gradient %g, finite difference %g", j, d[j], fd)
		}
	}
	err := SoftmaxCrossEntropy([]float64{0, 0, 0, 0}, []int{0, 5}, 2, nil, make([]float64, 4))
	if err == nil || !strings.Contains(err.Error(), "sample 1") {
		t.Fatalf("bad label: got %v, want an error naming sample 1", err)
	}
}

func TestNewSequentialErrors(t *testing.T) {
	lin := NewLinear[float64](4, 2)
	cases := []struct {
		name   string
		in     []int
		layers []Layer[float64]
		want   string
	}{
		{"no layers", []int{4}, nil, "no layers"},
		{"linear on image", []int{1, 2, 2}, []Layer[float64]{NewLinear[float64](4, 2)}, "Flatten"},
		{"wrong width", []int{5}, []Layer[float64]{NewLinear[float64](4, 2)}, "layer 0"},
		{"conv channels", []int{2, 8, 8}, []Layer[float64]{NewConv2d[float64](1, 2, 3, 1, 0)}, "[1, H, W]"},
		{"kernel too big", []int{1, 2, 2}, []Layer[float64]{NewConv2d[float64](1, 2, 3, 1, 0)}, "smaller than"},
		{"pool too big", []int{1, 2, 2}, []Layer[float64]{NewMaxPool2d[float64](3, 1)}, "smaller than"},
		{"shared layer", []int{4}, []Layer[float64]{lin, ReLU[float64](), NewLinear[float64](2, 4), lin}, "same value"},
		{"embedding after parameters", []int{4}, []Layer[float64]{NewLinear[float64](4, 4), NewEmbedding[float64](3, 2)}, "put the Embedding(3, 2) first"},
		{"embedding of images", []int{1, 2, 2}, []Layer[float64]{NewEmbedding[float64](3, 2)}, "[T] (token indices)"},
		{"groups not dividing", []int{6, 2, 2}, []Layer[float64]{NewGroupNorm[float64](4, 6)}, "divide the 6 channels"},
		{"conv1d on images", []int{1, 8, 8}, []Layer[float64]{NewConv1d[float64](1, 2, 3, 1, 0)}, "[1, L]"},
		{"global pool of vectors", []int{8}, []Layer[float64]{GlobalAvgPool[float64]()}, "[C, H, W]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewSequential[float64](c.in, c.layers...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestBindAndInit(t *testing.T) {
	s, err := NewSequential[float64]([]int{784}, NewLinear[float64](784, 10))
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := optimizer.NewArena[float64](optimizer.LayerSpec{Name: "x", Len: 10})
	if err := s.Bind(wrong); err == nil {
		t.Fatal("Bind accepted an arena of the wrong size")
	}
	a, err := s.NewArena(7)
	if err != nil {
		t.Fatal(err)
	}
	// PyTorch default: U(±1/√784) for weight and bias; variance bound²/3.
	bound := 1 / math.Sqrt(784)
	var mean, sq float64
	for _, v := range a.Params {
		if math.Abs(v) > bound {
			t.Fatalf("parameter %g outside ±%g", v, bound)
		}
		mean += v
		sq += v * v
	}
	m := float64(len(a.Params))
	if v := sq / m; math.Abs(v-bound*bound/3) > 0.05*bound*bound/3 {
		t.Fatalf("variance %g, want %g", v, bound*bound/3)
	}
	b, _ := s.NewArena(7)
	c, _ := s.NewArena(8)
	if fmt.Sprint(a.Params[:5]) != fmt.Sprint(b.Params[:5]) || fmt.Sprint(a.Params[:5]) == fmt.Sprint(c.Params[:5]) {
		t.Fatal("Init is not a function of the seed")
	}
}

// TestDeterministic checks that two runs give bit-identical sources.
func TestDeterministic(t *testing.T) {
	const n = 64
	var prev []float64
	for run := 0; run < 3; run++ {
		s, a, x, y := build(t, testModels[1], n, 11)
		s.SetGradMode(Materialized)
		out := s.Forward(x, n)
		d := make([]float64, len(out))
		SoftmaxCrossEntropy(out, y, 3, nil, d)
		var got []float64
		s.Backward(d, func(l int, src optimizer.GradSource[float64]) error {
			nm := make([]float64, n)
			src.Norms(nm)
			src.AddWeighted(a.Grad(l), nm)
			got = append(got, nm...)
			return nil
		})
		got = append(got, a.Grads...)
		if prev != nil {
			for i := range got {
				if math.Float64bits(got[i]) != math.Float64bits(prev[i]) {
					t.Fatalf("run %d differs at %d: %v vs %v", run, i, got[i], prev[i])
				}
			}
		}
		prev = got
	}
}

func TestNonFiniteNorms(t *testing.T) {
	for _, mode := range []GradMode{Ghost, Materialized} {
		s, _, x, y := build(t, testModels[0], 3, 1)
		s.SetGradMode(mode)
		x[5] = math.Inf(1) // sample 1
		out := s.Forward(x, 3)
		d := make([]float64, len(out))
		SoftmaxCrossEntropy(out, y, 3, nil, d)
		s.Backward(d, nil)
		nm := make([]float64, 3)
		s.Sources()[0].Norms(nm)
		if !(math.IsNaN(nm[1]) || math.IsInf(nm[1], 1)) || math.IsNaN(nm[0]) || math.IsInf(nm[0], 0) {
			t.Fatalf("%v: norms %v, want sample 1 NaN or +Inf and sample 0 finite", mode, nm)
		}
	}
}

func TestAllocsPerStep(t *testing.T) {
	s, a, x, y := build(t, testModels[1], 16, 1)
	d := make([]float64, 16*3)
	nm := make([]float64, 16)
	step := func() {
		out := s.Forward(x, 16)
		SoftmaxCrossEntropy(out, y, 3, nil, d)
		s.Backward(d, func(l int, src optimizer.GradSource[float64]) error {
			src.Norms(nm)
			src.AddWeighted(a.Grad(l), nm)
			return nil
		})
	}
	step()
	// Goroutine fan-out costs a few small allocations per parallel loop;
	// any buffer reallocation would cost one per layer buffer and more.
	if got := testing.AllocsPerRun(10, step); got > 40 {
		t.Fatalf("%v allocations per step; buffers are being reallocated", got)
	}
}

// TestMixedCostModel checks the per-layer choice on the benchmark CNN by
// hand. Materialising costs L·C_out·K + C_out·K + C_out per sample, ghost
// L²(C_out+K) + L·C_out·K, where L is the number of output positions and
// K = C_in·kh·kw. conv1: L = 196, C_out = 16, K = 64: ghost costs
// 196²·80 ≫ 1040 more, so it is materialised. conv2: L = 25, C_out = 32,
// K = 256: 625·288 = 180,000 > 8224, materialised too. A convolution with a
// single output position is ghost, and Linear layers always are.
func TestMixedCostModel(t *testing.T) {
	tests := []struct {
		conv  *Conv2d[float64]
		in    []int
		ghost bool
	}{
		{NewConv2d[float64](1, 16, 8, 2, 3), []int{1, 28, 28}, false},
		{NewConv2d[float64](16, 32, 4, 2, 0), []int{16, 13, 13}, false},
		{NewConv2d[float64](32, 64, 4, 1, 0), []int{32, 4, 4}, true}, // L = 1
		{NewConv2d[float64](1, 1, 2, 1, 0), []int{1, 2, 2}, false},   // L = 1, C_out = 1: 5 is not < 4 + 1
		{NewConv2d[float64](64, 8, 3, 1, 0), []int{64, 4, 4}, false}, // L = 4: 16·584 > 4616
	}
	for _, tt := range tests {
		if _, err := tt.conv.setup(tt.in); err != nil {
			t.Fatal(err)
		}
		if got := tt.conv.UsesGhost(); got != tt.ghost {
			t.Errorf("%s on %v: UsesGhost() = %v, want %v", tt.conv.Kind(), tt.in, got, tt.ghost)
		}
	}
	s, err := benchCNN[float64]()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.NewArena(1); err != nil {
		t.Fatal(err)
	}
	x := make([]float64, 2*784)
	out := s.Forward(x, 2)
	d := make([]float64, len(out))
	SoftmaxCrossEntropy(out, []int{1, 2}, 10, nil, d)
	s.Backward(d, nil)
	srcs := s.Sources()
	for l := 0; l < 2; l++ {
		if _, ok := srcs[l].(*convExplicit[float64]); !ok {
			t.Errorf("conv layer %d source is %T, want materialised", l, srcs[l])
		}
	}
	for l := 2; l < 4; l++ {
		if _, ok := srcs[l].(*linearGhost[float64]); !ok {
			t.Errorf("layer %d source is %T, want ghost", l, srcs[l])
		}
	}
}
