package nn

import (
	"unsafe"

	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/floats"

	optimizer "github.com/dpmpi/dpmpi/nn/internal/optshim"
)

// Float is the element type of a model's parameters, activations and
// gradients: float32 or float64 (optimizer.Float). Every layer, model and
// source of the package is generic in it. Whatever F is, per-sample
// gradient norms are accumulated and returned in float64, and clip
// factors, weights and scales are float64.
type Float = optimizer.Float

// is32 reports whether F is float32. Code that must differ between the
// precisions (BLAS calls, the bit tricks of ReLU) tests it once per call,
// never per element.
func is32[F Float]() bool {
	var z F
	_, ok := any(z).(float32)
	return ok
}

// as32 and as64 view x as the concrete slice type, without copying; F
// must be that type.
func as32[F Float](x []F) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(x))), len(x))
}

func as64[F Float](x []F) []float64 {
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(x))), len(x))
}

// addTo adds s to dst element-wise (gonum's floats.Add for float64,
// blas32.Axpy with α = 1 for float32: one rounded addition per element
// either way).
func addTo[F Float](dst, s []F) {
	if is32[F]() {
		d, x := as32(dst), as32(s)
		blas32.Axpy(1, blas32.Vector{N: len(x), Inc: 1, Data: x}, blas32.Vector{N: len(d), Inc: 1, Data: d})
		return
	}
	floats.Add(as64(dst), as64(s))
}

// scaleTo stores c·s in dst.
func scaleTo[F Float](dst []F, c float64, s []F) {
	if !is32[F]() {
		floats.ScaleTo(as64(dst), c, as64(s))
		return
	}
	f := F(c)
	for i, v := range s {
		dst[i] = f * v
	}
}

// dot64 returns Σ x[i]·y[i] in float64: gonum's floats.Dot for float64,
// blas32.DDot (float64 accumulation) for float32.
func dot64[F Float](x, y []F) float64 {
	if is32[F]() {
		a, b := as32(x), as32(y)
		return blas32.DDot(blas32.Vector{N: len(a), Inc: 1, Data: a}, blas32.Vector{N: len(b), Inc: 1, Data: b})
	}
	return floats.Dot(as64(x), as64(y))
}
