package nn

import (
	"math/rand/v2"
	"testing"
)

// Kernel benchmarks on the benchmark CNN's shapes, one sample per op. They
// report cpu-ns/op, the process CPU time per op, which other load on the
// machine disturbs less than the wall time.

// loopCPU runs f b.N times and reports the CPU time per call.
func loopCPU(b *testing.B, f func()) {
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		f()
	}
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
func benchConvLayer(b *testing.B, conv *Conv2d[float64], in []int) ([]float64, []float64) {
	if _, err := conv.setup(in); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, prod(in))
	for i := range x {
		x[i] = r.NormFloat64()
	}
	conv.workers()
	return x, make([]float64, conv.l*conv.kk)
}

func BenchmarkIm2colConv1(b *testing.B) {
	c := NewConv2d[float64](1, 16, 8, 2, 3)
	x, u := benchConvLayer(b, c, []int{1, 28, 28})
	loopCPU(b, func() { c.im2col(x, u, c.work[0].pad) })
}

func BenchmarkIm2colConv2(b *testing.B) {
	c := NewConv2d[float64](16, 32, 4, 2, 0)
	x, u := benchConvLayer(b, c, []int{16, 13, 13})
	loopCPU(b, func() { c.im2col(x, u, c.work[0].pad) })
}

func BenchmarkCol2imConv2(b *testing.B) {
	c := NewConv2d[float64](16, 32, 4, 2, 0)
	x, u := benchConvLayer(b, c, []int{16, 13, 13})
	loopCPU(b, func() { c.col2im(u, x, c.work[0].dpad) })
}
