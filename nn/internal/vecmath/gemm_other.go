//go:build !amd64

package vecmath

func gemmTiles(m, n, k int, a []float64, rsA, csA int, b []float64, ldb int, c []float64, ldc int, acc bool) {
	panic("vecmath: no vector kernel")
}

// useAVX2 is false: there are no vector kernels on this architecture.
const useAVX2 = false

func gemmGatherTiles(m, n, k int, a []float64, rsA, csA int, b []float64, rowOff, blockOff []int, half int, c []float64, ldc int, acc bool) {
	panic("vecmath: no vector kernel")
}

func gemmGatherATiles(m, n, k int, a []float64, rowOff, colOff []int, b []float64, ldb int, c []float64, ldc int, acc bool) {
	panic("vecmath: no vector kernel")
}
