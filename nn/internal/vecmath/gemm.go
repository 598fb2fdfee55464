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

// Offsets is a table of non-negative offsets for GemmGather and
// GemmGatherA, checked once when it is made, so that a product checks its
// bounds against the largest offset without scanning the table.
type Offsets struct {
	off []int
	max int
}

// NewOffsets returns the table off, which is used, not copied, and must not
// be changed afterwards. It panics if an offset is negative.
func NewOffsets(off []int) Offsets {
	o := Offsets{off: off}
	for _, v := range off {
		if v < 0 {
			panic(fmt.Sprintf("vecmath: NewOffsets: negative offset %d", v))
		}
		o.max = max(o.max, v)
	}
	return o
}

// Len returns the number of offsets in the table.
func (o Offsets) Len() int { return len(o.off) }

// GemmGather is Gemm with the rows of B gathered from b, which lets a
// convolution multiply by its unrolled input (im2col) without writing it:
// for column block q (columns 8q to 8q+7) and row p,
//
//	B(p, 8q+t) = b[blockOff[q] + rowOff[p] + t]          (t < 4)
//	B(p, 8q+t) = b[blockOff[q] + rowOff[p] + half + t−4]  (4 ≤ t < 8)
//
// so that a block is a run of eight values (half = 4) or two runs of four
// half apart. It reports whether it computed, as Gemm does, and panics if
// rowOff has fewer than k offsets, blockOff fewer than n/8, or b is too
// short for the largest offsets of the tables.
func GemmGather(m, n, k int, a []float64, rsA, csA int, b []float64, rowOff, blockOff Offsets, half int, c []float64, ldc int, acc bool) bool {
	if m < 0 || n < 0 || k < 0 || rsA < 0 || csA < 0 || half < 0 || ldc < n || rowOff.Len() < k || blockOff.Len() < n/8 {
		panic(fmt.Sprintf("vecmath: GemmGather: bad shape m=%d n=%d k=%d rsA=%d csA=%d half=%d ldc=%d rowOff.Len()=%d blockOff.Len()=%d",
			m, n, k, rsA, csA, half, ldc, rowOff.Len(), blockOff.Len()))
	}
	if !useAVX2 || n%8 != 0 {
		return false
	}
	if m == 0 || n == 0 {
		return true
	}
	if k == 0 {
		return Gemm(m, n, 0, a, rsA, csA, b, n, c, ldc, acc)
	}
	if (m-1)*rsA+(k-1)*csA >= len(a) || blockOff.max+rowOff.max+max(half+4, 8) > len(b) || (m-1)*ldc+n > len(c) {
		panic(fmt.Sprintf("vecmath: GemmGather: slices too short: len(a)=%d len(b)=%d len(c)=%d", len(a), len(b), len(c)))
	}
	gemmGatherTiles(m, n, k, a, rsA, csA, b, rowOff.off, blockOff.off, half, c, ldc, acc)
	return true
}

// GemmGatherA is Gemm with A gathered from a, which lets a convolution's
// forward product read its unrolled input (im2col) without writing it:
//
//	A(i, p) = a[rowOff[i] + colOff[p]]
//
// for output position i (rowOff[i] the start of its receptive field) and
// weight p (colOff[p] its offset within a receptive field). B and C are as
// in Gemm. It reports whether it computed, as Gemm does, and panics if
// rowOff has fewer than m offsets, colOff fewer than k, or a slice is too
// short (for a, at the largest offsets of the tables).
func GemmGatherA(m, n, k int, a []float64, rowOff, colOff Offsets, b []float64, ldb int, c []float64, ldc int, acc bool) bool {
	if m < 0 || n < 0 || k < 0 || ldb < n || ldc < n || rowOff.Len() < m || colOff.Len() < k {
		panic(fmt.Sprintf("vecmath: GemmGatherA: bad shape m=%d n=%d k=%d ldb=%d ldc=%d rowOff.Len()=%d colOff.Len()=%d",
			m, n, k, ldb, ldc, rowOff.Len(), colOff.Len()))
	}
	if !useAVX2 || n%8 != 0 {
		return false
	}
	if m == 0 || n == 0 {
		return true
	}
	if k == 0 {
		return Gemm(m, n, 0, a, 0, 0, b, ldb, c, ldc, acc)
	}
	if rowOff.max+colOff.max >= len(a) || (k-1)*ldb+n > len(b) || (m-1)*ldc+n > len(c) {
		panic(fmt.Sprintf("vecmath: GemmGatherA: slices too short: len(a)=%d len(b)=%d len(c)=%d", len(a), len(b), len(c)))
	}
	gemmGatherATiles(m, n, k, a, rowOff.off, colOff.off, b, ldb, c, ldc, acc)
	return true
}
