package l2norm

import (
	"math"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
)

// Of returns the L2 norm of v: √(v·v) with gonum's BLAS dot product, or,
// when v·v overflows, FromSumSquares's fallback.
func Of(v []float64) float64 {
	x := blas64.Vector{N: len(v), Inc: 1, Data: v}
	return FromSumSquares(v, blas64.Dot(x, x))
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
