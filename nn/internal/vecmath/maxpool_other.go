//go:build !amd64

package vecmath

func maxPool2Row(y []float64, arg []int32, x []float64, off, w, n int) int { return 0 }
