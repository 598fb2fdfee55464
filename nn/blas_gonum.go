//go:build !openblas

package nn

// BLASBackend names the BLAS implementation the package was built with:
// "gonum" (pure Go, the default) or "openblas" (build tag openblas).
const BLASBackend = "gonum"

// gemmSplits reports whether gemmPar splits large products over the
// workers. gonum's Dgemm already runs a large product on GOMAXPROCS
// goroutines of its own.
const gemmSplits = false
