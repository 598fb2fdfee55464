// Package vecmath holds vector-instruction kernels for package nn. It is a
// package of its own because nn uses cgo in its OpenBLAS build, and a cgo
// package cannot contain Go assembly.
//
// Every exported kernel is generic over its element type F, float32 or
// float64 (Float), so that nn is written once for both precisions. A kernel
// decides once per call which precision it runs, never per element: the
// branch is on the size of F, which the compiler knows in each of its two
// instantiations (Go stencils generic code by GC shape, and float32 and
// float64 have different shapes) and folds away, and the slices are
// reinterpreted, not copied, so neither precision allocates or pays. The float64
// kernels are those the package had before it was generic, unchanged bit for
// bit; the float32 kernels are their twins with eight lanes a register
// instead of four, and the documentation of each function says where the two
// differ (SumSquares, for one, accumulates in float64 in both).
//
// One convention holds for every kernel. An exported function is complete:
// it checks its arguments, then always does the whole job, and returns no
// "did I do it" flag or prefix length (MaxPool2's bool reports a NaN in the
// input, information the caller needs). Its work goes to an unexported
// dispatch function per precision, say sum and sum32, defined twice: in
// sum_amd64.go ("amd64 && !purego") it runs the assembly kernel (sumAVX2
// and sum32AVX2, in sum_amd64.s) when useAVX2 holds and the shape suits it,
// and the Go twin (sumGo, in sum.go, always compiled; generic where both
// precisions do the same operations, otherwise a float32 twin of its own
// such as sumSquares32Go) otherwise or for the tail; in sum_other.go
// ("purego || !amd64") it is the Go twin alone. This follows
// golang.org/x/crypto's purego convention: go test -tags purego runs every
// Go twin on an amd64 host (scripts/test.sh does), and under that tag no .s
// file is built. twin_test.go checks each assembly kernel against its Go
// twin on the same inputs, bit for bit or within a tolerance documented
// there, in both precisions.
package vecmath

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useAVX2 reports whether the AVX2+FMA kernels run: the build has them
// (amd64 without the purego tag) and the processor and the operating
// system support AVX2 and FMA (golang.org/x/sys/cpu checks both, XCR0
// included). It is the package's only CPU switch.
var useAVX2 = haveKernels && cpu.X86.HasAVX2 && cpu.X86.HasFMA

// Float is the element type of the kernels: float32 or float64 exactly
// (not types derived from them, so that a slice of F can be reinterpreted as
// one of float32 or float64).
type Float interface{ float32 | float64 }

// is32 reports whether F is float32. The size of a type parameter is not a
// constant of the language, but it is one of each instantiation (float32
// and float64 are different GC shapes), so the compiler removes the branch
// on it.
func is32[F Float]() bool {
	var z F
	return unsafe.Sizeof(z) == 4
}

// as32 and as64 return x as a []float32 or []float64 with the same
// backing array, length and capacity; F must be that type (see is32), so
// this is a change of static type only, which costs nothing.
func as32[F Float](x []F) []float32 { return *(*[]float32)(unsafe.Pointer(&x)) }

func as64[F Float](x []F) []float64 { return *(*[]float64)(unsafe.Pointer(&x)) }
