package nn

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/dpmpi/dpmpi/optimizer"
)

// nestedLayer is a layer that holds layers with parameters of its own
// (a residual block). Sequential gives each of them an arena layer, in the
// order nestedParams returns them, and lets the nested layer drive their
// backward passes.
type nestedLayer[F Float] interface {
	Layer[F]
	// nestedParams returns the parameter layers inside, in forward order,
	// with their names relative to the nested layer ("branch.0", "proj").
	nestedParams() ([]paramLayer[F], []string)
	// growNested sizes the layer's own per-batch buffers.
	growNested(n int)
	// backwardNested back-propagates dy, the error of the layer's output y
	// for input x: it stores the input error in dx unless dx is nil, and
	// for each nested parameter layer j, in reverse forward order, it
	// calls beginBackward on it and then emit(j).
	backwardNested(x, y, dy, dx []F, n int, emit func(j int) error) error
}

// residual is y = branch(x) + shortcut(x), the shortcut being x itself or a
// projection of it.
type residual[F Float] struct {
	branch []Layer[F]
	proj   paramLayer[F] // nil: the identity

	shapes [][]int // shapes[j] is the input shape of branch layer j; shapes[m] the output
	sizes  []int
	acts   [][]F // acts[j], j = 1..m, the branch's activations; acts[0] is the block input
	errs   [][]F // errs[j], j = 0..m−1, their errors
	pout   []F   // the projection's output
	perr   []F   // the projection's input error
	cap    int
	params []paramLayer[F]
	names  []string
	lowest int // index of the lowest branch layer with parameters, or m
}

// Residual returns a residual block: its output is the sum of branch(x), the
// layers of branch applied in order, and of the shortcut, which is x itself
// when projection is nil and projection(x) otherwise (a Linear or Conv2d,
// for example a 1×1 convolution that changes the channel count or the
// stride). The branch's output must have the shortcut's shape. The layers
// with parameters inside have arena layers of their own, in the order
// branch then projection.
//
// Its PyTorch twin is a module whose forward is
// self.branch(x) + (self.proj(x) if self.proj is not None else x), with
// branch an nn.Sequential: the state_dict names are
// "<position>.branch.<i>.weight" and "<position>.proj.weight".
func Residual[F Float](projection Layer[F], branch ...Layer[F]) Layer[F] {
	r := &residual[F]{branch: branch}
	if projection != nil {
		if p, ok := projection.(paramLayer[F]); ok {
			r.proj = p
		} else {
			r.branch = nil // setup reports it
			r.proj = badProjection[F]{projection}
		}
	}
	return r
}

// badProjection stands for a projection that has no parameters, which
// setup refuses.
type badProjection[F Float] struct{ Layer[F] }

func (badProjection[F]) paramShape() []int                       { return nil }
func (badProjection[F]) bind([]F)                                {}
func (badProjection[F]) initParams(*rand.Rand)                   {}
func (badProjection[F]) grow(int)                                {}
func (badProjection[F]) beginBackward([]F, []F, int)             {}
func (badProjection[F]) source(GradMode) optimizer.GradSource[F] { return nil }
func (badProjection[F]) accumulate([]F)                          {}

func (r *residual[F]) Kind() string {
	kinds := make([]string, len(r.branch))
	for i, l := range r.branch {
		kinds[i] = l.Kind()
	}
	if r.proj != nil {
		return fmt.Sprintf("Residual([%s] + %s)", strings.Join(kinds, ", "), r.proj.Kind())
	}
	return fmt.Sprintf("Residual([%s] + x)", strings.Join(kinds, ", "))
}

func (r *residual[F]) numParams() int { return 0 }

func (r *residual[F]) setup(in []int) ([]int, error) {
	if b, bad := r.proj.(badProjection[F]); bad {
		return nil, fmt.Errorf("projection %s has no parameters; use a Linear or Conv2d, or nil for the identity", b.Kind())
	}
	if len(r.branch) == 0 {
		return nil, fmt.Errorf("the branch has no layers")
	}
	r.shapes, r.sizes = [][]int{slices.Clone(in)}, []int{prod(in)}
	r.params, r.names = nil, nil
	r.lowest = len(r.branch)
	shape := in
	for j, l := range r.branch {
		if l == nil {
			return nil, fmt.Errorf("branch layer %d is nil", j)
		}
		if _, data := l.(interface{ takesData() }); data {
			return nil, fmt.Errorf("branch layer %d (%s) takes data as input and cannot sit inside a residual block", j, l.Kind())
		}
		out, err := l.setup(shape)
		if err != nil {
			return nil, fmt.Errorf("branch layer %d (%s): %w", j, l.Kind(), err)
		}
		shape = out
		r.shapes, r.sizes = append(r.shapes, shape), append(r.sizes, prod(shape))
		switch p := l.(type) {
		case paramLayer[F]:
			r.params, r.names = append(r.params, p), append(r.names, fmt.Sprintf("branch.%d", j))
			r.lowest = min(r.lowest, j)
		case nestedLayer[F]:
			ps, ns := p.nestedParams()
			for i := range ps {
				r.params, r.names = append(r.params, ps[i]), append(r.names, fmt.Sprintf("branch.%d.%s", j, ns[i]))
			}
			if len(ps) > 0 {
				r.lowest = min(r.lowest, j)
			}
		}
	}
	want := in
	if r.proj != nil {
		ps, err := r.proj.setup(in)
		if err != nil {
			return nil, fmt.Errorf("projection %s: %w", r.proj.Kind(), err)
		}
		want = ps
		r.params, r.names = append(r.params, r.proj), append(r.names, "proj")
	}
	if !slices.Equal(shape, want) {
		if r.proj == nil {
			return nil, fmt.Errorf("the branch gives %v but the identity shortcut %v; make the branch keep the shape, or add a projection (for example a 1×1 convolution) to the shortcut", shape, want)
		}
		return nil, fmt.Errorf("the branch gives %v but the projection %v; the two must have the same shape", shape, want)
	}
	return slices.Clone(shape), nil
}

func (r *residual[F]) nestedParams() ([]paramLayer[F], []string) { return r.params, r.names }

func (r *residual[F]) growNested(n int) {
	if n <= r.cap && r.acts != nil {
		return
	}
	m := len(r.branch)
	r.acts, r.errs = make([][]F, m+1), make([][]F, m+1)
	for j := 1; j <= m; j++ {
		r.acts[j] = make([]F, n*r.sizes[j])
	}
	for j := 0; j < m; j++ {
		r.errs[j] = make([]F, n*r.sizes[j])
	}
	if r.proj != nil {
		r.pout = make([]F, n*r.sizes[m])
		r.perr = make([]F, n*r.sizes[0])
	}
	for _, l := range r.branch {
		if nl, ok := l.(nestedLayer[F]); ok {
			nl.growNested(n)
		}
	}
	r.cap = n
}

func (r *residual[F]) forward(x, y []F, n int) {
	r.growNested(n)
	m := len(r.branch)
	r.acts[0] = x
	for j, l := range r.branch {
		l.forward(r.acts[j][:n*r.sizes[j]], r.acts[j+1][:n*r.sizes[j+1]], n)
	}
	// The branch's output stays in acts[m], which its last layer's
	// backward pass may read.
	y = y[:n*r.sizes[m]]
	copy(y, r.acts[m][:n*r.sizes[m]])
	if r.proj == nil {
		for i, v := range x[:n*r.sizes[0]] {
			y[i] += v
		}
		return
	}
	p := r.pout[:n*r.sizes[m]]
	r.proj.forward(x[:n*r.sizes[0]], p, n)
	for i, v := range p {
		y[i] += v
	}
}

func (r *residual[F]) backward(x, y, dy, dx []F, n int) {
	if err := r.backwardNested(x, y, dy, dx, n, func(int) error { return nil }); err != nil {
		panic(err) // emit returns no error here
	}
}

func (r *residual[F]) backwardNested(x, y, dy, dx []F, n int, emit func(j int) error) error {
	m := len(r.branch)
	dy = dy[:n*r.sizes[m]]
	next := len(r.params) - 1 // the nested index of the next parameter layer, going down
	// The shortcut first: its projection is the last parameter layer.
	if r.proj != nil {
		r.proj.beginBackward(x, dy, n)
		if err := emit(next); err != nil {
			return err
		}
		next--
		if dx != nil {
			r.proj.backward(x, r.pout[:n*r.sizes[m]], dy, r.perr[:n*r.sizes[0]], n)
		}
	}
	// The branch, top to bottom, as far as a gradient is needed: to its
	// lowest parameter layer, or to the block's input if dx is wanted.
	bottom := r.lowest
	if dx != nil {
		bottom = 0
	}
	for j := m - 1; j >= bottom; j-- {
		l := r.branch[j]
		in, out := r.acts[j][:n*r.sizes[j]], r.acts[j+1][:n*r.sizes[j+1]]
		d := dy
		if j < m-1 {
			d = r.errs[j+1][:n*r.sizes[j+1]]
		}
		var e []F
		if j > bottom || dx != nil {
			e = r.errs[j][:n*r.sizes[j]]
		}
		switch p := l.(type) {
		case paramLayer[F]:
			p.beginBackward(in, d, n)
			if err := emit(next); err != nil {
				return err
			}
			next--
			if e != nil {
				l.backward(in, out, d, e, n)
			}
		case nestedLayer[F]:
			ps, _ := p.nestedParams()
			base := next - len(ps) + 1
			if err := p.backwardNested(in, out, d, e, n, func(i int) error { return emit(base + i) }); err != nil {
				return err
			}
			next -= len(ps)
		default:
			if e != nil {
				l.backward(in, out, d, e, n)
			}
		}
	}
	if dx == nil {
		return nil
	}
	dx = dx[:n*r.sizes[0]]
	copy(dx, r.errs[0][:n*r.sizes[0]])
	short := dy
	if r.proj != nil {
		short = r.perr[:n*r.sizes[0]]
	}
	for i, v := range short {
		dx[i] += v
	}
	return nil
}

// nestedState returns the tensors of the layers inside under their PyTorch
// names relative to the block.
func (r *residual[F]) nestedState() ([]tensor[F], error) {
	var out []tensor[F]
	for i, p := range r.params {
		sl, ok := p.(stateLayer[F])
		if !ok {
			return nil, fmt.Errorf("%s (%s) has no PyTorch layout", r.names[i], p.Kind())
		}
		for _, t := range sl.state() {
			t.Name = r.names[i] + "." + t.Name
			out = append(out, t)
		}
	}
	return out, nil
}
