//go:build amd64 && !purego

package vecmath

// maxPool2S1AVX2 is MaxPool2 with stride 1 for w ≥ 5 (maxpool_amd64.s): it
// reports whether it met a NaN. It requires useAVX2 and does not check
// bounds.
//
//go:noescape
func maxPool2S1AVX2(y []float64, arg []int32, x []float64, c, h, w int) (nan bool)

// maxPool2S1 is MaxPool2 with stride 1 for w ≥ 5 on a processor with AVX2.
func maxPool2S1(y []float64, arg []int32, x []float64, c, h, w int) bool {
	return !maxPool2S1AVX2(y, arg, x, c, h, w)
}
