//go:build purego || !amd64

package vecmath

func tanh(y, x []float64) { tanhGo(y, x) }

func tanhGrad(dx, y, dy []float64) { tanhGradGo(dx, y, dy) }

func tanh32(y, x []float32) { tanh32Go(y, x) }

func tanhGrad32(dx, y, dy []float32) { tanhGradGo(dx, y, dy) }
