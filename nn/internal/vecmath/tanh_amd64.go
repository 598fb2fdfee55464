//go:build amd64 && !purego

package vecmath

// tanhAVX2 stores tanh(x[i]) in y[i] for the first len(x) &^ 7 values with
// AVX2 and FMA instructions (tanh_amd64.s). It requires len(y) ≥ len(x)
// and useAVX2.
//
//go:noescape
func tanhAVX2(y, x []float64)

// haveKernels says that this build has the amd64 assembly kernels.
const haveKernels = true

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
