//go:build amd64 && !purego

package vecmath

// sumSquaresAVX2 is SumSquares for len(x) a positive multiple of 16
// (blas1_amd64.s).
//
//go:noescape
func sumSquaresAVX2(x []float64) float64

// sumSquares is SumSquares: sumSquaresAVX2 for the blocks of sixteen when
// useAVX2 holds, sumSquaresGo for the rest.
func sumSquares(x []float64) float64 {
	n := 0
	var s float64
	if useAVX2 && len(x) >= 16 {
		n = len(x) &^ 15
		s = sumSquaresAVX2(x[:n])
	}
	return sumSquaresGo(s, x[n:])
}

// addScaledAVX2 is AddScaled for len(x) = len(dst) a positive multiple of
// 8 (blas1_amd64.s).
//
//go:noescape
func addScaledAVX2(dst []float64, alpha float64, x []float64)

// addScaled is AddScaled: addScaledAVX2 for the blocks of eight when
// useAVX2 holds, addScaledGo for the rest. len(dst) = len(x).
func addScaled(dst []float64, alpha float64, x []float64) {
	n := 0
	if useAVX2 {
		n = len(x) &^ 7
		if n > 0 {
			addScaledAVX2(dst[:n], alpha, x[:n])
		}
	}
	addScaledGo(dst[n:], alpha, x[n:])
}

// sumSquares32AVX2 is SumSquares for float32 and len(x) a positive
// multiple of 16 (blas1_amd64.s): sumSquaresAVX2 on the values converted
// to float64 (VCVTPS2PD), the same lanes, groups and order.
//
//go:noescape
func sumSquares32AVX2(x []float32) float64

// sumSquares32 is SumSquares for float32: sumSquares32AVX2 for the blocks
// of sixteen when useAVX2 holds, sumSquares32Go for the rest.
func sumSquares32(x []float32) float64 {
	n := 0
	var s float64
	if useAVX2 && len(x) >= 16 {
		n = len(x) &^ 15
		s = sumSquares32AVX2(x[:n])
	}
	return sumSquares32Go(s, x[n:])
}

// addScaled32AVX2 is AddScaled for float32 and len(x) = len(dst) a positive
// multiple of 16 (blas1_amd64.s).
//
//go:noescape
func addScaled32AVX2(dst []float32, alpha float32, x []float32)

// addScaled32 is AddScaled for float32: addScaled32AVX2 for the blocks of
// sixteen when useAVX2 holds, addScaledGo for the rest. len(dst) = len(x).
func addScaled32(dst []float32, alpha float32, x []float32) {
	n := 0
	if useAVX2 {
		n = len(x) &^ 15
		if n > 0 {
			addScaled32AVX2(dst[:n], alpha, x[:n])
		}
	}
	addScaledGo(dst[n:], alpha, x[n:])
}
