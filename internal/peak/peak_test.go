package peak

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// gemmSize is the side of the benchmarked square products: large enough
// that the BLAS runs at its peak, small enough for a quick benchmark.
const gemmSize = 1024

// product is one n×n product C = A·B in float64 or float32.
type product interface{ run() }

type dgemm struct{ a, b, c blas64.General }

func (p dgemm) run() { blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, p.a, p.b, 0, p.c) }

type sgemm struct{ a, b, c blas32.General }

func (p sgemm) run() { blas32.Gemm(blas.NoTrans, blas.NoTrans, 1, p.a, p.b, 0, p.c) }

func newDgemm(n int, r *rand.Rand) dgemm {
	g := func() blas64.General {
		m := blas64.General{Rows: n, Cols: n, Stride: n, Data: make([]float64, n*n)}
		for i := range m.Data {
			m.Data[i] = r.NormFloat64()
		}
		return m
	}
	return dgemm{g(), g(), g()}
}

func newSgemm(n int, r *rand.Rand) sgemm {
	g := func() blas32.General {
		m := blas32.General{Rows: n, Cols: n, Stride: n, Data: make([]float32, n*n)}
		for i := range m.Data {
			m.Data[i] = float32(r.NormFloat64())
		}
		return m
	}
	return sgemm{g(), g(), g()}
}

// TestProducts checks the benchmarked products against a direct sum, so
// that the GFLOP/s figures are those of correct products.
func TestProducts(t *testing.T) {
	const n = 67
	r := rand.New(rand.NewPCG(1, 2))
	d, s := newDgemm(n, r), newSgemm(n, r)
	d.run()
	s.run()
	for _, ij := range [][2]int{{0, 0}, {3, 60}, {66, 66}, {40, 2}} {
		i, j := ij[0], ij[1]
		var wd, ws float64
		for k := range n {
			wd += d.a.Data[i*n+k] * d.b.Data[k*n+j]
			ws += float64(s.a.Data[i*n+k]) * float64(s.b.Data[k*n+j])
		}
		if got := d.c.Data[i*n+j]; math.Abs(got-wd) > 1e-12*n {
			t.Errorf("%s DGEMM C[%d,%d] = %v, want %v", Backend, i, j, got, wd)
		}
		if got := float64(s.c.Data[i*n+j]); math.Abs(got-ws) > 1e-4*n {
			t.Errorf("%s SGEMM C[%d,%d] = %v, want %v", Backend, i, j, got, ws)
		}
	}
}

// BenchmarkGEMM reports the total GFLOP/s of T independent products run at
// once on T goroutines.
func BenchmarkGEMM(b *testing.B) {
	for _, typ := range []string{"float64", "float32"} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", typ, threads), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 2))
				ps := make([]product, threads)
				for i := range ps {
					if typ == "float64" {
						ps[i] = newDgemm(gemmSize, r)
					} else {
						ps[i] = newSgemm(gemmSize, r)
					}
				}
				b.ResetTimer()
				for range b.N {
					var wg sync.WaitGroup
					for _, p := range ps {
						wg.Go(p.run)
					}
					wg.Wait()
				}
				flops := 2 * float64(gemmSize*gemmSize*gemmSize) * float64(threads) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkCopy reports the bandwidth of copy() between 256 MiB buffers,
// read and written bytes counted, on 1 and 2 goroutines that each copy
// their half (or all) of the buffer.
func BenchmarkCopy(b *testing.B) {
	const size = 256 << 20
	src, dst := make([]byte, size), make([]byte, size)
	for i := range src {
		src[i] = byte(i)
	}
	copy(dst, src) // fault every page in before timing
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			for range b.N {
				var wg sync.WaitGroup
				for k := range threads {
					lo, hi := k*size/threads, (k+1)*size/threads
					wg.Go(func() { copy(dst[lo:hi], src[lo:hi]) })
				}
				wg.Wait()
			}
			b.ReportMetric(2*size*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
		})
	}
}
