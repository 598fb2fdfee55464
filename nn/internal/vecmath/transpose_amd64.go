//go:build amd64 && !purego

package vecmath

// transposeBias4x4 is TransposeAddBias for the first 4·mb rows and 4·nb
// columns of a, in 4×4 blocks with AVX (transpose_amd64.s). It requires
// useAVX2, mb, nb ≥ 1, and does not check bounds.
//
//go:noescape
func transposeBias4x4(y, a, bias *float64, m, n, mb, nb int)
