package vecmath

import "fmt"

// Gemm computes the m×n matrix product C = A·B, or C += A·B when acc is
// set, with vector instructions, for the small products of a convolution
// computed one sample at a time. It reports whether it did: it computes
// nothing and returns false when the processor has no such kernel (not
// amd64, or no AVX2 and FMA) or when n is not a multiple of 8, so that the
// caller can fall back to BLAS.
//
// The operands are given by strides, so that transposes need no copy:
//
//	A(i, p) = a[i·rsA + p·csA]   (i < m, p < k)
//	B(p, j) = b[p·ldb + j]       (p < k, j < n)
//	C(i, j) = c[i·ldc + j]       (i < m, j < n)
//
// The products are fused multiply-adds, and the order of the sums depends
// only on m, n and k, so a product repeats bit for bit. Gemm does not pack
// its operands:
// they should fit in the caches of one core (a few hundred kilobytes at
// most). It panics if a stride is negative or a slice is too short for the
// shapes.
func Gemm(m, n, k int, a []float64, rsA, csA int, b []float64, ldb int, c []float64, ldc int, acc bool) bool {
	if m < 0 || n < 0 || k < 0 || rsA < 0 || csA < 0 || ldb < n || ldc < n {
		panic(fmt.Sprintf("vecmath: Gemm: bad shape m=%d n=%d k=%d rsA=%d csA=%d ldb=%d ldc=%d", m, n, k, rsA, csA, ldb, ldc))
	}
	if !useAVX2 || n%8 != 0 {
		return false
	}
	if m == 0 || n == 0 {
		return true
	}
	if k > 0 && ((m-1)*rsA+(k-1)*csA >= len(a) || (k-1)*ldb+n > len(b)) || (m-1)*ldc+n > len(c) {
		panic(fmt.Sprintf("vecmath: Gemm: slices too short: len(a)=%d len(b)=%d len(c)=%d for m=%d n=%d k=%d", len(a), len(b), len(c), m, n, k))
	}
	if k == 0 {
		if !acc {
			for i := 0; i < m; i++ {
				clear(c[i*ldc : i*ldc+n])
			}
		}
		return true
	}
	gemmTiles(m, n, k, a, rsA, csA, b, ldb, c, ldc, acc)
	return true
}
