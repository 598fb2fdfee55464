// Package vecmath holds vector-instruction kernels for package nn. It is a
// package of its own because nn uses cgo in its OpenBLAS build, and a cgo
// package cannot contain Go assembly.
//
// Each exported kernel has a pure-Go path that is always compiled and an
// AVX2+FMA assembly path chosen at run time (useAVX2). The assembly files
// follow golang.org/x/crypto's purego convention: they build under
// "amd64 && !purego", and their stand-ins under "purego || !amd64", so
// that go test -tags purego runs every kernel's Go path on an amd64 host
// (scripts/test.sh does). Under that tag no .s file is built.
package vecmath

import "golang.org/x/sys/cpu"

// useAVX2 reports whether the AVX2+FMA kernels run: the build has them
// (amd64 without the purego tag) and the processor and the operating
// system support AVX2 and FMA (golang.org/x/sys/cpu checks both, XCR0
// included). It is the package's only CPU switch.
var useAVX2 = haveKernels && cpu.X86.HasAVX2 && cpu.X86.HasFMA

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
