//go:build openblas

package peak

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
import "C"

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
)

// Backend names the BLAS the benchmarks run on.
const Backend = "openblas"

// init makes OpenBLAS single-threaded, as package nn does, and routes
// gonum's blas32 and blas64 to it.
func init() {
	C.openblas_set_num_threads(1)
	blas64.Use(netlib.Implementation{})
	blas32.Use(netlib.Implementation{})
}
