package prec

import (
	"unsafe"

	"gonum.org/v1/gonum/floats"
)

// Float is the element type of precision-generic code: float32 or float64.
type Float interface{ float32 | float64 }

// Is32 reports whether F is float32.
func Is32[F Float]() bool {
	var z F
	_, ok := any(z).(float32)
	return ok
}

// As32 returns x viewed as a []float32 (the same memory, no copy). It panics
// if F is not float32.
func As32[F Float](x []F) []float32 {
	if !Is32[F]() {
		panic("prec: As32 of a float64 slice")
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(x))), len(x))
}

// As64 returns x viewed as a []float64 (the same memory, no copy). It panics
// if F is not float64.
func As64[F Float](x []F) []float64 {
	if Is32[F]() {
		panic("prec: As64 of a float32 slice")
	}
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(x))), len(x))
}

// Size returns the size of an F in bytes.
func Size[F Float]() int {
	if Is32[F]() {
		return 4
	}
	return 8
}

// Scale multiplies every element of x by f: with gonum's floats.Scale for
// float64, and as the float64 product rounded once to float32 for float32.
func Scale[F Float](f float64, x []F) {
	if !Is32[F]() {
		floats.Scale(f, As64(x))
		return
	}
	y := As32(x)
	for i, v := range y {
		y[i] = float32(f * float64(v))
	}
}
