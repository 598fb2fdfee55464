//go:build amd64

package vecmath

import "golang.org/x/sys/cpu"

// tanhAVX2 stores tanh(x[i]) in y[i] for the first len(x) &^ 7 values with
// AVX2 and FMA instructions (tanh_amd64.s). It requires len(y) ≥ len(x)
// and useAVX2.
//
//go:noescape
func tanhAVX2(y, x []float64)

// useAVX2 reports whether the processor and the operating system support
// AVX2 and FMA (golang.org/x/sys/cpu checks both, XCR0 included).
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

func tanh(y, x []float64) int {
	if !useAVX2 {
		return 0
	}
	tanhAVX2(y, x)
	return len(x) &^ 7
}

// tanhGradAVX2 is TanhGrad for the first len(dy) &^ 3 values
// (tanh_amd64.s). It does not check bounds.
//
//go:noescape
func tanhGradAVX2(dx, y, dy []float64)

func tanhGrad(dx, y, dy []float64) int {
	if !useAVX2 {
		return 0
	}
	tanhGradAVX2(dx, y, dy)
	return len(dy) &^ 3
}
