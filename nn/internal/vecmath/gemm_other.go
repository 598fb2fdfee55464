//go:build purego || !amd64

package vecmath

func gemmTiles(m, n, k int, a []float64, rsA, csA int, b []float64, ldb int, c []float64, ldc int, acc bool) {
	panic("vecmath: no vector kernel")
}

// haveKernels says that this build has no assembly kernels (another
// architecture, or the purego tag): useAVX2 is false.
const haveKernels = false

func gemmGatherTiles(m, n, k int, a []float64, rsA, csA int, b []float64, rowOff, blockOff []int, half int, c []float64, ldc int, acc bool) {
	panic("vecmath: no vector kernel")
}

func gemmGatherATiles(m, n, k int, a []float64, rowOff, colOff []int, b []float64, ldb int, c []float64, ldc int, acc bool) {
	panic("vecmath: no vector kernel")
}
