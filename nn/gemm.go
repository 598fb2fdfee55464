package nn

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/dpmpi/dpmpi/internal/parallel"
	"github.com/dpmpi/dpmpi/internal/prec"
	"github.com/dpmpi/dpmpi/nn/internal/vecmath"
)

// BLAS threading policy
//
// The package owns the parallelism: matrix products run single-threaded
// inside its worker goroutines (see parallel), never in a BLAS thread pool
// of their own. With the openblas build tag the package sets OpenBLAS to one
// thread when it is initialised (see gemm_openblas.go); a large product is
// then split by gemmPar into one block of output rows (or columns) per
// worker, and per-sample products (convolutions) run one sample at a time on
// the worker that owns the sample. Two thread pools never compete for the
// cores, and the element-wise loops between products (im2col, activations,
// pooling) use the same workers.
//
// Reductions over samples (the weight gradient of a convolution) are summed
// per worker into private buffers and then added in worker order, so that a
// result depends only on the batch and on the worker count (GOMAXPROCS),
// never on scheduling.

// general is a row-major matrix of F, the operand type of the package's
// matrix products: blas64.General or blas32.General, chosen once per call.
type general[F Float] struct {
	Rows, Cols, Stride int
	Data               []F
}

// mat returns data as an r×c matrix with row stride c.
func mat[F Float](data []F, r, c int) general[F] {
	return general[F]{Rows: r, Cols: c, Stride: c, Data: data[:r*c]}
}

// g64 and g32 view g as gonum's matrix types; F must be the element type.
func g64[F Float](g general[F]) blas64.General {
	return blas64.General{Rows: g.Rows, Cols: g.Cols, Stride: g.Stride, Data: prec.As64(g.Data)}
}

func g32[F Float](g general[F]) blas32.General {
	return blas32.General{Rows: g.Rows, Cols: g.Cols, Stride: g.Stride, Data: prec.As32(g.Data)}
}

// gemm computes c = alpha·op(a)·op(b) + beta·c through gonum's blas64 for
// float64 and blas32 for float32, both pure Go by default and OpenBLAS
// (DGEMM, SGEMM) with the build tag openblas, on the calling goroutine. For beta = 0 it clears c itself and passes beta = 1:
// Go's memclr is faster than OpenBLAS's separate scaling pass over c (the
// CNN step, with about 1,300 small products, took 5–10% less CPU time),
// and the result is the same (a NaN in the old c is not propagated either
// way).
func gemm[F Float](tA, tB blas.Transpose, alpha F, a, b general[F], beta F, c general[F]) {
	if beta == 0 {
		for r := 0; r < c.Rows; r++ {
			clear(c.Data[r*c.Stride : r*c.Stride+c.Cols])
		}
		beta = 1
	}
	if prec.Is32[F]() {
		blas32.Gemm(tA, tB, float32(alpha), g32(a), g32(b), float32(beta), g32(c))
		return
	}
	blas64.Gemm(tA, tB, float64(alpha), g64(a), g64(b), float64(beta), g64(c))
}

// gemmTile is gemm for a product computed inside a worker goroutine. With
// gonum it cuts c into tiles of at most 64 rows and 192 columns, three of
// gonum's 64×64 blocks, below the four from which gonum's Dgemm starts
// goroutines of its own (which would nest inside the worker's and allocate
// on every call); each element of c is still computed over the full inner
// dimension in one call. With OpenBLAS, which is single-threaded here, it
// is gemm.
func gemmTile[F Float](tA, tB blas.Transpose, alpha F, a, b general[F], beta F, c general[F]) {
	if !gemmTiles {
		gemm(tA, tB, alpha, a, b, beta, c)
		return
	}
	const tileRows, tileCols = 64, 192
	for i := 0; i < c.Rows; i += tileRows {
		ie := min(i+tileRows, c.Rows)
		for j := 0; j < c.Cols; j += tileCols {
			je := min(j+tileCols, c.Cols)
			gemm(tA, tB, alpha, opRows(a, tA, i, ie), opCols(b, tB, j, je), beta, cols(rows(c, i, ie), j, je))
		}
	}
}

// syrk computes the upper triangle of c = op(a)·op(a)ᵀ, c being n×n with
// row stride n.
func syrk[F Float](t blas.Transpose, a general[F], n int, c []F) {
	if prec.Is32[F]() {
		blas32.Syrk(t, 1, g32(a), 0, blas32.Symmetric{Uplo: blas.Upper, N: n, Stride: n, Data: prec.As32(c)})
		return
	}
	blas64.Syrk(t, 1, g64(a), 0, blas64.Symmetric{Uplo: blas.Upper, N: n, Stride: n, Data: prec.As64(c)})
}

// gemmParMin is the number of multiply-adds below which gemmPar does not
// split a product: below it the goroutine hand-off costs more than the
// second core saves.
const gemmParMin = 1 << 18

// gemmPar computes c = alpha·op(a)·op(b) + beta·c like gemm, with the rows
// of c (or its columns, when c has more columns than rows) split into one
// contiguous block per worker. Each element of c is computed by one call on
// one worker, over the full inner dimension, so the result depends only on
// the worker count. Products of fewer than gemmParMin multiply-adds, and
// every product when gemmSplits is false, run as one call.
func gemmPar[F Float](tA, tB blas.Transpose, alpha F, a, b general[F], beta F, c general[F]) {
	m, n := c.Rows, c.Cols
	k := a.Cols
	if tA == blas.Trans {
		k = a.Rows
	}
	p := workers()
	if !gemmSplits || p == 1 || m*n*k < gemmParMin || max(m, n) < 2*p {
		gemm(tA, tB, alpha, a, b, beta, c)
		return
	}
	if m >= n {
		parallel.Split(m, workers(), func(_, lo, hi int) {
			gemm(tA, tB, alpha, opRows(a, tA, lo, hi), b, beta, rows(c, lo, hi))
		})
		return
	}
	parallel.Split(n, workers(), func(_, lo, hi int) {
		gemm(tA, tB, alpha, a, opCols(b, tB, lo, hi), beta, cols(c, lo, hi))
	})
}

// rows returns rows [lo, hi) of g.
func rows[F Float](g general[F], lo, hi int) general[F] {
	return general[F]{Rows: hi - lo, Cols: g.Cols, Stride: g.Stride, Data: g.Data[lo*g.Stride:]}
}

// cols returns columns [lo, hi) of g.
func cols[F Float](g general[F], lo, hi int) general[F] {
	return general[F]{Rows: g.Rows, Cols: hi - lo, Stride: g.Stride, Data: g.Data[lo:]}
}

// opRows returns the part of g whose op(g) is rows [lo, hi) of op(g).
func opRows[F Float](g general[F], t blas.Transpose, lo, hi int) general[F] {
	if t == blas.NoTrans {
		return rows(g, lo, hi)
	}
	return cols(g, lo, hi)
}

// opCols returns the part of g whose op(g) is columns [lo, hi) of op(g).
func opCols[F Float](g general[F], t blas.Transpose, lo, hi int) general[F] {
	if t == blas.NoTrans {
		return cols(g, lo, hi)
	}
	return rows(g, lo, hi)
}

// sampleGemm computes C = A·B, or C += A·B when acc is set, for the small
// per-sample products of a convolution, with A(i, p) = a[i·rsA + p·csA]
// (csA = 1 for A stored by rows, rsA = 1 for A stored by columns), B
// k×n with row stride ldb and C m×n with row stride ldc. It uses
// vecmath.Gemm for n a multiple of 8 (its unpacked AVX2 kernels run these
// shapes at 27–36 GFLOP/s on the benchmark machine where OpenBLAS, packing
// every operand, reached 15–20; its Go twin, the same fused multiply-adds
// in the same order, elsewhere), and gemmTile for other n.
func sampleGemm[F Float](m, n, k int, a []F, rsA, csA int, b []F, ldb int, c []F, ldc int, acc bool) {
	if n%8 == 0 {
		vecmath.Gemm(m, n, k, a, rsA, csA, b, ldb, c, ldc, acc)
		return
	}
	if m == 1 && csA == 1 {
		// One row of A: its row stride is never used, but BLAS wants it
		// to be at least k (a convolution with one output position has
		// rsA = csA = 1).
		rsA = max(rsA, k, 1)
	}
	ga, tA := general[F]{Rows: m, Cols: k, Stride: rsA, Data: a}, blas.NoTrans
	switch {
	case csA == 1:
	case rsA == 1:
		ga, tA = general[F]{Rows: k, Cols: m, Stride: csA, Data: a}, blas.Trans
	default:
		panic("nn: sampleGemm: A must have unit row or column stride")
	}
	var beta F
	if acc {
		beta = 1
	}
	gemmTile(tA, blas.NoTrans, 1, ga, general[F]{Rows: k, Cols: n, Stride: ldb, Data: b},
		beta, general[F]{Rows: m, Cols: n, Stride: ldc, Data: c})
}
