package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"

	"github.com/dpmpi/dpmpi/internal/parallel"
	"github.com/dpmpi/dpmpi/nn/internal/vecmath"
	"github.com/dpmpi/dpmpi/optimizer"
)

// Linear is a fully connected layer y = x·Wᵀ + b with weight W of shape
// [Out, In] and bias b of length Out, over elements of type F (float32 or
// float64). Its parameters are one arena layer: W row-major, then b.
type Linear[F Float] struct {
	// In and Out are the input and output feature counts.
	In, Out int

	w, b []F

	// state of the last backward pass
	n     int
	x, dy []F

	ghost    linearGhost[F]
	dense    optimizer.DenseSource[F]
	denseBuf []F
}

// NewLinear returns a Linear layer with in inputs and out outputs. Its input
// must be one-dimensional per sample (use Flatten after convolutions).
func NewLinear[F Float](in, out int) *Linear[F] { return &Linear[F]{In: in, Out: out} }

// Kind returns "Linear(in, out)".
func (l *Linear[F]) Kind() string { return fmt.Sprintf("Linear(%d, %d)", l.In, l.Out) }

// Weight returns the layer's weight, [Out, In] row-major, as a view of the
// arena the model is bound to (nil before binding).
func (l *Linear[F]) Weight() []F { return l.w }

// Bias returns the layer's bias as a view of the arena (nil before binding).
func (l *Linear[F]) Bias() []F { return l.b }

func (l *Linear[F]) setup(in []int) ([]int, error) {
	if l.In <= 0 || l.Out <= 0 {
		return nil, fmt.Errorf("sizes must be positive")
	}
	if len(in) != 1 || in[0] != l.In {
		return nil, fmt.Errorf("needs input of shape [%d], got %v (insert Flatten before a Linear layer fed by a convolution)", l.In, in)
	}
	return []int{l.Out}, nil
}

func (l *Linear[F]) numParams() int          { return l.Out*l.In + l.Out }
func (l *Linear[F]) paramShape() []int       { return []int{l.Out*l.In + l.Out} }
func (l *Linear[F]) bind(p []F)              { l.w, l.b = p[:l.Out*l.In:l.Out*l.In], p[l.Out*l.In:] }
func (l *Linear[F]) initParams(r *rand.Rand) { uniformInit(l.w, l.In, r); uniformInit(l.b, l.In, r) }

func (l *Linear[F]) grow(n int) {
	l.ghost.scaled = ensure(l.ghost.scaled, n*l.Out)
}

func (l *Linear[F]) forward(x, y []F, n int) {
	y = y[:n*l.Out]
	for i := 0; i < n; i++ {
		copy(y[i*l.Out:(i+1)*l.Out], l.b)
	}
	if n == 0 {
		return
	}
	gemmPar(blas.NoTrans, blas.Trans, 1, mat(x, n, l.In), mat(l.w, l.Out, l.In), 1, mat(y, n, l.Out))
}

func (l *Linear[F]) beginBackward(x, dy []F, n int) { l.x, l.dy, l.n = x, dy, n }

func (l *Linear[F]) backward(x, y, dy, dx []F, n int) {
	if dx == nil || n == 0 {
		return
	}
	gemmPar(blas.NoTrans, blas.NoTrans, 1, mat(dy, n, l.Out), mat(l.w, l.Out, l.In), 0, mat(dx, n, l.In))
}

func (l *Linear[F]) accumulate(dst []F) {
	if l.n == 0 {
		return
	}
	n := l.n
	gemmPar(blas.Trans, blas.NoTrans, 1, mat(l.dy, n, l.Out), mat(l.x, n, l.In), 1, mat(dst, l.Out, l.In))
	db := dst[l.Out*l.In:]
	for i := 0; i < n; i++ {
		for o, g := range l.dy[i*l.Out : (i+1)*l.Out] {
			db[o] += g
		}
	}
}

func (l *Linear[F]) source(mode GradMode) optimizer.GradSource[F] {
	if mode != Materialized {
		l.ghost.l = l
		return &l.ghost
	}
	n, cols := l.n, l.numParams()
	l.denseBuf = ensure(l.denseBuf, n*cols)
	l.dense.Reset(n, cols, l.denseBuf)
	parallel.Split(n, workers(), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			row := l.denseBuf[i*cols : (i+1)*cols]
			a := l.x[i*l.In : (i+1)*l.In]
			for o, d := range l.dy[i*l.Out : (i+1)*l.Out] {
				r := row[o*l.In : (o+1)*l.In]
				for j, v := range a {
					r[j] = d * v
				}
				row[l.Out*l.In+o] = d
			}
		}
	})
	return &l.dense
}

// linearGhost is the ghost per-sample gradient source of a Linear layer:
// g_i = [δ_i ⊗ a_i, δ_i], so ‖g_i‖² = ‖δ_i‖²(‖a_i‖²+1), both squared norms
// accumulated in float64.
type linearGhost[F Float] struct {
	l      *Linear[F]
	scaled []F
}

func (g *linearGhost[F]) Samples() int { return g.l.n }
func (g *linearGhost[F]) Len() int     { return g.l.numParams() }

func (g *linearGhost[F]) Norms(dst []float64) {
	l := g.l
	if len(dst) != l.n {
		panic("nn: Norms: len(dst) != Samples()")
	}
	norms := func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			a := l.x[i*l.In : (i+1)*l.In]
			d := l.dy[i*l.Out : (i+1)*l.Out]
			var aa, dd float64
			for _, v := range a {
				aa += float64(v) * float64(v)
			}
			for _, v := range d {
				dd += float64(v) * float64(v)
			}
			dst[i] = math.Sqrt(dd * (aa + 1))
		}
	}
	if l.n*(l.In+l.Out) < parallel.ElemGrain {
		norms(0, 0, l.n)
		return
	}
	parallel.Split(l.n, workers(), norms)
}

// AddWeighted adds Σ_i w_i·g_i to dst, with each weight rounded to F.
func (g *linearGhost[F]) AddWeighted(dst []F, w []float64) {
	l := g.l
	if len(w) != l.n || len(dst) != l.numParams() {
		panic("nn: AddWeighted: len(w) != Samples() or len(dst) != Len()")
	}
	n := l.n
	if n == 0 {
		return
	}
	s := g.scaled[:n*l.Out]
	db := dst[l.Out*l.In:]
	for i, wi := range w {
		// s_i = w_i·dy_i (0 + w·d: one rounding, with or without FMA), and
		// the bias gradient adds s_i (1·v + db: exact product).
		row := s[i*l.Out : (i+1)*l.Out]
		clear(row)
		vecmath.AddScaled(row, F(wi), l.dy[i*l.Out:(i+1)*l.Out])
		vecmath.AddScaled(db, 1, row)
	}
	gemmPar(blas.Trans, blas.NoTrans, 1, mat(s, n, l.Out), mat(l.x, n, l.In), 1, mat(dst, l.Out, l.In))
}
