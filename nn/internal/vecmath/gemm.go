package vecmath

import (
	"fmt"
	"math"
	"unsafe"
)

// Gemm computes the m×n matrix product C = A·B, or C += A·B when acc is
// set, for the small products of a convolution computed one sample at a
// time, with AVX2 and FMA on amd64 (gemm_amd64.s for float64,
// gemm32_amd64.s for float32) and in Go elsewhere (gemmGo, the
// same fused multiply-adds in the same order, so the result is the same bit
// for bit on every machine). C is computed in blocks of eight columns: n
// must be a multiple of 8 (a caller with another n uses BLAS).
//
// The operands are given by strides, so that transposes need no copy:
//
//	A(i, p) = a[i·rsA + p·csA]   (i < m, p < k)
//	B(p, j) = b[p·ldb + j]       (p < k, j < n)
//	C(i, j) = c[i·ldc + j]       (i < m, j < n)
//
// The products are fused multiply-adds, and the order of the sums depends
// only on m, n and k, so a product repeats bit for bit; it is the same
// order in both precisions, each product and sum rounded to F (a float32
// product accumulates in float32). Gemm does not pack its operands:
// they should fit in the caches of one core (a few hundred kilobytes at
// most). It panics if n is not a multiple of 8, a stride is negative or a
// slice is too short for the shapes.
func Gemm[F Float](m, n, k int, a []F, rsA, csA int, b []F, ldb int, c []F, ldc int, acc bool) {
	if m < 0 || n < 0 || n%8 != 0 || k < 0 || rsA < 0 || csA < 0 || ldb < n || ldc < n {
		panic(fmt.Sprintf("vecmath: Gemm: bad shape m=%d n=%d k=%d rsA=%d csA=%d ldb=%d ldc=%d (n must be a multiple of 8)", m, n, k, rsA, csA, ldb, ldc))
	}
	if m == 0 || n == 0 {
		return
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
		return
	}
	if is32[F]() {
		gemmTiles32(m, n, k, as32(a), rsA, csA, as32(b), ldb, as32(c), ldc, acc)
		return
	}
	gemmTiles(m, n, k, as64(a), rsA, csA, as64(b), ldb, as64(c), ldc, acc)
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
// half apart (half in elements of F). Its results are those of Gemm on the gathered B, bit for
// bit. It panics as Gemm does, and if rowOff has fewer than k offsets,
// blockOff fewer than n/8, or b is too short for the largest offsets of the
// tables.
func GemmGather[F Float](m, n, k int, a []F, rsA, csA int, b []F, rowOff, blockOff Offsets, half int, c []F, ldc int, acc bool) {
	if m < 0 || n < 0 || n%8 != 0 || k < 0 || rsA < 0 || csA < 0 || half < 0 || ldc < n || rowOff.Len() < k || blockOff.Len() < n/8 {
		panic(fmt.Sprintf("vecmath: GemmGather: bad shape m=%d n=%d k=%d rsA=%d csA=%d half=%d ldc=%d rowOff.Len()=%d blockOff.Len()=%d (n must be a multiple of 8)",
			m, n, k, rsA, csA, half, ldc, rowOff.Len(), blockOff.Len()))
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		Gemm(m, n, 0, a, rsA, csA, b, n, c, ldc, acc)
		return
	}
	if (m-1)*rsA+(k-1)*csA >= len(a) || blockOff.max+rowOff.max+max(half+4, 8) > len(b) || (m-1)*ldc+n > len(c) {
		panic(fmt.Sprintf("vecmath: GemmGather: slices too short: len(a)=%d len(b)=%d len(c)=%d", len(a), len(b), len(c)))
	}
	if is32[F]() {
		gemmGatherTiles32(m, n, k, as32(a), rsA, csA, as32(b), rowOff.off, blockOff.off, half, as32(c), ldc, acc)
		return
	}
	gemmGatherTiles(m, n, k, as64(a), rsA, csA, as64(b), rowOff.off, blockOff.off, half, as64(c), ldc, acc)
}

// GemmGatherA is Gemm with A gathered from a, which lets a convolution's
// forward product read its unrolled input (im2col) without writing it:
//
//	A(i, p) = a[rowOff[i] + colOff[p]]
//
// for output position i (rowOff[i] the start of its receptive field) and
// weight p (colOff[p] its offset within a receptive field). B and C are as
// in Gemm. Its results are those of Gemm on the gathered A, bit for bit.
// It panics as Gemm does, and if rowOff has fewer than m offsets, colOff
// fewer than k, or a slice is too short (for a, at the largest offsets of
// the tables).
func GemmGatherA[F Float](m, n, k int, a []F, rowOff, colOff Offsets, b []F, ldb int, c []F, ldc int, acc bool) {
	if m < 0 || n < 0 || n%8 != 0 || k < 0 || ldb < n || ldc < n || rowOff.Len() < m || colOff.Len() < k {
		panic(fmt.Sprintf("vecmath: GemmGatherA: bad shape m=%d n=%d k=%d ldb=%d ldc=%d rowOff.Len()=%d colOff.Len()=%d (n must be a multiple of 8)",
			m, n, k, ldb, ldc, rowOff.Len(), colOff.Len()))
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		Gemm(m, n, 0, a, 0, 0, b, ldb, c, ldc, acc)
		return
	}
	if rowOff.max+colOff.max >= len(a) || (k-1)*ldb+n > len(b) || (m-1)*ldc+n > len(c) {
		panic(fmt.Sprintf("vecmath: GemmGatherA: slices too short: len(a)=%d len(b)=%d len(c)=%d", len(a), len(b), len(c)))
	}
	if is32[F]() {
		gemmGatherATiles32(m, n, k, as32(a), rowOff.off, colOff.off, as32(b), ldb, as32(c), ldc, acc)
		return
	}
	gemmGatherATiles(m, n, k, as64(a), rowOff.off, colOff.off, as64(b), ldb, as64(c), ldc, acc)
}

// panelRows returns the height of the next row panel when m rows remain:
// the assembly kernels compute 6, 4, 2 or 1 rows at a time.
func panelRows(m int) int {
	switch {
	case m >= 6:
		return 6
	case m >= 4:
		return 4
	case m >= 2:
		return 2
	}
	return 1
}

// gemmOperands describes the operands of the three Gemm families for the
// Go twins: A(i, p) = a[aRow(i) + aCol(p)] with aRow(i) = i·rsA or
// aRowOff[i] and aCol(p) = p·csA or aColOff[p]; B(p, j) = b[bRow(p) +
// bCol(j)] with bRow(p) = p·ldb or bRowOff[p] and bCol(j) = j, or for
// gathered B blockOff[j/8] + j mod 8 (+ half − 4 for j mod 8 ≥ 4). A nil
// table selects the strided form.
type gemmOperands[F Float] struct {
	a                 []F
	rsA, csA          int
	aRowOff, aColOff  []int
	b                 []F
	ldb               int
	bRowOff, blockOff []int
	half              int
}

// gemmGo is the Go twin of the panel kernels of gemm_amd64.s and
// gemm32_amd64.s: for each row
// panel of panelRows rows, every element of C is a chain of fused
// multiply-adds over p in order, starting from zero, split for panels of 2
// and 1 rows into 2 and 4 interleaved streams (step p to stream p mod s
// while at least s steps remain, the last k mod s steps to stream 0) that
// are added pairwise at the end; with acc the old C is added last. The
// multiply-adds are fused and rounded once to F (fma), so the
// results are the assembly's bit for bit (twin_test.go). k ≥ 1.
func gemmGo[F Float](m, n, k int, o *gemmOperands[F], c []F, ldc int, acc bool) {
	for i0 := 0; i0 < m; {
		r := panelRows(m - i0)
		s := 1 // streams, as STREAMS in testdata/gen_gemm.py
		switch r {
		case 2:
			s = 2
		case 1:
			s = 4
		}
		full := k - k%s
		for i := i0; i < i0+r; i++ {
			ar := i * o.rsA
			if o.aRowOff != nil {
				ar = o.aRowOff[i]
			}
			cr := c[i*ldc : i*ldc+n]
			for j := range cr {
				bc := j
				if o.blockOff != nil {
					bc = o.blockOff[j/8] + j%8
					if j%8 >= 4 {
						bc += o.half - 4
					}
				}
				var st [4]F
				for p := 0; p < k; p++ {
					ac := p * o.csA
					if o.aColOff != nil {
						ac = o.aColOff[p]
					}
					br := p * o.ldb
					if o.bRowOff != nil {
						br = o.bRowOff[p]
					}
					q := 0
					if p < full {
						q = p % s
					}
					st[q] = fma(o.a[ar+ac], o.b[br+bc], st[q])
				}
				v := st[0]
				switch s {
				case 2:
					v = st[0] + st[1]
				case 4:
					v = (st[0] + st[1]) + (st[2] + st[3])
				}
				if acc {
					v += cr[j]
				}
				cr[j] = v
			}
		}
		i0 += r
	}
}

// gemmTilesGo, gemmGatherTilesGo and gemmGatherATilesGo are the Go twins
// of gemmTiles, gemmGatherTiles and gemmGatherATiles.
func gemmTilesGo(m, n, k int, a []float64, rsA, csA int, b []float64, ldb int, c []float64, ldc int, acc bool) {
	gemmGo(m, n, k, &gemmOperands[float64]{a: a, rsA: rsA, csA: csA, b: b, ldb: ldb}, c, ldc, acc)
}

func gemmGatherTilesGo(m, n, k int, a []float64, rsA, csA int, b []float64, rowOff, blockOff []int, half int, c []float64, ldc int, acc bool) {
	gemmGo(m, n, k, &gemmOperands[float64]{a: a, rsA: rsA, csA: csA, b: b, bRowOff: rowOff, blockOff: blockOff, half: half}, c, ldc, acc)
}

func gemmGatherATilesGo(m, n, k int, a []float64, rowOff, colOff []int, b []float64, ldb int, c []float64, ldc int, acc bool) {
	gemmGo(m, n, k, &gemmOperands[float64]{a: a, aRowOff: rowOff, aColOff: colOff, b: b, ldb: ldb}, c, ldc, acc)
}

// fma returns x·y + z rounded once to F: math.FMA for float64, fma32 for
// float32.
func fma[F Float](x, y, z F) F {
	if unsafe.Sizeof(x) == 4 {
		return F(fma32(float32(x), float32(y), float32(z)))
	}
	return F(math.FMA(float64(x), float64(y), float64(z)))
}

// fma32 returns x·y + z rounded once to float32, as VFMADD231PS computes
// it. The product of two float32 values is exact in float64, and the sum is
// computed in float64 with its rounding error e (TwoSum); rounding that sum
// to odd (to the neighbour with an odd last bit when e ≠ 0) before rounding
// to float32 gives the correctly rounded result, float64 having more than
// 24 + 2 bits (Boldo and Melquiond, "Emulation of FMA and correctly rounded
// sums: proved algorithms using rounding to odd", IEEE TC 2008).
func fma32(x, y, z float32) float32 {
	p := float64(x) * float64(y)
	zz := float64(z)
	s := p + zz
	bb := s - p
	e := (p - (s - bb)) + (zz - bb)
	if e != 0 && e-e == 0 { // inexact, and s finite
		if b := math.Float64bits(s); b&1 == 0 {
			if (e > 0) == (s > 0) {
				b++
			} else {
				b--
			}
			s = math.Float64frombits(b)
		}
	}
	return float32(s)
}

// gemmTiles32Go, gemmGatherTiles32Go and gemmGatherATiles32Go are the Go
// twins of gemmTiles32, gemmGatherTiles32 and gemmGatherATiles32.
func gemmTiles32Go(m, n, k int, a []float32, rsA, csA int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	gemmGo(m, n, k, &gemmOperands[float32]{a: a, rsA: rsA, csA: csA, b: b, ldb: ldb}, c, ldc, acc)
}

func gemmGatherTiles32Go(m, n, k int, a []float32, rsA, csA int, b []float32, rowOff, blockOff []int, half int, c []float32, ldc int, acc bool) {
	gemmGo(m, n, k, &gemmOperands[float32]{a: a, rsA: rsA, csA: csA, b: b, bRowOff: rowOff, blockOff: blockOff, half: half}, c, ldc, acc)
}

func gemmGatherATiles32Go(m, n, k int, a []float32, rowOff, colOff []int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	gemmGo(m, n, k, &gemmOperands[float32]{a: a, aRowOff: rowOff, aColOff: colOff, b: b, ldb: ldb}, c, ldc, acc)
}
