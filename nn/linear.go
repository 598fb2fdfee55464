package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/dpmpi/dpmpi/internal/parallel"
	"github.com/dpmpi/dpmpi/optimizer"
)

// Linear is a fully connected layer y = x·Wᵀ + b with weight W of shape
// [Out, In] and bias b of length Out. Its parameters are one arena layer: W
// row-major, then b.
type Linear struct {
	// In and Out are the input and output feature counts.
	In, Out int

	w, b []float64

	// state of the last backward pass
	n     int
	x, dy []float64

	ghost    linearGhost
	dense    optimizer.DenseSource[float64]
	denseBuf []float64
}

// NewLinear returns a Linear layer with in inputs and out outputs. Its input
// must be one-dimensional per sample (use Flatten after convolutions).
func NewLinear(in, out int) *Linear { return &Linear{In: in, Out: out} }

// Kind returns "Linear(in, out)".
func (l *Linear) Kind() string { return fmt.Sprintf("Linear(%d, %d)", l.In, l.Out) }

// Weight returns the layer's weight, [Out, In] row-major, as a view of the
// arena the model is bound to (nil before binding).
func (l *Linear) Weight() []float64 { return l.w }

// Bias returns the layer's bias as a view of the arena (nil before binding).
func (l *Linear) Bias() []float64 { return l.b }

func (l *Linear) setup(in []int) ([]int, error) {
	if l.In <= 0 || l.Out <= 0 {
		return nil, fmt.Errorf("sizes must be positive")
	}
	if len(in) != 1 || in[0] != l.In {
		return nil, fmt.Errorf("needs input of shape [%d], got %v (insert Flatten before a Linear layer fed by a convolution)", l.In, in)
	}
	return []int{l.Out}, nil
}

func (l *Linear) numParams() int          { return l.Out*l.In + l.Out }
func (l *Linear) paramShape() []int       { return []int{l.Out*l.In + l.Out} }
func (l *Linear) bind(p []float64)        { l.w, l.b = p[:l.Out*l.In:l.Out*l.In], p[l.Out*l.In:] }
func (l *Linear) initParams(r *rand.Rand) { uniformInit(l.w, l.In, r); uniformInit(l.b, l.In, r) }

func (l *Linear) grow(n int) {
	l.ghost.scaled = ensure(l.ghost.scaled, n*l.Out)
}

func (l *Linear) forward(x, y []float64, n int) {
	y = y[:n*l.Out]
	for i := 0; i < n; i++ {
		copy(y[i*l.Out:(i+1)*l.Out], l.b)
	}
	if n == 0 {
		return
	}
	gemmPar(blas.NoTrans, blas.Trans, 1,
		blas64.General{Rows: n, Cols: l.In, Stride: l.In, Data: x[:n*l.In]},
		blas64.General{Rows: l.Out, Cols: l.In, Stride: l.In, Data: l.w},
		1, blas64.General{Rows: n, Cols: l.Out, Stride: l.Out, Data: y})
}

func (l *Linear) beginBackward(x, dy []float64, n int) { l.x, l.dy, l.n = x, dy, n }

func (l *Linear) backward(x, y, dy, dx []float64, n int) {
	if dx == nil || n == 0 {
		return
	}
	gemmPar(blas.NoTrans, blas.NoTrans, 1,
		blas64.General{Rows: n, Cols: l.Out, Stride: l.Out, Data: dy[:n*l.Out]},
		blas64.General{Rows: l.Out, Cols: l.In, Stride: l.In, Data: l.w},
		0, blas64.General{Rows: n, Cols: l.In, Stride: l.In, Data: dx[:n*l.In]})
}

func (l *Linear) accumulate(dst []float64) {
	if l.n == 0 {
		return
	}
	n := l.n
	gemmPar(blas.Trans, blas.NoTrans, 1,
		blas64.General{Rows: n, Cols: l.Out, Stride: l.Out, Data: l.dy[:n*l.Out]},
		blas64.General{Rows: n, Cols: l.In, Stride: l.In, Data: l.x[:n*l.In]},
		1, blas64.General{Rows: l.Out, Cols: l.In, Stride: l.In, Data: dst[:l.Out*l.In]})
	db := dst[l.Out*l.In:]
	for i := 0; i < n; i++ {
		for o, g := range l.dy[i*l.Out : (i+1)*l.Out] {
			db[o] += g
		}
	}
}

func (l *Linear) source(mode GradMode) optimizer.GradSource[float64] {
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
// g_i = [δ_i ⊗ a_i, δ_i], so ‖g_i‖² = ‖δ_i‖²(‖a_i‖²+1).
type linearGhost struct {
	l      *Linear
	scaled []float64
}

func (g *linearGhost) Samples() int { return g.l.n }
func (g *linearGhost) Len() int     { return g.l.numParams() }

func (g *linearGhost) Norms(dst []float64) {
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
				aa += v * v
			}
			for _, v := range d {
				dd += v * v
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

func (g *linearGhost) AddWeighted(dst, w []float64) {
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
		for o, d := range l.dy[i*l.Out : (i+1)*l.Out] {
			v := wi * d
			s[i*l.Out+o] = v
			db[o] += v
		}
	}
	gemmPar(blas.Trans, blas.NoTrans, 1,
		blas64.General{Rows: n, Cols: l.Out, Stride: l.Out, Data: s},
		blas64.General{Rows: n, Cols: l.In, Stride: l.In, Data: l.x[:n*l.In]},
		1, blas64.General{Rows: l.Out, Cols: l.In, Stride: l.In, Data: dst[:l.Out*l.In]})
}
