//go:build !openblas

package peak

// Backend names the BLAS the benchmarks run on.
const Backend = "gonum"
