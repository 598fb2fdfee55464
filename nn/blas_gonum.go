//go:build !openblas

package nn

// BLASBackend names the BLAS implementation the package was built with:
// "gonum" (pure Go, the default) or "openblas" (build tag openblas).
const BLASBackend = "gonum"
