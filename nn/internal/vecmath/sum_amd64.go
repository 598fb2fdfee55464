//go:build amd64 && !purego

package vecmath

// sumAVX2 is Sum with AVX (sum_amd64.s). It requires useAVX2.
//
//go:noescape
func sumAVX2(x []float64) float64

// sum is Sum: sumAVX2 when useAVX2 holds, sumGo otherwise.
func sum(x []float64) float64 {
	if useAVX2 && len(x) >= 4 {
		return sumAVX2(x)
	}
	return sumGo(x)
}

// sum32AVX2 is Sum for float32 with AVX (sum_amd64.s). It requires useAVX2.
//
//go:noescape
func sum32AVX2(x []float32) float32

// sum32 is Sum for float32: sum32AVX2 when useAVX2 holds, sumGo otherwise.
func sum32(x []float32) float32 {
	if useAVX2 && len(x) >= 4 {
		return sum32AVX2(x)
	}
	return sumGo(x)
}
