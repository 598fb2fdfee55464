//go:build purego || !amd64

package vecmath

func maxPool2S1(y []float64, arg []int32, x []float64, c, h, w int) bool {
	panic("vecmath: no vector kernel")
}
