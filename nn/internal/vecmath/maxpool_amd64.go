//go:build amd64 && !purego

package vecmath

// maxPool2S1AVX2 is MaxPool2 with stride 1 for w ≥ 5 (maxpool_amd64.s): it
// reports whether it met a NaN. It requires useAVX2 and does not check
// bounds.
//
//go:noescape
func maxPool2S1AVX2(y []float64, arg []int32, x []float64, c, h, w int) (nan bool)

// maxPool2 is MaxPool2 on checked shapes, c > 0: maxPool2S1AVX2 for stride
// 1 and at least four outputs a row when useAVX2 holds, maxPool2Go
// otherwise.
func maxPool2(y []float64, arg []int32, x []float64, c, h, w, s int) bool {
	if s == 1 && w-1 >= 4 && useAVX2 {
		return !maxPool2S1AVX2(y, arg, x, c, h, w)
	}
	return maxPool2Go(y, arg, x, c, h, w, s)
}

// maxPool2S1AVX2_32 is maxPool2S1AVX2 for float32 (maxpool_amd64.s), eight
// windows at a time for w ≥ 9 and four for 5 ≤ w ≤ 8. It requires useAVX2
// and w ≥ 5, and does not check bounds.
//
//go:noescape
func maxPool2S1AVX2_32(y []float32, arg []int32, x []float32, c, h, w int) (nan bool)

// maxPool2_32 is MaxPool2 for float32 on checked shapes, c > 0:
// maxPool2S1AVX2_32 for stride 1 and at least four outputs a row when
// useAVX2 holds, maxPool2Go32 otherwise.
func maxPool2_32(y []float32, arg []int32, x []float32, c, h, w, s int) bool {
	if s == 1 && w-1 >= 4 && useAVX2 {
		return !maxPool2S1AVX2_32(y, arg, x, c, h, w)
	}
	return maxPool2Go32(y, arg, x, c, h, w, s)
}
