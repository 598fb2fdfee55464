package nn

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/floats"

	"github.com/dpmpi/dpmpi/internal/prec"
	"github.com/dpmpi/dpmpi/optimizer"
)

// Float is the element type of a model's parameters, activations and
// gradients: float32 or float64 (optimizer.Float). Every layer, model and
// source of the package is generic in it. Whatever F is, per-sample
// gradient norms are accumulated and returned in float64, and clip
// factors, weights and scales are float64.
type Float = optimizer.Float

// addTo adds s to dst element-wise (gonum's floats.Add for float64,
// blas32.Axpy with α = 1 for float32: one rounded addition per element
// either way).
func addTo[F Float](dst, s []F) {
	if prec.Is32[F]() {
		d, x := prec.As32(dst), prec.As32(s)
		blas32.Axpy(1, blas32.Vector{N: len(x), Inc: 1, Data: x}, blas32.Vector{N: len(d), Inc: 1, Data: d})
		return
	}
	floats.Add(prec.As64(dst), prec.As64(s))
}

// scaleTo stores c·s in dst.
func scaleTo[F Float](dst []F, c float64, s []F) {
	if !prec.Is32[F]() {
		floats.ScaleTo(prec.As64(dst), c, prec.As64(s))
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
	if prec.Is32[F]() {
		a, b := prec.As32(x), prec.As32(y)
		return blas32.DDot(blas32.Vector{N: len(a), Inc: 1, Data: a}, blas32.Vector{N: len(b), Inc: 1, Data: b})
	}
	return floats.Dot(prec.As64(x), prec.As64(y))
}
