package nn

import (
	"fmt"
	"math/rand/v2"

	dseed "github.com/dpmpi/dpmpi/internal/seed"

	"github.com/dpmpi/dpmpi/internal/parallel"
	"github.com/dpmpi/dpmpi/optimizer"
)

// Sequential is a model over elements of type F (float32 or float64) that
// applies its layers in order. It owns the
// activation and error buffers of every layer, sized for the largest batch
// seen so far and reused between steps.
//
// Its parameters live in an optimizer.Arena, one arena layer per Linear or
// Conv2d layer in model order; Specs describes them and Bind attaches the
// model to an arena built from them.
type Sequential[F Float] struct {
	layers []Layer[F]
	shapes [][]int // shapes[k] is the per-sample input shape of layer k; shapes[len] the output
	sizes  []int   // prod(shapes[k])
	arena  []int   // arena layer index of layer k, or -1
	params []paramLayer[F]
	names  []string

	mode  GradMode
	bound *optimizer.Arena[F]
	cap   int
	n     int
	acts  [][]F // acts[0] is the caller's input; acts[k+1] the output of layer k
	errs  [][]F // errs[k+1] is dL/d acts[k+1]; errs[len] is the caller's seed

	// fused[k]: layer k is a Tanh followed by a max pooling layer, and the
	// pooling layer's backward pass goes through both (see
	// pool2d.backwardTanhSamples). dead[k]: activation k is passed between
	// two sample layers in cache and read by no backward pass, so it has
	// no batch buffer, only one sample's scratch per worker (scratch[w][k]).
	fused, dead []bool
	scratch     [][][]F
	// errScratch[w][k] holds one sample's error k for worker w inside a
	// backward run, where the error is passed between two layers of the
	// run and never needs a batch buffer.
	errScratch [][][]F
	srcs       []optimizer.GradSource[F]
	state      int // 0 nothing, 1 after forward, 2 after backward

	// mult is the augmentation multiplicity (rows per sample of the
	// sources; 0 or 1: none) and groups the grouped sources' state, one
	// per arena layer (see SetMultiplicity).
	mult   int
	groups []groupState[F]

	// drop is read by the model's Dropout layers (dropouts, in a residual
	// branch too): the training mode and the samples' keys.
	drop     dropoutCtx
	dropouts int
}

// NewSequential checks that the layers fit together for per-sample inputs of
// shape in (for example [784] or [1, 28, 28]) and returns the model. The
// model is not usable until it is bound to an arena (see Specs and Bind, or
// NewArena).
func NewSequential[F Float](in []int, layers ...Layer[F]) (*Sequential[F], error) {
	if len(layers) == 0 {
		return nil, fmt.Errorf("nn: NewSequential: no layers")
	}
	if len(in) == 0 || prod(in) <= 0 {
		return nil, fmt.Errorf("nn: NewSequential: input shape %v must have positive dimensions", in)
	}
	s := &Sequential[F]{layers: layers}
	shape := append([]int(nil), in...)
	s.shapes = append(s.shapes, shape)
	s.sizes = append(s.sizes, prod(shape))
	for k, l := range layers {
		if l == nil {
			return nil, fmt.Errorf("nn: NewSequential: layer %d is nil", k)
		}
		out, err := l.setup(shape)
		if err != nil {
			return nil, fmt.Errorf("nn: layer %d (%s): %w", k, l.Kind(), err)
		}
		shape = out
		s.shapes = append(s.shapes, shape)
		s.sizes = append(s.sizes, prod(shape))
		if _, data := l.(interface{ takesData() }); data && len(s.params) > 0 {
			return nil, fmt.Errorf("nn: layer %d (%s) takes data (token indices) as input, but layer %s before it has parameters, whose gradient would have to pass through it; put the %s first", k, l.Kind(), s.names[0], l.Kind())
		}
		switch p := l.(type) {
		case paramLayer[F]:
			s.arena = append(s.arena, len(s.params))
			s.params = append(s.params, p)
			s.names = append(s.names, fmt.Sprintf("%d.%s", k, l.Kind()))
		case nestedLayer[F]:
			// The layers inside get arena layers of their own, in order;
			// arena[k] is the first of them.
			ps, names := p.nestedParams()
			if len(ps) == 0 {
				s.arena = append(s.arena, -1)
			} else {
				s.arena = append(s.arena, len(s.params))
			}
			for i := range ps {
				s.params = append(s.params, ps[i])
				s.names = append(s.names, fmt.Sprintf("%d.%s.%s", k, names[i], ps[i].Kind()))
			}
		default:
			s.arena = append(s.arena, -1)
		}
	}
	for i, l := range layers {
		switch l.(type) {
		case relu[F], tanh[F], flatten[F]: // stateless values may repeat
			continue
		}
		for j := 0; j < i; j++ {
			if layers[j] == l {
				return nil, fmt.Errorf("nn: NewSequential: layers %d and %d are the same value; build one layer per position", j, i)
			}
		}
	}
	s.srcs = make([]optimizer.GradSource[F], len(s.params))
	s.planActivations()
	// Each Dropout layer draws its masks with its own salt: its position
	// in a depth-first walk over the layers and residual branches.
	pos := 0
	var walk func([]Layer[F])
	walk = func(ls []Layer[F]) {
		for _, l := range ls {
			pos++
			switch d := l.(type) {
			case *dropout[F]:
				d.ctx, d.salt = &s.drop, uint64(pos)
				s.dropouts++
			case *residual[F]:
				walk(d.branch)
			}
		}
	}
	walk(layers)
	return s, nil
}

// SetTraining switches the model between training mode (on) and evaluation
// mode, the default. The mode matters only to Dropout layers, which are the
// identity in evaluation mode, as PyTorch's are under model.eval(). A
// Forward uses the mode set before it, and the Backward after it that
// Forward's mode. In training mode every Forward needs the samples' keys
// (SetDropoutKeys) when the model holds a Dropout layer.
func (s *Sequential[F]) SetTraining(on bool) { s.drop.training = on }

// Training reports whether the model is in training mode.
func (s *Sequential[F]) Training() bool { return s.drop.training }

// SetDropoutKeys gives the keys of the samples of the next Forward in
// training mode: ids[i] identifies sample i of the batch (its index in the
// data set, say), step the pass (the logical step number) and seed the run.
// The dropout mask of a sample is a hash of (seed, step, ids[i], the
// layer's position, the value's offset), so it does not depend on the
// batch's composition, on how the batch is split over ranks or physical
// batches, or on the number of workers: a run at W ranks draws the masks
// of the run at one rank, and a resumed run those of an uninterrupted one.
// The masks do not depend on the data, so per-sample clipping bounds each
// sample's influence as it does without dropout. ids is copied; the keys
// hold until the next call. Forward panics in training mode if the model
// holds a Dropout layer and len(ids) is not the batch size.
func (s *Sequential[F]) SetDropoutKeys(seed, step uint64, ids []int) {
	s.drop.seed, s.drop.step = seed, step
	s.drop.ids = s.drop.ids[:0]
	for _, id := range ids {
		s.drop.ids = append(s.drop.ids, uint64(id))
	}
}

// planActivations sets fused and dead. An activation between two sample
// layers is dead when neither the backward pass of the layer that makes it
// nor that of the layer that reads it (nor a per-sample gradient source)
// needs it: only Conv2d reads its input and only the activation functions
// their output, except a Tanh fused with the max pooling after it, whose
// pooling layer reads its own output instead.
func (s *Sequential[F]) planActivations() {
	L := len(s.layers)
	s.fused = make([]bool, L)
	s.dead = make([]bool, L+1)
	for k := 0; k+1 < L; k++ {
		_, th := s.layers[k].(tanh[F])
		p, pool := s.layers[k+1].(*pool2d[F])
		s.fused[k] = th && pool && p.max
	}
	readsInput := func(k int) bool {
		switch s.layers[k].(type) {
		case tanh[F], relu[F], *pool2d[F], flatten[F], *dropout[F]:
			return false
		}
		return true
	}
	readsOutput := func(k int) bool {
		switch s.layers[k].(type) {
		case tanh[F]:
			return !s.fused[k]
		case *pool2d[F]:
			return k > 0 && s.fused[k-1]
		case *Conv2d[F], flatten[F], *dropout[F]:
			return false
		}
		return true
	}
	for j := 1; j < L; j++ {
		_, a := s.layers[j-1].(sampleLayer[F])
		_, b := s.layers[j].(sampleLayer[F])
		s.dead[j] = a && b && !readsOutput(j-1) && !readsInput(j)
	}
}

// act returns activation k of samples [lo, hi), or nil if it is dead.
func (s *Sequential[F]) act(k, lo, hi int) []F {
	if s.dead[k] {
		return nil
	}
	return s.acts[k][lo*s.sizes[k] : hi*s.sizes[k]]
}

// sampleAct returns activation k of sample i for worker wk: its slice of
// the batch buffer, or the worker's scratch if the activation is dead.
func (s *Sequential[F]) sampleAct(k, i, wk int) []F {
	if s.dead[k] {
		return s.scratch[wk][k]
	}
	return s.acts[k][i*s.sizes[k] : (i+1)*s.sizes[k]]
}

// NewArena builds an arena for the model's parameters, binds the model to it
// and initialises the parameters as PyTorch does by default, from a
// generator seeded with seed (see Init).
func (s *Sequential[F]) NewArena(seed uint64) (*optimizer.Arena[F], error) {
	a, err := optimizer.NewArena[F](s.Specs()...)
	if err != nil {
		return nil, fmt.Errorf("nn: %w", err)
	}
	if err := s.Bind(a); err != nil {
		return nil, err
	}
	s.Init(seed)
	return a, nil
}

// Layers returns the model's layers in order.
func (s *Sequential[F]) Layers() []Layer[F] { return s.layers }

// InShape returns the per-sample input shape.
func (s *Sequential[F]) InShape() []int { return s.shapes[0] }

// OutShape returns the per-sample output shape.
func (s *Sequential[F]) OutShape() []int { return s.shapes[len(s.layers)] }

// NumLayers returns the number of arena layers, that is of Linear and
// Conv2d layers.
func (s *Sequential[F]) NumLayers() int { return len(s.params) }

// Specs describes the model's arena layers, in model order, named
// "<position>.<kind>", for example "0.Linear(784, 512)".
func (s *Sequential[F]) Specs() []optimizer.LayerSpec {
	specs := make([]optimizer.LayerSpec, len(s.params))
	for i, p := range s.params {
		specs[i] = optimizer.LayerSpec{Name: s.names[i], Shape: p.paramShape(), Len: p.numParams()}
	}
	return specs
}

// Bind attaches the model to a: layer l of the model reads its parameters
// from a.Param(l), and the non-private Backward path accumulates into
// a.Grad(l). It returns an error if a's layer table does not match Specs.
func (s *Sequential[F]) Bind(a *optimizer.Arena[F]) error {
	if len(a.Layers) != len(s.params) {
		return fmt.Errorf("nn: Bind: arena has %d layers, model has %d parameter layers; build the arena from Specs()", len(a.Layers), len(s.params))
	}
	for i, p := range s.params {
		if a.Layers[i].Len != p.numParams() {
			return fmt.Errorf("nn: Bind: arena layer %d (%q) holds %d parameters, model layer %s needs %d; build the arena from Specs()", i, a.Layers[i].Name, a.Layers[i].Len, s.names[i], p.numParams())
		}
	}
	for i, p := range s.params {
		p.bind(a.Param(i))
	}
	s.bound = a
	return nil
}

// Init sets every parameter to PyTorch's default initialisation, uniform on
// ±1/√fan_in, drawn from a ChaCha8 generator seeded with seed, layer by
// layer, weight before bias. The values are drawn in float64 and rounded
// to F, so a float32 model starts at the float32 rounding of the float64
// model initialised with the same seed. It panics if the model is not
// bound.
func (s *Sequential[F]) Init(seed uint64) {
	if s.bound == nil {
		panic("nn: Init before Bind")
	}
	r := rand.New(rand.NewChaCha8(dseed.ChaCha8Key(seed)))
	for _, p := range s.params {
		p.initParams(r)
	}
}

// SetGradMode selects the form of the per-sample gradient sources produced
// by Backward. The default is Mixed.
func (s *Sequential[F]) SetGradMode(m GradMode) { s.mode = m }

// GradMode returns the current per-sample gradient form.
func (s *Sequential[F]) GradMode() GradMode { return s.mode }

func (s *Sequential[F]) grow(n int) {
	if n <= s.cap && s.acts != nil {
		return
	}
	L := len(s.layers)
	s.acts = make([][]F, L+1)
	s.errs = make([][]F, L+1)
	for k := 1; k <= L; k++ {
		if !s.dead[k] {
			s.acts[k] = make([]F, n*s.sizes[k])
		}
		if k < L {
			s.errs[k] = make([]F, n*s.sizes[k])
		}
	}
	for _, p := range s.params {
		p.grow(n)
	}
	for _, l := range s.layers {
		if nl, ok := l.(nestedLayer[F]); ok {
			nl.growNested(n)
		}
	}
	s.cap = n
}

// Forward runs the model on a batch of n samples, x holding n·prod(InShape)
// values, and returns the n·prod(OutShape) outputs. The returned slice and
// x must not be modified until the next Forward: backward reads both. It
// panics if len(x) is wrong or the model is not bound.
func (s *Sequential[F]) Forward(x []F, n int) []F {
	if s.bound == nil {
		panic("nn: Forward before Bind")
	}
	if n < 0 || len(x) != n*s.sizes[0] {
		panic(fmt.Sprintf("nn: Forward: len(x) = %d, want n·%d = %d", len(x), s.sizes[0], n*s.sizes[0]))
	}
	s.drop.active = s.drop.training && s.dropouts > 0
	if s.drop.active && len(s.drop.ids) != n {
		panic(fmt.Sprintf("nn: Forward: training mode with Dropout layers needs one key per sample: SetDropoutKeys gave %d, the batch has %d", len(s.drop.ids), n))
	}
	s.grow(n)
	s.n = n
	s.acts[0] = x
	for k := 0; k < len(s.layers); {
		if e := s.sampleRun(k); e-k >= 2 {
			s.forwardRun(k, e, n)
			k = e
			continue
		}
		s.layers[k].forward(s.acts[k][:n*s.sizes[k]], s.acts[k+1][:n*s.sizes[k+1]], n)
		k++
	}
	s.state = 1
	return s.acts[len(s.layers)][:n*s.sizes[len(s.layers)]]
}

// sampleRun returns the end of the run of sample layers that starts at
// layer k (k itself if layer k is not one).
func (s *Sequential[F]) sampleRun(k int) int {
	for k < len(s.layers) {
		if _, ok := s.layers[k].(sampleLayer[F]); !ok {
			break
		}
		k++
	}
	return k
}

// forwardRun runs layers [k, e), all sample layers, on n samples: each
// worker takes its contiguous range of samples and passes one sample at a
// time through the whole chain, so that an activation is read back from
// the cache by the next layer rather than from memory. Every sample goes
// through the same computation as in layer-by-layer order, so the outputs
// are the same.
func (s *Sequential[F]) forwardRun(k, e, n int) {
	for j := k; j < e; j++ {
		s.layers[j].(sampleLayer[F]).prepare(n)
	}
	p := workers()
	for len(s.scratch) < p {
		buf := make([][]F, len(s.layers)+1)
		for j, d := range s.dead {
			if d {
				buf[j] = make([]F, s.sizes[j])
			}
		}
		s.scratch = append(s.scratch, buf)
	}
	parallel.Split(n, workers(), func(wk, lo, hi int) {
		for i := lo; i < hi; i++ {
			for j := k; j < e; j++ {
				s.layers[j].(sampleLayer[F]).forwardSamples(s.sampleAct(j, i, wk), s.sampleAct(j+1, i, wk), i, 1, wk)
			}
		}
	})
}

// backwardRun back-propagates through layers [k, e), all sample layers,
// from errs[e] to errs[k] for n samples: each worker takes its contiguous
// range of samples and passes one sample at a time back through the whole
// chain, so that an error is read back from the cache by the layer below;
// the errors between two layers of the run live only in the worker's
// scratch. With bottom set, the run's output error (bottom's output error)
// lives in scratch too, and bottom forms each sample's gradient from it at
// once (see Conv2d.beginEarly); sum selects the summed form. Every sample
// goes through the same computation as in layer-by-layer order, so the
// errors are the same, except that a Tanh
// followed by max pooling is back-propagated in one step (see
// pool2d.backwardTanhSamples), which can round differently.
func (s *Sequential[F]) backwardRun(k, e, n int, bottom *Conv2d[F], sum bool) {
	for j := k; j < e; j++ {
		s.layers[j].(sampleLayer[F]).prepare(n)
	}
	if bottom != nil {
		bottom.beginEarly(s.act(k-1, 0, n), n, sum)
	}
	for len(s.errScratch) < workers() {
		buf := make([][]F, len(s.layers)+1)
		for j := 1; j < len(s.layers); j++ {
			buf[j] = make([]F, s.sizes[j])
		}
		s.errScratch = append(s.errScratch, buf)
	}
	// errAt returns error j of sample i: the worker's scratch for the
	// errors inside the run, the batch buffer for its input and output.
	errAt := func(j, i, wk int) []F {
		if k < j && j < e || j == k && bottom != nil {
			return s.errScratch[wk][j]
		}
		return s.errs[j][i*s.sizes[j] : (i+1)*s.sizes[j]]
	}
	parallel.Split(n, workers(), func(wk, lo, hi int) {
		for i := lo; i < hi; i++ {
			for j := e - 1; j >= k; j-- {
				dy := errAt(j+1, i, wk)
				if j > k && s.fused[j-1] {
					// Max pooling straight through the Tanh before it.
					s.layers[j].(*pool2d[F]).backwardTanhSamples(s.act(j+1, i, i+1), dy, errAt(j-1, i, wk), i, 1, wk)
					j--
					continue
				}
				s.layers[j].(sampleLayer[F]).backwardSamples(s.act(j, i, i+1), s.act(j+1, i, i+1), dy, errAt(j, i, wk), i, 1, wk)
			}
			if bottom != nil {
				bottom.earlySample(i, i == lo, errAt(k, i, wk), wk)
			}
		}
	})
}

// Backward back-propagates dout, the gradient of the per-example losses
// with respect to the outputs of the last Forward (as produced by
// SoftmaxCrossEntropy), through the model. For each Linear or Conv2d layer,
// in reverse order (last layer first), it builds the layer's per-sample
// gradient source in the current GradMode and, if ready is not nil, calls
// ready(l, src) with the arena layer index l before back-propagating
// further; an error from ready stops the pass and is returned wrapped. The
// sources stay valid until the next Forward.
func (s *Sequential[F]) Backward(dout []F, ready func(layer int, src optimizer.GradSource[F]) error) error {
	return s.backward(dout, ready, false)
}

// BackwardSum back-propagates dout as Backward does but, instead of
// building per-sample sources, adds each layer's batch gradient Σ_i g_i to
// its slice of the bound arena's Grads: the non-private path. The caller
// zeroes Grads when it wants a fresh gradient.
func (s *Sequential[F]) BackwardSum(dout []F) error {
	return s.backward(dout, nil, true)
}

func (s *Sequential[F]) backward(dout []F, ready func(int, optimizer.GradSource[F]) error, sum bool) error {
	if s.state == 0 {
		return fmt.Errorf("nn: Backward called before Forward")
	}
	L := len(s.layers)
	n := s.n
	if len(dout) != n*s.sizes[L] {
		panic(fmt.Sprintf("nn: Backward: len(dout) = %d, want %d", len(dout), n*s.sizes[L]))
	}
	if s.mult > 1 {
		if sum {
			return fmt.Errorf("nn: BackwardSum under augmentation multiplicity %d: the batch gradient would count every augmented copy; use Backward, or SetMultiplicity(1)", s.mult)
		}
		if n%s.mult != 0 {
			return fmt.Errorf("nn: Backward: %d rows are not a whole number of samples of %d augmented copies each (SetMultiplicity)", n, s.mult)
		}
	}
	s.errs[L] = dout
	first := -1 // first layer with parameters: nothing before it needs an error
	if len(s.params) > 0 {
		for k := range s.layers {
			if s.arena[k] >= 0 {
				first = k
				break
			}
		}
	}
	// A convolution that is the first layer with parameters forms its
	// per-sample gradients within the backward run above it, while each
	// sample's output error is in cache (see Conv2d.beginEarly), when
	// they are materialised or summed.
	var early *Conv2d[F]
	if first >= 0 {
		if c, ok := s.layers[first].(*Conv2d[F]); ok {
			c.early = earlyNone
			if m := s.layerMode(c); sum || m == Materialized || m == Mixed && !c.UsesGhost() {
				early = c
			}
		}
	}
	// emit hands arena layer a's per-sample source to ready, or adds its
	// batch gradient to the arena on the non-private path.
	emit := func(a int) error {
		p := s.params[a]
		if sum {
			p.accumulate(s.bound.Grad(a))
			return nil
		}
		src := p.source(s.layerMode(p))
		if s.mult > 1 {
			var err error
			if src, err = s.group(a, src); err != nil {
				return err
			}
		}
		s.srcs[a] = src
		if ready != nil {
			if err := ready(a, src); err != nil {
				return fmt.Errorf("nn: Backward: ready(%d) for %s: %w", a, s.names[a], err)
			}
		}
		return nil
	}
	for k := L - 1; k >= 0; k-- {
		l := s.layers[k]
		x, y := s.act(k, 0, n), s.act(k+1, 0, n)
		dy := s.errs[k+1][:n*s.sizes[k+1]]
		if nl, ok := l.(nestedLayer[F]); ok {
			var dx []F
			if k > first {
				dx = s.errs[k][:n*s.sizes[k]]
			}
			base := s.arena[k]
			if err := nl.backwardNested(x, y, dy, dx, n, func(j int) error { return emit(base + j) }); err != nil {
				return err
			}
			continue
		}
		if a := s.arena[k]; a >= 0 {
			s.params[a].beginBackward(x, dy, n)
			if err := emit(a); err != nil {
				return err
			}
		}
		if k <= first {
			continue
		}
		if _, ok := l.(sampleLayer[F]); ok {
			// Back-propagate through the run of sample layers that ends
			// here, one sample at a time: it stops above the next layer
			// with parameters, whose source must be built first.
			j := k
			for j-1 > first && s.arena[j-1] < 0 {
				if _, ok := s.layers[j-1].(sampleLayer[F]); !ok {
					break
				}
				j--
			}
			var bottom *Conv2d[F]
			if j == first+1 {
				bottom = early
			}
			s.backwardRun(j, k+1, n, bottom, sum)
			k = j
			continue
		}
		l.backward(x, y, dy, s.errs[k][:n*s.sizes[k]], n)
	}
	if !sum {
		s.state = 2
	}
	return nil
}

// Sources returns the per-sample gradient sources of the last Backward, in
// arena layer order. The slice is reused by the next Backward; the sources
// stay valid until the next Forward. It returns nil if Backward has not run
// since the last Forward.
func (s *Sequential[F]) Sources() []optimizer.GradSource[F] {
	if s.state != 2 {
		return nil
	}
	return s.srcs
}
