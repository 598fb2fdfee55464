//go:build openblas

package nn

// #cgo LDFLAGS: -lopenblas
// #include <cblas.h>
import "C"

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// BLASBackend names the BLAS implementation the package was built with:
// "gonum" (pure Go, the default) or "openblas" (build tag openblas).
const BLASBackend = "openblas"

func trans(t blas.Transpose) C.enum_CBLAS_TRANSPOSE {
	if t == blas.NoTrans {
		return C.CblasNoTrans
	}
	return C.CblasTrans
}

// gemm computes c = alpha·op(a)·op(b) + beta·c through OpenBLAS.
func gemm(tA, tB blas.Transpose, alpha float64, a, b blas64.General, beta float64, c blas64.General) {
	k := a.Cols
	if tA != blas.NoTrans {
		k = a.Rows
	}
	if c.Rows == 0 || c.Cols == 0 {
		return
	}
	if k == 0 {
		// Let gonum handle the degenerate scaling case.
		blas64.Gemm(tA, tB, alpha, a, b, beta, c)
		return
	}
	C.cblas_dgemm(C.CblasRowMajor, trans(tA), trans(tB), C.blasint(c.Rows), C.blasint(c.Cols), C.blasint(k),
		C.double(alpha), (*C.double)(&a.Data[0]), C.blasint(a.Stride), (*C.double)(&b.Data[0]), C.blasint(b.Stride),
		C.double(beta), (*C.double)(&c.Data[0]), C.blasint(c.Stride))
}

// syrk computes the upper triangle of c = a·aᵀ through OpenBLAS.
func syrk(a blas64.General, c blas64.Symmetric) {
	if c.N == 0 || a.Cols == 0 {
		blas64.Syrk(blas.NoTrans, 1, a, 0, c)
		return
	}
	C.cblas_dsyrk(C.CblasRowMajor, C.CblasUpper, C.CblasNoTrans, C.blasint(c.N), C.blasint(a.Cols),
		1, (*C.double)(&a.Data[0]), C.blasint(a.Stride), 0, (*C.double)(&c.Data[0]), C.blasint(c.Stride))
}
