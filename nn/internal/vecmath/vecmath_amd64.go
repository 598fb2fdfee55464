//go:build amd64 && !purego

package vecmath

// haveKernels says that this build has the amd64 assembly kernels.
const haveKernels = true
