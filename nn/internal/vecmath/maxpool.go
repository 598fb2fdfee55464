package vecmath

import (
	"fmt"
	"math"
)

// MaxPool2 computes 2×2 max pooling with stride s of one sample x of c
// channels of h×w values (row-major, channel after channel), without
// padding, for a sample without NaN. Output channel ch holds ho×wo values,
// ho = (h−2)/s + 1 and wo = (w−2)/s + 1, and y[(ch·ho + oh)·wo + ow] is the
// maximum of the window whose top left value is x[ch·h·w + oh·s·w + ow·s],
// arg the same index of that maximum's first occurrence in row-major order
// (a later value wins only if strictly larger, so that of +0 and −0 the
// first is kept), as in PyTorch.
//
// MaxPool2 reports whether x[:c·h·w] is free of NaN. If it is not, y and arg
// hold unspecified values and the caller must pool the sample with a
// NaN-aware method instead. With s = 1 every value of x is in some window.
//
// The results are the same in both precisions (a maximum is one of the
// values, and arg does not depend on F). With s = 1 and wo ≥ 4 on amd64
// with AVX2, one pass of vector instructions finds the maxima and the NaNs
// together (four windows at a time in float64, eight in float32 where
// wo ≥ 8); otherwise a scan for NaN precedes a scalar pass. It panics if h
// or w is less than 2, s is not positive, a slice is too short, or c·h·w
// does not fit an int32.
func MaxPool2[F Float](y []F, arg []int32, x []F, c, h, w, s int) bool {
	if c < 0 || h < 2 || w < 2 || s <= 0 {
		panic(fmt.Sprintf("vecmath: MaxPool2: bad shape c=%d h=%d w=%d s=%d", c, h, w, s))
	}
	ho, wo := (h-2)/s+1, (w-2)/s+1
	if n := c * h * w; len(x) < n || len(y) < c*ho*wo || len(arg) < c*ho*wo || n > math.MaxInt32 {
		panic(fmt.Sprintf("vecmath: MaxPool2: slices too short or too long: len(y)=%d len(arg)=%d len(x)=%d for c=%d h=%d w=%d s=%d", len(y), len(arg), len(x), c, h, w, s))
	}
	if c == 0 {
		return true
	}
	if is32[F]() {
		return maxPool2_32(as32(y), arg, as32(x[:c*h*w]), c, h, w, s)
	}
	return maxPool2(as64(y), arg, as64(x[:c*h*w]), c, h, w, s)
}

// maxPool2Go is MaxPool2 in Go, the Go twin of maxPool2S1AVX2. Its shapes
// have been checked.
func maxPool2Go(y []float64, arg []int32, x []float64, c, h, w, s int) bool {
	if hasNaN(x) {
		return false
	}
	ho, wo := (h-2)/s+1, (w-2)/s+1
	o := 0
	for ch := 0; ch < c; ch++ {
		base := ch * h * w
		for oh := 0; oh < ho; oh++ {
			top := base + oh*s*w
			t, b := x[top:top+(wo-1)*s+2], x[top+w:top+w+(wo-1)*s+2]
			yr, ar := y[o:o+wo], arg[o:o+wo]
			for ow := range yr {
				j := ow * s
				t0, t1, b0, b1 := t[j], t[j+1], b[j], b[j+1]
				// Every candidate is computed before the selections, so
				// that each compiles to a conditional move rather than a
				// branch, which would mispredict on random data.
				ti := int32(top + j)
				ti1, bi, bi1 := ti+1, ti+int32(w), ti+int32(w)+1
				tv, tv1 := math.Float64bits(t0), math.Float64bits(t1)
				bv, bv1 := math.Float64bits(b0), math.Float64bits(b1)
				if t1 > t0 {
					tv, ti = tv1, ti1
				}
				if b1 > b0 {
					bv, bi = bv1, bi1
				}
				// No NaN here, and ±0 compare equal: the builtin max
				// (branch-free) gives the row maxima for the comparison.
				if max(b0, b1) > max(t0, t1) {
					tv, ti = bv, bi
				}
				yr[ow], ar[ow] = math.Float64frombits(tv), ti
			}
			o += wo
		}
	}
	return true
}

// hasNaN reports whether xs holds a NaN, without branching per value: the
// largest magnitude bit pattern exceeds +Inf's exactly when there is one.
func hasNaN(xs []float64) bool {
	var m0, m1 uint64
	n := len(xs) &^ 1
	for j := 0; j < n; j += 2 {
		m0 = max(m0, math.Float64bits(xs[j])&^(1<<63))
		m1 = max(m1, math.Float64bits(xs[j+1])&^(1<<63))
	}
	if n < len(xs) {
		m0 = max(m0, math.Float64bits(xs[n])&^(1<<63))
	}
	return max(m0, m1) > 0x7ff0000000000000
}

// maxPool2Go32 is maxPool2Go for float32, MaxPool2 in float32 on checked
// shapes: the Go twin of maxPool2S1AVX2_32.
func maxPool2Go32(y []float32, arg []int32, x []float32, c, h, w, s int) bool {
	if hasNaN32(x) {
		return false
	}
	ho, wo := (h-2)/s+1, (w-2)/s+1
	o := 0
	for ch := 0; ch < c; ch++ {
		base := ch * h * w
		for oh := 0; oh < ho; oh++ {
			top := base + oh*s*w
			t, b := x[top:top+(wo-1)*s+2], x[top+w:top+w+(wo-1)*s+2]
			yr, ar := y[o:o+wo], arg[o:o+wo]
			for ow := range yr {
				j := ow * s
				t0, t1, b0, b1 := t[j], t[j+1], b[j], b[j+1]
				// Every candidate is computed before the selections, so
				// that each compiles to a conditional move rather than a
				// branch, which would mispredict on random data.
				ti := int32(top + j)
				ti1, bi, bi1 := ti+1, ti+int32(w), ti+int32(w)+1
				tv, tv1 := math.Float32bits(t0), math.Float32bits(t1)
				bv, bv1 := math.Float32bits(b0), math.Float32bits(b1)
				if t1 > t0 {
					tv, ti = tv1, ti1
				}
				if b1 > b0 {
					bv, bi = bv1, bi1
				}
				// No NaN here, and ±0 compare equal: the builtin max
				// (branch-free) gives the row maxima for the comparison.
				if max(b0, b1) > max(t0, t1) {
					tv, ti = bv, bi
				}
				yr[ow], ar[ow] = math.Float32frombits(tv), ti
			}
			o += wo
		}
	}
	return true
}

// hasNaN32 is hasNaN for float32 values.
func hasNaN32(xs []float32) bool {
	var m0, m1 uint32
	n := len(xs) &^ 1
	for j := 0; j < n; j += 2 {
		m0 = max(m0, math.Float32bits(xs[j])&^(1<<31))
		m1 = max(m1, math.Float32bits(xs[j+1])&^(1<<31))
	}
	if n < len(xs) {
		m0 = max(m0, math.Float32bits(xs[n])&^(1<<31))
	}
	return max(m0, m1) > 0x7f800000
}
