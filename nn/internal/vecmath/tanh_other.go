//go:build !amd64

package vecmath

func tanh(y, x []float64) int { return 0 }
