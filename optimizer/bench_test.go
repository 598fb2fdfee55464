package optimizer_test

import (
	"testing"
	"time"

	"github.com/dpmpi/dpmpi/optimizer"
)

// BenchmarkClipAccumulate clips and accumulates a dense B = 256 × n = 500 000
// block (1 GB) with flat clipping: per-sample norms, clip factors and the
// weighted sum into the gradient buffer. SetBytes is the block's size, so
// MB/s is the block bandwidth. Every iteration also times copy() of the same
// bytes into another buffer, so that the reported ratio clip/copy (copy time
// over clip time, ≥ 1 when clipping is faster than copying) compares the two
// under the same machine load. ns/op and MB/s cover both, so read clipGB/s,
// copyGB/s and clip/copy.
func BenchmarkClipAccumulate(b *testing.B) {
	const rows, n = 256, 500_000
	data := make([]float64, rows*n)
	for i := range data {
		data[i] = float64(i%1000)*1e-3 - 0.5
	}
	bytes := float64(8 * rows * n)
	dst := make([]float64, rows*n)
	copy(dst, data) // fault the pages in

	a := oneLayer(b, n)
	cfg := optimizer.Config{ExpectedBatchSize: rows, Generator: optimizer.NewSeededGenerator(1)}
	e, err := optimizer.NewEngine(a, mustSGD(b, 0), optimizer.FlatClipping(1), cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	srcs := []optimizer.GradSource[float64]{optimizer.NewDenseSource(rows, n, data)}
	if err := e.AddBackward(srcs); err != nil { // scratch buffers, helper goroutines
		b.Fatal(err)
	}
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	var clip, cp time.Duration
	for b.Loop() {
		t0 := time.Now()
		e.ZeroGrad()
		if err := e.AddBackward(srcs); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		copy(dst, data)
		cp += time.Since(t1)
		clip += t1.Sub(t0)
	}
	b.ReportMetric(bytes*float64(b.N)/float64(clip), "clipGB/s")
	b.ReportMetric(bytes*float64(b.N)/float64(cp), "copyGB/s")
	b.ReportMetric(float64(cp)/float64(clip), "clip/copy")
}

func BenchmarkNoise(b *testing.B) {
	const n = 1 << 20
	dst := make([]float64, n)
	sg, err := optimizer.NewSecureGenerator()
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name   string
		g      optimizer.Generator
		secure bool
	}{
		{"plain", optimizer.NewSeededGenerator(1), false},
		{"block", optimizer.NewBlockGenerator(1), false},
		{"secure", sg, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				optimizer.AddNoise(dst, 1, bc.g, bc.secure)
			}
			b.ReportMetric(float64(b.Elapsed())/float64(b.N)/n, "ns/coord")
		})
	}
}

func BenchmarkUpdater(b *testing.B) {
	const n = 1 << 20
	for _, kind := range []string{"sgd-momentum", "adam", "adamw"} {
		b.Run(kind, func(b *testing.B) {
			var u optimizer.Updater[float64]
			if kind == "adamw" {
				u = must(optimizer.NewAdamW[float64](1e-3, 0.9, 0.999, 1e-8, 1e-2))
			} else {
				u = newUpdater(kind)
			}
			p, g := make([]float64, n), make([]float64, n)
			for i := range g {
				g[i] = float64(i%7) - 3
			}
			u.Update(p, g) // allocate the state
			b.ReportAllocs()
			for b.Loop() {
				u.Update(p, g)
			}
			b.ReportMetric(float64(b.Elapsed())/float64(b.N)/n, "ns/param")
		})
	}
}
