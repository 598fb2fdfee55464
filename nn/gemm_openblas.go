//go:build openblas

package nn

// The netlib package calls CBLAS; link it against Debian's OpenBLAS
// (apt-get install libopenblas-dev) so that no CGO_LDFLAGS are needed.

// #cgo LDFLAGS: -lopenblas
import "C"

import (
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
)

// BLASBackend names the BLAS implementation the package was built with:
// "gonum" (pure Go, the default) or "openblas" (build tag openblas).
const BLASBackend = "openblas"

// With the openblas tag, every blas64 call in the program, this package's
// GEMMs included, goes to OpenBLAS through gonum's netlib binding.
func init() { blas64.Use(netlib.Implementation{}) }
