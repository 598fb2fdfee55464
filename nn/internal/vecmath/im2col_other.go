//go:build purego || !amd64

package vecmath

func gather(dst, src []float64, k, chans, rowStride, chanStride int) {
	gatherGo(dst, src, k, chans, rowStride, chanStride)
}

func scatter(dst, src []float64, k, chans, rowStride, chanStride int) {
	scatterGo(dst, src, k, chans, rowStride, chanStride)
}

func scatter32(dst, src []float32, k, chans, rowStride, chanStride int) {
	scatterGo(dst, src, k, chans, rowStride, chanStride)
}

func gather32(dst, src []float32, k, chans, rowStride, chanStride int) {
	gatherGo(dst, src, k, chans, rowStride, chanStride)
}
