package nn

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// gemm computes c = alpha·op(a)·op(b) + beta·c through gonum's blas64, which
// is pure Go by default and OpenBLAS with the build tag openblas.
func gemm(tA, tB blas.Transpose, alpha float64, a, b blas64.General, beta float64, c blas64.General) {
	blas64.Gemm(tA, tB, alpha, a, b, beta, c)
}

// syrk computes the upper triangle of c = a·aᵀ.
func syrk(a blas64.General, c blas64.Symmetric) {
	blas64.Syrk(blas.NoTrans, 1, a, 0, c)
}
