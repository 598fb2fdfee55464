package vecmath

import "fmt"

// TransposeAddBias stores in y the transpose of the m×n row-major matrix a
// plus bias[j] on row j: y[j·m + i] = a[i·n + j] + bias[j] for i < m,
// j < n. It turns a convolution's output, computed as positions × channels,
// into channels × positions with the bias added. On amd64 with AVX2 the
// 4×4 blocks of float64 and the 8×8 blocks of float32 are transposed in
// registers, and the remaining rows and columns in Go; every value is the
// same single addition in F either way. It panics if m or n is negative or a slice is too short.
func TransposeAddBias[F Float](y, a, bias []F, m, n int) {
	if m < 0 || n < 0 || len(a) < m*n || len(y) < m*n || len(bias) < n {
		panic(fmt.Sprintf("vecmath: TransposeAddBias: bad shape m=%d n=%d for len(y)=%d len(a)=%d len(bias)=%d", m, n, len(y), len(a), len(bias)))
	}
	if is32[F]() {
		transposeAddBias32(as32(y), as32(a), as32(bias), m, n)
		return
	}
	transposeAddBias(as64(y), as64(a), as64(bias), m, n)
}

// transposeAddBiasGo is TransposeAddBias in Go for the values outside the
// first m4 rows and n4 columns of a (all of them for m4 = n4 = 0): the Go
// twin of transposeBias4x4 and transposeBias8x8_32, and the rest after
// them.
func transposeAddBiasGo[F Float](y, a, bias []F, m, n, m4, n4 int) {
	for j, b := range bias[:n] {
		lo := 0
		if j < n4 {
			lo = m4
		}
		yr := y[j*m : (j+1)*m]
		for i := lo; i < m; i++ {
			yr[i] = a[i*n+j] + b
		}
	}
}
