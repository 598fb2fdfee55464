// Package vecmath holds vector-instruction kernels for package nn. It is a
// package of its own because nn uses cgo in its OpenBLAS build, and a cgo
// package cannot contain Go assembly.
package vecmath

// Tanh stores tanh(x[i]) in y[i] for a prefix of x, with vector
// instructions where the processor has them, and returns the length of
// that prefix: len(x) rounded down to a multiple of 8 on amd64 with AVX2
// and FMA, 0 otherwise. The values are within 3 ulp of math.Tanh on nn's
// tests, with tanh(±0) = ±0, tanh(±Inf) = ±1 and tanh(NaN) = NaN. It panics
// if len(y) < len(x).
func Tanh(y, x []float64) int {
	y = y[:len(x)]
	return tanh(y, x)
}

// TanhGrad stores dy[i]·(1 − y[i]²) in dx[i], the gradient through tanh
// from its output y, for a prefix of dy computed with vector instructions
// (len(dy) rounded down to a multiple of 4 on amd64 with AVX2 and FMA, 0
// otherwise), and returns the length of that prefix. It panics if dx or y
// is shorter than dy.
func TanhGrad(dx, y, dy []float64) int {
	dx, y = dx[:len(dy)], y[:len(dy)]
	return tanhGrad(dx, y, dy)
}
