//go:build amd64

package vecmath

// gather4 and gather8 are gatherGo for k = 4 and k = 8 with SSE2 moves
// (im2col_amd64.s). They do not check bounds.
//
//go:noescape
func gather4(dst, src []float64, chans, rowStride, chanStride int)

//go:noescape
func gather8(dst, src []float64, chans, rowStride, chanStride int)

func gather(dst, src []float64, k, chans, rowStride, chanStride int) {
	if k == 4 {
		gather4(dst, src, chans, rowStride, chanStride)
	} else {
		gather8(dst, src, chans, rowStride, chanStride)
	}
}
