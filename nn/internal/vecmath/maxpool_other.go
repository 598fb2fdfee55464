//go:build purego || !amd64

package vecmath

func maxPool2(y []float64, arg []int32, x []float64, c, h, w, s int) bool {
	return maxPool2Go(y, arg, x, c, h, w, s)
}

func maxPool2_32(y []float32, arg []int32, x []float32, c, h, w, s int) bool {
	return maxPool2Go32(y, arg, x, c, h, w, s)
}
