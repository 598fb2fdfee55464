// Package l2norm is dpmpi's one home for the Euclidean (L2) norm of a vector
// with an overflow fallback: the fast √(Σv²) wherever the sum of squares is
// finite, and gonum's scaled algorithm (floats.Norm) where it overflows, so
// that only a vector holding NaN or ±Inf gets a non-finite norm. Clipping
// needs exactly that: a huge but finite per-sample gradient must be
// clipped, not reported as non-finite.
//
// Of computes the sum of squares with gonum's BLAS dot product:
//
//	n := l2norm.Of(row)
//
// A caller with its own sum-of-squares kernel (nn's AVX2 one, say) passes
// the sum to FromSumSquares, which applies the same fallback:
//
//	n := l2norm.FromSumSquares(v, sumSquares(v))
//
// # Implementation
//
// floats.Norm alone is not a replacement: on per-sample gradients of
// 1,040 and 8,224 values it took 6.7–6.9 times as long as Of (BenchmarkNorm:
// 1.2 µs against 0.18 µs, 10.2 µs against 1.5 µs), 20–35 times as long as
// nn's AVX2 sum of squares, and it differed from Of in the last bits for 562
// of 800 random normal vectors, which would move the clip factors. It is
// therefore only the fallback, and each caller keeps the sum-of-squares
// kernel it had, so norms stay bit for bit what they were.
package l2norm
