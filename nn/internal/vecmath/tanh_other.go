//go:build purego || !amd64

package vecmath

func tanh(y, x []float64) { tanhGo(y, x) }

func tanhGrad(dx, y, dy []float64) { tanhGradGo(dx, y, dy) }
