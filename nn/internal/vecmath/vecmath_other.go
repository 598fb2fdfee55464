//go:build purego || !amd64

package vecmath

// haveKernels says that this build has no assembly kernels (another
// architecture, or the purego tag): useAVX2 is false.
const haveKernels = false
