//go:build amd64 && !purego

package vecmath

// transposeBias4x4 is TransposeAddBias for the first 4·mb rows and 4·nb
// columns of a, in 4×4 blocks with AVX (transpose_amd64.s). It requires
// useAVX2, mb, nb ≥ 1, and does not check bounds.
//
//go:noescape
func transposeBias4x4(y, a, bias *float64, m, n, mb, nb int)

// transposeAddBias is TransposeAddBias: transposeBias4x4 for the 4×4
// blocks when useAVX2 holds, transposeAddBiasGo for the rest.
func transposeAddBias(y, a, bias []float64, m, n int) {
	m4, n4 := 0, 0
	if useAVX2 && m >= 4 && n >= 4 {
		m4, n4 = m&^3, n&^3
		transposeBias4x4(&y[0], &a[0], &bias[0], m, n, m4/4, n4/4)
	}
	transposeAddBiasGo(y, a, bias, m, n, m4, n4)
}

// transposeAddBias32 is TransposeAddBias for float32: transposeAddBiasGo,
// as there is no float32 kernel.
func transposeAddBias32(y, a, bias []float32, m, n int) { transposeAddBiasGo(y, a, bias, m, n, 0, 0) }
