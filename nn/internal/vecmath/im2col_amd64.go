//go:build amd64 && !purego

package vecmath

// gather4 and gather8 are gatherGo for k = 4 and k = 8 with SSE2 moves
// (im2col_amd64.s). They do not check bounds.
//
//go:noescape
func gather4(dst, src []float64, chans, rowStride, chanStride int)

//go:noescape
func gather8(dst, src []float64, chans, rowStride, chanStride int)

func gather(dst, src []float64, k, chans, rowStride, chanStride int) {
	switch k {
	case 4:
		gather4(dst, src, chans, rowStride, chanStride)
	case 8:
		gather8(dst, src, chans, rowStride, chanStride)
	default:
		gatherGo(dst, src, k, chans, rowStride, chanStride)
	}
}

// scatter4 and scatter8 are scatterGo for k = 4 and k = 8 with AVX
// (im2col_amd64.s): one four-wide addition per four values. They require
// useAVX2 and do not check bounds.
//
//go:noescape
func scatter4(dst, src []float64, chans, rowStride, chanStride int)

//go:noescape
func scatter8(dst, src []float64, chans, rowStride, chanStride int)

func scatter(dst, src []float64, k, chans, rowStride, chanStride int) {
	switch {
	case useAVX2 && k == 4:
		scatter4(dst, src, chans, rowStride, chanStride)
	case useAVX2 && k == 8:
		scatter8(dst, src, chans, rowStride, chanStride)
	default:
		scatterGo(dst, src, k, chans, rowStride, chanStride)
	}
}

// gather4x32, gather8x32, scatter4x32 and scatter8x32 are gather4,
// gather8, scatter4 and scatter8 for float32 (im2col_amd64.s); the scatters
// require useAVX2. They do not check bounds.
//
//go:noescape
func gather4x32(dst, src []float32, chans, rowStride, chanStride int)

//go:noescape
func gather8x32(dst, src []float32, chans, rowStride, chanStride int)

//go:noescape
func scatter4x32(dst, src []float32, chans, rowStride, chanStride int)

//go:noescape
func scatter8x32(dst, src []float32, chans, rowStride, chanStride int)

func gather32(dst, src []float32, k, chans, rowStride, chanStride int) {
	switch k {
	case 4:
		gather4x32(dst, src, chans, rowStride, chanStride)
	case 8:
		gather8x32(dst, src, chans, rowStride, chanStride)
	default:
		gatherGo(dst, src, k, chans, rowStride, chanStride)
	}
}

func scatter32(dst, src []float32, k, chans, rowStride, chanStride int) {
	switch {
	case useAVX2 && k == 4:
		scatter4x32(dst, src, chans, rowStride, chanStride)
	case useAVX2 && k == 8:
		scatter8x32(dst, src, chans, rowStride, chanStride)
	default:
		scatterGo(dst, src, k, chans, rowStride, chanStride)
	}
}
