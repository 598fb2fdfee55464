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
