// Package peak measures the limits of the machine a benchmark runs on, so
// that dpmpi's step benchmarks can be reported as fractions of them: the
// GFLOP/s of large square matrix products in float64 and float32 (DGEMM and
// SGEMM), and memory bandwidth.
//
// The package holds only benchmarks, run by scripts/bench.sh in the same run
// as the steps they are compared with:
//
//	go test -run '^$' -bench . ./internal/peak                 # gonum's pure-Go BLAS
//	go test -tags openblas -run '^$' -bench . ./internal/peak  # OpenBLAS through gonum/netlib
//
// BenchmarkGEMM/TYPE/threads=T runs T independent n×n products at once, one
// per goroutine, each on a single-threaded BLAS, and reports their total
// GFLOP/s (2n³ floating-point operations a product); this is how dpmpi's nn
// package uses BLAS, from inside its own worker goroutines. BenchmarkCopy
// reports the bandwidth of copy() between buffers much larger than the
// caches, counting the bytes read and written.
package peak
