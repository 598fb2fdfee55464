// Package optshim is a TEMPORARY stand-in for the generic API of package
// optimizer (being made generic on main), so that package nn can be made
// generic and tested before that commit lands. It is deleted when main is
// merged; nn imports it under the name optimizer.
package optshim

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/dpmpi/dpmpi/optimizer"
	"gonum.org/v1/gonum/blas/blas32"
)

type Float interface{ float32 | float64 }

type LayerSpec = optimizer.LayerSpec
type Layer = optimizer.Layer

var ClipFactor = optimizer.ClipFactor

type GradSource[F Float] interface {
	Samples() int
	Len() int
	Norms(dst []float64)
	AddWeighted(dst []F, w []float64)
}

type ClipAdder[F Float] interface {
	GradSource[F]
	ClipAdd(dst []F, maxNorm float64, norms, factors []float64)
}

type Arena[F Float] struct {
	Params []F
	Grads  []F
	Layers []Layer
}

func NewArena[F Float](specs ...LayerSpec) (*Arena[F], error) {
	a64, err := optimizer.NewArena(specs...)
	if err != nil {
		return nil, err
	}
	return &Arena[F]{Params: make([]F, len(a64.Params)), Grads: make([]F, len(a64.Grads)), Layers: a64.Layers}, nil
}

func (a *Arena[F]) Len() int { return len(a.Params) }
func (a *Arena[F]) Param(l int) []F {
	ly := a.Layers[l]
	return a.Params[ly.Offset : ly.Offset+ly.Len : ly.Offset+ly.Len]
}
func (a *Arena[F]) Grad(l int) []F {
	ly := a.Layers[l]
	return a.Grads[ly.Offset : ly.Offset+ly.Len : ly.Offset+ly.Len]
}

func is32[F Float]() bool { var z F; _, ok := any(z).(float32); return ok }
func as64[F Float](x []F) []float64 {
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(x))), len(x))
}
func as32[F Float](x []F) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(x))), len(x))
}

// DenseSource forwards to optimizer.DenseSource for float64 and is a plain
// loop for float32.
type DenseSource[F Float] struct {
	d64  optimizer.DenseSource
	b, n int
	data []F
}

func NewDenseSource[F Float](b, n int, data []F) *DenseSource[F] {
	s := &DenseSource[F]{}
	s.Reset(b, n, data)
	return s
}

func (s *DenseSource[F]) Reset(b, n int, data []F) {
	if b < 0 || n < 1 || len(data) != b*n {
		panic(fmt.Sprintf("optshim: Reset b=%d n=%d len=%d", b, n, len(data)))
	}
	s.b, s.n, s.data = b, n, data
	if !is32[F]() {
		s.d64.Reset(b, n, as64(data))
	}
}
func (s *DenseSource[F]) Samples() int  { return s.b }
func (s *DenseSource[F]) Len() int      { return s.n }
func (s *DenseSource[F]) Row(i int) []F { return s.data[i*s.n : (i+1)*s.n : (i+1)*s.n] }
func (s *DenseSource[F]) Norms(dst []float64) {
	if !is32[F]() {
		s.d64.Norms(dst)
		return
	}
	if len(dst) != s.b {
		panic("optshim: Norms")
	}
	for i := range dst {
		r := as32(s.Row(i))
		x := blas32.Vector{N: len(r), Inc: 1, Data: r}
		dst[i] = math.Sqrt(blas32.DDot(x, x))
	}
}
func (s *DenseSource[F]) AddWeighted(dst []F, w []float64) {
	if !is32[F]() {
		s.d64.AddWeighted(as64(dst), w)
		return
	}
	if len(w) != s.b || len(dst) != s.n {
		panic("optshim: AddWeighted")
	}
	for i, wi := range w {
		f := F(wi)
		for j, v := range s.Row(i) {
			dst[j] += f * v
		}
	}
}
func (s *DenseSource[F]) ClipAdd(dst []F, maxNorm float64, norms, factors []float64) {
	if !is32[F]() {
		s.d64.ClipAdd(as64(dst), maxNorm, norms, factors)
		return
	}
	s.Norms(norms)
	for i := range norms {
		factors[i] = ClipFactor(maxNorm, norms[i])
	}
	s.AddWeighted(dst, factors)
}
