//go:build purego || !amd64

package vecmath

// useAVX512 is false in this build, which has no AVX-512 kernels.
var useAVX512 = false

func gemmTiles(m, n, k int, a []float64, rsA, csA int, b []float64, ldb int, c []float64, ldc int, acc bool) {
	gemmTilesGo(m, n, k, a, rsA, csA, b, ldb, c, ldc, acc)
}

func gemmGatherTiles(m, n, k int, a []float64, rsA, csA int, b []float64, rowOff, blockOff []int, half int, c []float64, ldc int, acc bool) {
	gemmGatherTilesGo(m, n, k, a, rsA, csA, b, rowOff, blockOff, half, c, ldc, acc)
}

func gemmGatherATiles(m, n, k int, a []float64, rowOff, colOff []int, b []float64, ldb int, c []float64, ldc int, acc bool) {
	gemmGatherATilesGo(m, n, k, a, rowOff, colOff, b, ldb, c, ldc, acc)
}

func gemmTiles32(m, n, k int, a []float32, rsA, csA int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	gemmTiles32Go(m, n, k, a, rsA, csA, b, ldb, c, ldc, acc)
}

func gemmGatherTiles32(m, n, k int, a []float32, rsA, csA int, b []float32, rowOff, blockOff []int, half int, c []float32, ldc int, acc bool) {
	gemmGatherTiles32Go(m, n, k, a, rsA, csA, b, rowOff, blockOff, half, c, ldc, acc)
}

func gemmGatherATiles32(m, n, k int, a []float32, rowOff, colOff []int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	gemmGatherATiles32Go(m, n, k, a, rowOff, colOff, b, ldb, c, ldc, acc)
}
