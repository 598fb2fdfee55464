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

// transposeBias8x8_32 is transposeBias4x4 for float32, in 8×8 blocks
// (transpose_amd64.s): the first 8·mb rows and 8·nb columns of a. It
// requires useAVX2, mb, nb ≥ 1, and does not check bounds.
//
//go:noescape
func transposeBias8x8_32(y, a, bias *float32, m, n, mb, nb int)

// transposeAddBias32 is TransposeAddBias for float32: transposeBias8x8_32
// for the 8×8 blocks when useAVX2 holds, transposeAddBiasGo for the rest.
func transposeAddBias32(y, a, bias []float32, m, n int) {
	m8, n8 := 0, 0
	if useAVX2 && m >= 8 && n >= 8 {
		m8, n8 = m&^7, n&^7
		transposeBias8x8_32(&y[0], &a[0], &bias[0], m, n, m8/8, n8/8)
	}
	transposeAddBiasGo(y, a, bias, m, n, m8, n8)
}
