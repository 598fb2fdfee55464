// Package vecmath holds vector-instruction kernels for package nn. It is a
// package of its own because nn uses cgo in its OpenBLAS build, and a cgo
// package cannot contain Go assembly.
//
// One convention holds for every kernel. An exported function is complete:
// it checks its arguments, then always does the whole job, and returns no
// "did I do it" flag or prefix length (MaxPool2's bool reports a NaN in the
// input, information the caller needs). Its work goes to an unexported
// dispatch function, say sum, defined twice: in sum_amd64.go ("amd64 &&
// !purego") it runs the assembly kernel (sumAVX2, in sum_amd64.s) when
// useAVX2 holds and the shape suits it, and the Go twin (sumGo, in sum.go,
// always compiled) otherwise or for the tail; in sum_other.go ("purego ||
// !amd64") it is the Go twin alone. This follows golang.org/x/crypto's
// purego convention: go test -tags purego runs every Go twin on an amd64
// host (scripts/test.sh does), and under that tag no .s file is built.
// twin_test.go checks each assembly kernel against its Go twin on the same
// inputs, bit for bit or within a tolerance documented there.
package vecmath

import "golang.org/x/sys/cpu"

// useAVX2 reports whether the AVX2+FMA kernels run: the build has them
// (amd64 without the purego tag) and the processor and the operating
// system support AVX2 and FMA (golang.org/x/sys/cpu checks both, XCR0
// included). It is the package's only CPU switch.
var useAVX2 = haveKernels && cpu.X86.HasAVX2 && cpu.X86.HasFMA
