package scatter

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// BenchmarkTransform measures one 28×28 image on one goroutine; images/s
// per core is 1e9 / (ns/op).
func BenchmarkTransform(b *testing.B) {
	s := kymatio28
	ws := s.NewWorkspace()
	img, dst := smoothImage(rand.New(rand.NewPCG(1, 1))), make([]float64, s.Dim())
	b.ReportAllocs()
	for b.Loop() {
		s.Transform(dst, img, ws)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkTransformBatch measures batches of 256 images on GOMAXPROCS
// goroutines.
func BenchmarkTransformBatch(b *testing.B) {
	s := kymatio28
	const count = 256
	rng := rand.New(rand.NewPCG(1, 1))
	imgs := make([]float64, 0, count*784)
	for range count {
		imgs = append(imgs, smoothImage(rng)...)
	}
	dst := make([]float64, count*s.Dim())
	for b.Loop() {
		s.TransformBatch(dst, imgs, count)
	}
	b.ReportMetric(float64(b.N*count)/b.Elapsed().Seconds(), "images/s")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "procs")
}

// BenchmarkNew measures building the filter bank.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := New(Kymatio(28, 28)); err != nil {
			b.Fatal(err)
		}
	}
}
