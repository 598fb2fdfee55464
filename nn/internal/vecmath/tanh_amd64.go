//go:build amd64 && !purego

package vecmath

// tanhAVX2 stores tanh(x[i]) in y[i] for the first len(x) &^ 7 values with
// AVX2 and FMA instructions (tanh_amd64.s). It requires len(y) ≥ len(x)
// and useAVX2.
//
//go:noescape
func tanhAVX2(y, x []float64)

// tanh is Tanh: tanhAVX2 for the blocks of 8 when useAVX2 holds, tanhGo
// for the rest.
func tanh(y, x []float64) {
	n := 0
	if useAVX2 {
		tanhAVX2(y, x)
		n = len(x) &^ 7
	}
	tanhGo(y[n:], x[n:])
}

// tanhGradAVX2 is TanhGrad for the first len(dy) &^ 3 values
// (tanh_amd64.s). It does not check bounds.
//
//go:noescape
func tanhGradAVX2(dx, y, dy []float64)

// tanhGrad is TanhGrad: tanhGradAVX2 for the blocks of 4 when useAVX2
// holds, tanhGradGo for the rest.
func tanhGrad(dx, y, dy []float64) {
	n := 0
	if useAVX2 {
		tanhGradAVX2(dx, y, dy)
		n = len(dy) &^ 3
	}
	tanhGradGo(dx[n:], y[n:], dy[n:])
}

// tanh32AVX2 stores tanh(x[i]) in y[i] for the first len(x) &^ 7 float32
// values with AVX2 and FMA instructions in float32 arithmetic
// (tanh_amd64.s). It requires len(y) ≥ len(x) and useAVX2.
//
//go:noescape
func tanh32AVX2(y, x []float32)

// tanh32 is Tanh for float32: tanh32AVX2 for the blocks of 8 when useAVX2
// holds, tanh32Go for the rest.
func tanh32(y, x []float32) {
	n := 0
	if useAVX2 {
		tanh32AVX2(y, x)
		n = len(x) &^ 7
	}
	tanh32Go(y[n:], x[n:])
}

// tanhGrad32AVX2 is TanhGrad for float32 for the first len(dy) &^ 7 values
// (tanh_amd64.s). It does not check bounds.
//
//go:noescape
func tanhGrad32AVX2(dx, y, dy []float32)

// tanhGrad32 is TanhGrad for float32: tanhGrad32AVX2 for the blocks of 8
// when useAVX2 holds, tanhGradGo for the rest.
func tanhGrad32(dx, y, dy []float32) {
	n := 0
	if useAVX2 {
		tanhGrad32AVX2(dx, y, dy)
		n = len(dy) &^ 7
	}
	tanhGradGo(dx[n:], y[n:], dy[n:])
}
