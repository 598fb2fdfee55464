//go:build amd64 && !purego

package vecmath

// sumSquaresAVX2 is SumSquares for len(x) a positive multiple of 16
// (blas1_amd64.s).
//
//go:noescape
func sumSquaresAVX2(x []float64) float64

// addScaledAVX2 is AddScaled for len(x) = len(dst) a positive multiple of
// 8 (blas1_amd64.s).
//
//go:noescape
func addScaledAVX2(dst []float64, alpha float64, x []float64)
