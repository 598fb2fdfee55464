//go:build openblas

package nn

// The netlib package calls CBLAS; link it against Debian's OpenBLAS
// (apt-get install libopenblas-dev) so that no CGO_LDFLAGS are needed.

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
import "C"

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
)

// BLASBackend names the BLAS implementation the package was built with:
// "gonum" (pure Go, the default) or "openblas" (build tag openblas).
const BLASBackend = "openblas"

// gemmSplits reports whether gemmPar splits large products over the
// workers. OpenBLAS runs single-threaded (see init), so it does.
const gemmSplits = true

// gemmTiles reports whether gemmTile cuts products into tiles; OpenBLAS
// does not need it.
const gemmTiles = false

// With the openblas tag, every blas64 and blas32 call in the program, this
// package's GEMMs (DGEMM for float64 models, SGEMM for float32 ones)
// included, goes to OpenBLAS through gonum's netlib binding.
//
// The package runs its own worker goroutines and calls BLAS from inside
// them, so init sets OpenBLAS to one thread with openblas_set_num_threads(1):
// this is a setting of the OpenBLAS library for the whole process, and it
// overrides OPENBLAS_NUM_THREADS. OpenBLAS built with threading support (the
// Debian libopenblas0-pthread package) serialises its buffer allocation
// with a lock and is safe to call from several threads at once; a
// single-threaded OpenBLAS build (USE_THREAD=0) without USE_LOCKING is not,
// and must not be linked here.
func init() {
	C.openblas_set_num_threads(1)
	blas64.Use(netlib.Implementation{})
	blas32.Use(netlib.Implementation{})
}
