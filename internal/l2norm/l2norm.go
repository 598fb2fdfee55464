package l2norm

import (
	"math"

	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"

	"github.com/dpmpi/dpmpi/internal/prec"
)

// Of returns the L2 norm of v in float64. For float64 it is √(v·v) with
// gonum's BLAS dot product, or, when v·v overflows, FromSumSquares's
// fallback. For float32 the squares are summed in float64 (blas32.DDot),
// which cannot overflow for finite values, so the norm is √(v·v) rounded
// once.
func Of[F prec.Float](v []F) float64 {
	if prec.Is32[F]() {
		x := blas32.Vector{N: len(v), Inc: 1, Data: prec.As32(v)}
		return math.Sqrt(blas32.DDot(x, x))
	}
	w := prec.As64(v)
	x := blas64.Vector{N: len(w), Inc: 1, Data: w}
	return FromSumSquares(w, blas64.Dot(x, x))
}

// FromSumSquares returns the L2 norm of v given ss, its sum of squares
// computed by the caller: √ss when ss is not +Inf, and otherwise
// floats.Norm(v, 2), which is finite unless v holds NaN or ±Inf. A NaN ss
// gives NaN.
func FromSumSquares(v []float64, ss float64) float64 {
	if math.IsInf(ss, 1) {
		return floats.Norm(v, 2)
	}
	return math.Sqrt(ss)
}
