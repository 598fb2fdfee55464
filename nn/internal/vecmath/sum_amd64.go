//go:build amd64 && !purego

package vecmath

// sumAVX2 is Sum with AVX (sum_amd64.s). It requires useAVX2.
//
//go:noescape
func sumAVX2(x []float64) float64
