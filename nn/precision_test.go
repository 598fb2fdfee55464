package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dpmpi/dpmpi/optimizer"
)

// Float32 tolerances
//
// The float32 tests run a computation in float32 and in float64 on the same
// values (float32-representable inputs and parameters) and compare. With
// u = 2⁻²⁴ the unit roundoff of float32, a dot product of k terms computed
// in float32 is within k·u·Σ|terms| of the exact one (Higham, Accuracy and
// Stability of Numerical Algorithms, §3.1; the float64 result is exact by
// comparison). Σ|terms| is not known element by element, so the tests use
// the normwise form |a₃₂ − a₆₄| ≤ c·K·u·‖a₆₄‖∞ over a whole result, where K
// bounds the number of roundings on the way to it:
//
//   - one layer: K = its per-sample input size plus its output size (no
//     dot product of a layer, forward, backward or per-sample gradient,
//     has more terms than that), plus the batch size n for the sums over
//     samples (weighted sums, batch gradients);
//   - a model: K summed over its layers, since to first order the relative
//     errors of successive layers add.
//
// The element-wise functions (tanh in vecmath's float32 kernel, GELU,
// SiLU, ELU evaluated in float64 and rounded) add a few u each, well inside
// one u per term of K. c = 4 leaves room for the errors of the sums being
// relative to their terms rather than to the result (|Σ terms| can be
// smaller than Σ|terms|), which the normwise ‖a₆₄‖∞ only partly covers on
// these random models; measured, the largest error is about 4% of the
// bound. (The normwise form assumes results not much smaller than their
// terms: it does not hold for GroupNorm over groups of two values, whose
// input gradient cancels to O(ε/σ²) of its terms, so the layer cases
// normalise groups of four or more.) A wrong index, a missing term or a float32 result
// read as float64 gives an error of the order of ‖a₆₄‖∞ itself, some 10⁴
// times the bound on the largest model (K·u ≈ 2·10⁻⁴ there).
const tolC = 4

// unit32 is float32's unit roundoff, 2⁻²⁴.
const unit32 = 1.0 / (1 << 24)

// checkClose reports the elements of got (float32 results, converted) that
// are further than tolC·k·u·‖want‖∞ from want.
func checkClose(t *testing.T, what string, got, want []float64, k int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	var scale float64
	for _, v := range want {
		scale = max(scale, math.Abs(v))
	}
	tol := tolC * float64(k) * unit32 * scale
	bad := 0
	for i := range want {
		if d := math.Abs(got[i] - want[i]); !(d <= tol) {
			if bad < 3 {
				t.Errorf("%s[%d]: float32 %.9g, float64 %.17g: |Δ| = %.3g > %.3g (K = %d, ‖·‖∞ = %.3g)", what, i, got[i], want[i], d, tol, k, scale)
			}
			bad++
		}
	}
	if bad > 3 {
		t.Errorf("%s: %d values out of tolerance", what, bad)
	}
}

// to64 returns x as float64 values.
func to64[F Float](x []F) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// modelResult is what the float32 and float64 runs of a model are compared
// on.
type modelResult struct {
	out, loss, dout []float64
	// norms[mode][layer], sums[mode][layer]: per-sample norms and the
	// weighted sum Σ_i w_i g_i of each arena layer's source.
	norms, sums [][][]float64
	// clip[layer]: ClipAdd's sum where the Mixed source offers it.
	clip  [][]float64
	batch []float64 // BackwardSum's gradient
}

var precisionModes = []GradMode{Ghost, Materialized, Mixed}

// runModel runs the model of tm in precision F on n samples, parameters
// and inputs rounded to float32 (so that both precisions see the same
// values), and collects a modelResult. It also returns K, the tolerance's
// rounding count (see Float32 tolerances).
func runModel[F Float](t *testing.T, tm testModel, n int) (modelResult, int) {
	s, a, x, y := buildAs[F](t, tm, n, 3, true)
	r := rand.New(rand.NewPCG(5, 6))
	w := make([]float64, n)
	for i := range w {
		w[i] = float64(float32(r.Float64()))
	}
	var res modelResult
	backward := func(mode GradMode, ready func(int, optimizer.GradSource[F]) error) []F {
		s.SetGradMode(mode)
		out := s.Forward(x, n)
		d := make([]F, len(out))
		loss := make([]F, n)
		if err := SoftmaxCrossEntropy(out, y, tm.class, loss, d); err != nil {
			t.Fatal(err)
		}
		if res.out == nil {
			res.out, res.loss, res.dout = to64(out), to64(loss), to64(d)
		}
		if err := s.Backward(d, ready); err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, mode := range precisionModes {
		backward(mode, nil)
		var norms, sums [][]float64
		for l, src := range s.Sources() {
			nm := make([]float64, n)
			src.Norms(nm)
			g := make([]F, a.Layers[l].Len)
			src.AddWeighted(g, w)
			norms, sums = append(norms, nm), append(sums, to64(g))
		}
		res.norms, res.sums = append(res.norms, norms), append(res.sums, sums)
	}
	res.clip = make([][]float64, len(a.Layers))
	d := backward(Mixed, func(l int, src optimizer.GradSource[F]) error {
		if ca, ok := src.(optimizer.ClipAdder[F]); ok {
			g := make([]F, a.Layers[l].Len)
			ca.ClipAdd(g, 0.5, make([]float64, n), make([]float64, n))
			res.clip[l] = to64(g)
		}
		return nil
	})
	clear(a.Grads)
	if err := s.BackwardSum(d); err != nil {
		t.Fatal(err)
	}
	res.batch = to64(a.Grads)
	k := n
	for j := range s.layers {
		k += s.sizes[j] + s.sizes[j+1]
	}
	return res, k
}

// float32Models are the models of the float32 comparisons: every test
// model, and the benchmark MLP and CNN.
func float32Models() []testModel {
	return append(append([]testModel(nil), testModels...),
		testModel{"mlp-784", []int{784}, 10}, testModel{"cnn-28", []int{1, 28, 28}, 10})
}

// TestFloat32MatchesFloat64 runs every test model (the MLP, the CNNs, the
// residual GroupNorm models and the others) in both precisions on the same
// parameters and inputs and compares outputs, losses, output errors,
// per-sample norms and weighted sums in every grad mode, ClipAdd and the
// batch gradient, within the tolerance above. It also checks that the
// float32 ghost and materialised sources agree with each other, within
// twice it (each is within it of float64).
func TestFloat32MatchesFloat64(t *testing.T) {
	const n = 13 // several samples per worker, parallel loops with a remainder
	for _, tm := range float32Models() {
		t.Run(tm.name, func(t *testing.T) {
			r64, k := runModel[float64](t, tm, n)
			r32, _ := runModel[float32](t, tm, n)
			checkClose(t, "output", r32.out, r64.out, k)
			checkClose(t, "loss", r32.loss, r64.loss, k)
			checkClose(t, "dlogits", r32.dout, r64.dout, k)
			for m, mode := range precisionModes {
				for l := range r64.norms[m] {
					checkClose(t, fmt.Sprintf("%v layer %d norms", mode, l), r32.norms[m][l], r64.norms[m][l], k)
					checkClose(t, fmt.Sprintf("%v layer %d weighted sum", mode, l), r32.sums[m][l], r64.sums[m][l], k)
				}
			}
			for l := range r64.norms[0] {
				checkClose(t, fmt.Sprintf("float32 ghost against materialised, layer %d norms", l), r32.norms[0][l], r32.norms[1][l], 2*k)
				checkClose(t, fmt.Sprintf("float32 ghost against materialised, layer %d weighted sum", l), r32.sums[0][l], r32.sums[1][l], 2*k)
				if (r32.clip[l] == nil) != (r64.clip[l] == nil) {
					t.Errorf("layer %d: ClipAdd offered in one precision only", l)
				} else if r64.clip[l] != nil {
					checkClose(t, fmt.Sprintf("layer %d ClipAdd", l), r32.clip[l], r64.clip[l], k)
				}
			}
			checkClose(t, "batch gradient", r32.batch, r64.batch, k)
		})
	}
}

// layerCases are the layers of TestFloat32Layers, one of every kind (and
// both forms of the convolution products), with their input shapes.
var layerCases = []struct {
	name string
	in   []int
}{
	{"linear", []int{13}},
	{"conv2d", []int{2, 7, 6}},        // unrolled input, BLAS (Out not a multiple of 8)
	{"conv2d-vector", []int{2, 9, 9}}, // GemmGatherA and GemmGather (K = 4, Out = 8)
	{"conv2d-ghost", []int{3, 3, 3}},  // one output position: ghost in Mixed mode
	{"stdconv2d", []int{2, 6, 6}},     // weight standardisation
	{"conv1d", []int{3, 11}},          // materialised in Mixed mode
	{"conv1d-ghost", []int{4, 5}},     // Lo² < Out·In·K: ghost
	{"embedding", []int{6}},           // token indices
	{"groupnorm", []int{4, 3, 3}},     // groups of channels
	{"layernorm", []int{10}},          // the whole sample
	{"residual", []int{4, 5, 5}},      // 1×1-convolution shortcut
	{"relu", []int{17}},               //
	{"tanh", []int{17}},               //
	{"gelu", []int{17}},               //
	{"silu", []int{17}},               //
	{"elu", []int{17}},                //
	{"dropout", []int{17}},            // training mode
	{"maxpool2d", []int{2, 6, 7}},     // vecmath.MaxPool2
	{"maxpool2d-3", []int{2, 7, 7}},   // 3×3 windows, stride 2
	{"avgpool2d", []int{2, 6, 6}},     //
	{"globalavgpool", []int{3, 4, 4}}, //
	{"flatten", []int{2, 3, 3}},       //
	{"linear-wide", []int{300}},       // gemmPar splits the products
	{"conv2d-k8", []int{1, 12, 12}},   // 8×8 kernel, padded
	{"maxpool2d-s2", []int{3, 8, 8}},  // 2×2 windows, stride 2
	{"avgpool2d-s1", []int{1, 5, 5}},  // overlapping windows
	{"groupnorm-vec", []int{8}},       // GroupNorm on vectors
	{"residual-identity", []int{20}},  // identity shortcut, a block inside
}

// caseLayer returns the layer of the named layerCase.
func caseLayer[F Float](name string) Layer[F] {
	switch name {
	case "linear":
		return NewLinear[F](13, 5)
	case "linear-wide":
		return NewLinear[F](300, 200)
	case "conv2d":
		return NewConv2d[F](2, 3, 3, 2, 1)
	case "conv2d-vector":
		return NewConv2d[F](2, 8, 4, 1, 1)
	case "conv2d-ghost":
		return NewConv2d[F](3, 5, 3, 1, 0)
	case "conv2d-k8":
		return NewConv2d[F](1, 8, 8, 2, 3)
	case "stdconv2d":
		return NewStdConv2d[F](2, 8, 3, 1, 1)
	case "conv1d":
		return NewConv1d[F](3, 4, 3, 2, 1)
	case "conv1d-ghost":
		return NewConv1d[F](4, 6, 3, 1, 0)
	case "embedding":
		return NewEmbedding[F](5, 4)
	case "groupnorm":
		return NewGroupNorm[F](2, 4)
	case "groupnorm-vec":
		return NewGroupNorm[F](2, 8)
	case "layernorm":
		return NewLayerNorm[F]()
	case "residual":
		return Residual(NewConv2d[F](4, 8, 1, 2, 0), NewConv2d[F](4, 8, 3, 2, 1), NewGroupNorm[F](2, 8), SiLU[F]())
	case "residual-identity":
		return Residual(nil, NewLinear[F](20, 20), Tanh[F](), Residual(nil, NewLinear[F](20, 20), ELU[F](0.5)))
	case "relu":
		return ReLU[F]()
	case "tanh":
		return Tanh[F]()
	case "gelu":
		return GELU[F]()
	case "silu":
		return SiLU[F]()
	case "elu":
		return ELU[F](0.7)
	case "dropout":
		return Dropout[F](0.4)
	case "maxpool2d":
		return NewMaxPool2d[F](2, 1)
	case "maxpool2d-3":
		return NewMaxPool2d[F](3, 2)
	case "maxpool2d-s2":
		return NewMaxPool2d[F](2, 2)
	case "avgpool2d":
		return NewAvgPool2d[F](2, 2)
	case "avgpool2d-s1":
		return NewAvgPool2d[F](3, 1)
	case "globalavgpool":
		return GlobalAvgPool[F]()
	case "flatten":
		return Flatten[F]()
	}
	panic("nn: no layer case " + name)
}

// layerResult is what the float32 and float64 runs of one layer are
// compared on: its output, its input gradient (nil for an Embedding) and,
// for each of its parameter layers (several in a residual block), the
// per-sample norms and weighted sums in each grad mode and the batch
// gradient.
type layerResult struct {
	y, dx        []float64
	norms, sums  [][][]float64 // [param layer][mode]
	batch        [][]float64   // [param layer]
	inSize, size int
}

// runLayer runs the named layer on its own in precision F on n samples:
// forward, backward with an input gradient and, for a layer with
// parameters, its sources. Every input value, parameter and output error
// is drawn in float64 and rounded to float32.
func runLayer[F Float](t *testing.T, name string, in []int, n int) layerResult {
	r := rand.New(rand.NewPCG(11, 12))
	draw := func(scale float64) F { return F(float32(scale * r.NormFloat64())) }
	l := caseLayer[F](name)
	out, err := l.setup(in)
	if err != nil {
		t.Fatal(err)
	}
	var params []paramLayer[F]
	switch p := l.(type) {
	case paramLayer[F]:
		params = []paramLayer[F]{p}
	case nestedLayer[F]:
		params, _ = p.nestedParams()
	}
	for _, p := range params {
		w := make([]F, p.numParams())
		for i := range w {
			w[i] = draw(0.5)
		}
		p.bind(w)
		p.grow(n)
	}
	if d, ok := l.(*dropout[F]); ok {
		ids := make([]uint64, n)
		for i := range ids {
			ids[i] = uint64(3 * i)
		}
		d.ctx, d.salt = &dropoutCtx{training: true, active: true, seed: 1, step: 2, ids: ids}, 1
	}
	res := layerResult{inSize: prod(in), size: prod(out)}
	x := make([]F, n*res.inSize)
	for i := range x {
		x[i] = draw(1)
	}
	var dx []F
	if e, ok := l.(*Embedding[F]); ok {
		for i := range x {
			x[i] = F(r.IntN(e.Vocab))
		}
	} else {
		dx = make([]F, len(x))
	}
	y := make([]F, n*res.size)
	dy := make([]F, len(y))
	for i := range dy {
		dy[i] = draw(1)
	}
	w := make([]float64, n)
	for i := range w {
		w[i] = float64(float32(r.Float64()))
	}
	l.forward(x, y, n)
	l.backward(x, y, dy, dx, n)
	res.y, res.dx = to64(y), to64(dx)
	res.norms = make([][][]float64, len(params))
	res.sums = make([][][]float64, len(params))
	res.batch = make([][]float64, len(params))
	emit := func(j int) error {
		p := params[j]
		for _, mode := range precisionModes {
			src := p.source(mode)
			nm := make([]float64, n)
			src.Norms(nm)
			g := make([]F, p.numParams())
			src.AddWeighted(g, w)
			res.norms[j], res.sums[j] = append(res.norms[j], nm), append(res.sums[j], to64(g))
		}
		g := make([]F, p.numParams())
		p.accumulate(g)
		res.batch[j] = to64(g)
		return nil
	}
	switch p := l.(type) {
	case paramLayer[F]:
		p.beginBackward(x, dy, n)
		emit(0)
	case nestedLayer[F]:
		if err := p.backwardNested(x, y, dy, nil, n, emit); err != nil {
			t.Fatal(err)
		}
	}
	return res
}

// TestFloat32Layers compares every kind of layer on its own in float32 and
// float64 on the same values: output, input gradient and, for the layers
// with parameters, per-sample norms and weighted sums in every grad mode
// and the batch gradient, within the tolerance above (K = the layer's
// input and output sizes, plus the batch size, for a block the sizes of
// every layer inside). The float32 ghost and materialised forms must agree
// with each other within twice it.
func TestFloat32Layers(t *testing.T) {
	const n = 9
	for _, c := range layerCases {
		t.Run(c.name, func(t *testing.T) {
			r64 := runLayer[float64](t, c.name, c.in, n)
			r32 := runLayer[float32](t, c.name, c.in, n)
			k := r64.inSize + r64.size + n
			if rl, ok := caseLayer[float64](c.name).(*residual[float64]); ok {
				rl.setup(c.in)
				for _, s := range rl.sizes {
					k += 2 * s
				}
			}
			checkClose(t, "output", r32.y, r64.y, k)
			checkClose(t, "input gradient", r32.dx, r64.dx, k)
			for j := range r64.norms {
				for m, mode := range precisionModes {
					checkClose(t, fmt.Sprintf("param layer %d %v norms", j, mode), r32.norms[j][m], r64.norms[j][m], k)
					checkClose(t, fmt.Sprintf("param layer %d %v weighted sum", j, mode), r32.sums[j][m], r64.sums[j][m], k)
				}
				checkClose(t, fmt.Sprintf("param layer %d float32 ghost against materialised norms", j), r32.norms[j][0], r32.norms[j][1], 2*k)
				checkClose(t, fmt.Sprintf("param layer %d float32 ghost against materialised weighted sum", j), r32.sums[j][0], r32.sums[j][1], 2*k)
				checkClose(t, fmt.Sprintf("param layer %d batch gradient", j), r32.batch[j], r64.batch[j], k)
			}
		})
	}
}

// TestFloat32Init checks that a float32 model starts at the float32
// rounding of the float64 model initialised with the same seed, for every
// kind of parameter layer (Linear, Conv2d, Conv1d, Embedding's N(0, 1),
// GroupNorm's ones and zeros), and that Init and the state dict agree.
func TestFloat32Init(t *testing.T) {
	for _, tm := range float32Models() {
		t.Run(tm.name, func(t *testing.T) {
			s64, _ := NewSequential[float64](tm.in, testLayers[float64](tm.name)...)
			s32, _ := NewSequential[float32](tm.in, testLayers[float32](tm.name)...)
			a64, err := s64.NewArena(21)
			if err != nil {
				t.Fatal(err)
			}
			a32, err := s32.NewArena(21)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range a64.Params {
				if a32.Params[i] != float32(v) {
					t.Fatalf("parameter %d: float32 %v, want float32(%v) = %v", i, a32.Params[i], v, float32(v))
				}
			}
		})
	}
}

// TestFloat32StateDict checks that a float32 model's state dict holds its
// parameters exactly as float64 copies, that loading it into another
// float32 model reproduces them bit for bit, and that loading float64
// values rounds them to the nearest float32.
func TestFloat32StateDict(t *testing.T) {
	tm := testModels[1]
	s, a, _, _ := buildAs[float32](t, tm, 1, 3, false)
	ts, err := s.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	var flat []float64
	for _, tn := range ts {
		flat = append(flat, tn.Data...)
	}
	for i, v := range a.Params {
		if flat[i] != float64(v) {
			t.Fatalf("value %d: state dict %v, parameter %v", i, flat[i], v)
		}
	}
	ts[0].Data[0] = 1 + 0x1p-30 // not a float32: rounds to 1
	s2, a2, _, _ := buildAs[float32](t, tm, 1, 4, false)
	if err := s2.LoadStateDict(ts); err != nil {
		t.Fatal(err)
	}
	if a2.Params[0] != 1 {
		t.Errorf("loaded %v, want 1 (1 + 2⁻³⁰ rounded to float32)", a2.Params[0])
	}
	for i := 1; i < len(a.Params); i++ {
		if a2.Params[i] != a.Params[i] {
			t.Fatalf("value %d: loaded %v, want %v", i, a2.Params[i], a.Params[i])
		}
	}
	// A float64 model's state dict stays a view of its arena.
	s64, a64, _, _ := build(t, tm, 1, 3)
	ts64, _ := s64.StateDict()
	ts64[0].Data[0] = 42
	if a64.Params[0] != 42 {
		t.Error("a float64 model's state dict is not a view of its arena")
	}
}

// TestFloat32Trains runs a few dozen steps of plain SGD with per-sample
// clipping (no noise) on a small float32 MLP and CNN over a synthetic,
// learnable problem (the label is the sign pattern of fixed projections of
// the input), and checks that the mean loss falls by a clear margin; a
// broken float32 gradient (wrong sign, wrong layer, garbage) does not.
func TestFloat32Trains(t *testing.T) {
	models := []testModel{{"mlp", []int{5}, 3}, {"cnn-vector", []int{2, 7, 7}, 3}, {"residual", []int{4, 6, 6}, 3}}
	for _, tm := range models {
		t.Run(tm.name, func(t *testing.T) {
			const n, steps, lr, clip = 64, 40, 0.2, 1.0
			s, a, x, _ := buildAs[float32](t, tm, n, 5, false)
			s.SetGradMode(Mixed)
			// Labels from the input: the class whose projection is largest.
			size := prod(tm.in)
			r := rand.New(rand.NewPCG(8, 9))
			proj := make([]float32, tm.class*size)
			for i := range proj {
				proj[i] = float32(r.NormFloat64())
			}
			y := make([]int, n)
			for i := range y {
				best := float32(math.Inf(-1))
				for c := range tm.class {
					var v float32
					for j, p := range proj[c*size : (c+1)*size] {
						v += p * x[i*size+j]
					}
					if v > best {
						best, y[i] = v, c
					}
				}
			}
			d := make([]float32, n*tm.class)
			loss := make([]float32, n)
			norms, factors := make([]float64, n), make([]float64, n)
			mean := func() float64 {
				var m float64
				for _, v := range loss {
					m += float64(v)
				}
				return m / n
			}
			var first float64
			for step := range steps {
				out := s.Forward(x, n)
				if err := SoftmaxCrossEntropy(out, y, tm.class, loss, d); err != nil {
					t.Fatal(err)
				}
				if step == 0 {
					first = mean()
				}
				clear(a.Grads)
				err := s.Backward(d, func(l int, src optimizer.GradSource[float32]) error {
					src.Norms(norms)
					for i, v := range norms {
						factors[i] = optimizer.ClipFactor(clip, v)
					}
					src.AddWeighted(a.Grad(l), factors)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				for i, g := range a.Grads {
					a.Params[i] -= lr / n * g
				}
			}
			s.Forward(x, n)
			out := s.Forward(x, n)
			SoftmaxCrossEntropy(out, y, tm.class, loss, d)
			if last := mean(); !(last < 0.8*first) {
				t.Errorf("mean loss %.4f after %d steps, %.4f before: not learning", last, steps, first)
			} else {
				t.Logf("mean loss %.4f → %.4f", first, last)
			}
		})
	}
}

// allocsPerStep returns the allocations of one steady-state step (forward,
// loss, a private and a non-private backward pass) of the model in
// precision F.
func allocsPerStep[F Float](t *testing.T, tm testModel) float64 {
	const n = 16
	s, a, x, y := buildAs[F](t, tm, n, 1, false)
	d := make([]F, n*tm.class)
	nm := make([]float64, n)
	step := func() {
		out := s.Forward(x, n)
		SoftmaxCrossEntropy(out, y, tm.class, nil, d)
		s.Backward(d, func(l int, src optimizer.GradSource[F]) error {
			src.Norms(nm)
			src.AddWeighted(a.Grad(l), nm)
			return nil
		})
		s.BackwardSum(d)
	}
	step()
	return testing.AllocsPerRun(10, step)
}

// TestFloat32AllocsPerStep checks, as TestAllocsPerStep does for float64,
// that a steady-state float32 step allocates only the few small values of
// its goroutine fan-out, and no more than the float64 step of the same
// model (gonum's GEMMs start goroutines of their own on large products, in
// both precisions alike).
func TestFloat32AllocsPerStep(t *testing.T) {
	for _, tm := range []testModel{testModels[1], {"mlp-784", []int{784}, 10}} {
		t.Run(tm.name, func(t *testing.T) {
			a64, a32 := allocsPerStep[float64](t, tm), allocsPerStep[float32](t, tm)
			if a32 > a64+4 {
				t.Errorf("%v allocations per float32 step, %v per float64 step", a32, a64)
			}
			if tm.name == "cnn" && a32 > 60 {
				t.Errorf("%v allocations per step; buffers are being reallocated", a32)
			}
			t.Logf("allocations per step: float64 %v, float32 %v", a64, a32)
		})
	}
}
