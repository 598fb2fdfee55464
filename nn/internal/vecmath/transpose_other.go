//go:build purego || !amd64

package vecmath

func transposeAddBias(y, a, bias []float64, m, n int) { transposeAddBiasGo(y, a, bias, m, n, 0, 0) }

func transposeAddBias32(y, a, bias []float32, m, n int) { transposeAddBiasGo(y, a, bias, m, n, 0, 0) }
