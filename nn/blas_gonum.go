//go:build !openblas

package nn

// BLASBackend names the BLAS implementation the package was built with:
// "gonum" (pure Go, the default) or "openblas" (build tag openblas).
const BLASBackend = "gonum"

// gemmSplits reports whether gemmPar splits large products over the
// workers. gonum's Dgemm also runs a product of at least four 64×64 output
// blocks on goroutines of its own, and that cannot be turned off; splitting
// on top of it measured slightly faster than leaving the whole product to
// gonum (MLP step 157 against 169 cpu-ms), so the policy is the same as
// with OpenBLAS.
const gemmSplits = true

// gemmTiles reports whether gemmTile cuts products into tiles small enough
// for gonum's Dgemm to stay on the calling goroutine.
const gemmTiles = true
