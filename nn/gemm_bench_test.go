package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// BenchmarkConvGEMM times the per-sample products of the benchmark CNN's
// convolutions, one product per op, and reports GFLOP/s of CPU time.
func BenchmarkConvGEMM(b *testing.B) {
	type shape struct {
		name    string
		tA, tB  blas.Transpose
		m, n, k int
	}
	shapes := []shape{
		{"conv1-fwd-W.Ut", blas.NoTrans, blas.Trans, 16, 196, 64},
		{"conv1-fwd-U.Wt", blas.NoTrans, blas.Trans, 196, 16, 64},
		{"conv1-G-dY.U", blas.NoTrans, blas.NoTrans, 16, 64, 196},
		{"conv2-fwd-W.Ut", blas.NoTrans, blas.Trans, 32, 25, 256},
		{"conv2-G-dY.U", blas.NoTrans, blas.NoTrans, 32, 256, 25},
		{"conv2-dU-dYt.W", blas.Trans, blas.NoTrans, 25, 256, 32},
		{"conv1-fwd-8samples", blas.NoTrans, blas.Trans, 16, 8 * 196, 64},
		{"conv2-fwd-8samples", blas.NoTrans, blas.Trans, 32, 8 * 25, 256},
		{"conv2-dU-8samples", blas.Trans, blas.NoTrans, 8 * 25, 256, 32},
		{"square", blas.NoTrans, blas.NoTrans, 512, 512, 512},
	}
	r := rand.New(rand.NewPCG(1, 2))
	mat := func(rows, cols int) general[float64] { return randGeneral(r, rows, cols) }
	for _, s := range shapes {
		b.Run(fmt.Sprintf("%s-%dx%dx%d", s.name, s.m, s.n, s.k), func(b *testing.B) {
			var a, bm general[float64]
			if s.tA == blas.NoTrans {
				a = mat(s.m, s.k)
			} else {
				a = mat(s.k, s.m)
			}
			if s.tB == blas.NoTrans {
				bm = mat(s.k, s.n)
			} else {
				bm = mat(s.n, s.k)
			}
			c := mat(s.m, s.n)
			b.ResetTimer()
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				gemm(s.tA, s.tB, 1, a, bm, 1, c)
			}
			ns := float64((processCPU() - cpu0).Nanoseconds()) / float64(b.N)
			b.ReportMetric(ns, "cpu-ns/op")
			b.ReportMetric(2*float64(s.m*s.n*s.k)/ns, "GFLOP/s")
		})
	}
}
