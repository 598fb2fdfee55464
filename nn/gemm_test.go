package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas"

	"github.com/dpmpi/dpmpi/optimizer"
)

// TestGemmSplit checks gemmPar and gemmTile against one gemm call on
// shapes that are split by rows, by columns and not at all, for every
// transposition: the split products must agree to rounding, and repeated
// calls must agree bit for bit (the split depends only on the shape and
// the worker count).
func TestGemmSplit(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	mat := func(rows, cols int) general[float64] { return randGeneral(r, rows, cols) }
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 3} {
		runtime.GOMAXPROCS(procs)
		for _, s := range []struct{ m, n, k int }{{256, 300, 200}, {10, 784, 256}, {512, 16, 64}, {7, 5, 3}, {200, 300, 17}} {
			for _, tA := range []blas.Transpose{blas.NoTrans, blas.Trans} {
				for _, tB := range []blas.Transpose{blas.NoTrans, blas.Trans} {
					name := fmt.Sprintf("procs=%d/%dx%dx%d/%c%c", procs, s.m, s.n, s.k, tA, tB)
					a, b := mat(s.m, s.k), mat(s.k, s.n)
					if tA == blas.Trans {
						a = mat(s.k, s.m)
					}
					if tB == blas.Trans {
						b = mat(s.n, s.k)
					}
					c0 := mat(s.m, s.n)
					want := general[float64]{Rows: s.m, Cols: s.n, Stride: s.n, Data: append([]float64(nil), c0.Data...)}
					gemm(tA, tB, 0.5, a, b, 2, want)
					for fname, f := range map[string]func(blas.Transpose, blas.Transpose, float64, general[float64], general[float64], float64, general[float64]){"gemmPar": gemmPar[float64], "gemmTile": gemmTile[float64]} {
						var prev []float64
						for run := 0; run < 2; run++ {
							got := general[float64]{Rows: s.m, Cols: s.n, Stride: s.n, Data: append([]float64(nil), c0.Data...)}
							f(tA, tB, 0.5, a, b, 2, got)
							for i, v := range got.Data {
								if d := math.Abs(v - want.Data[i]); d > 1e-12*(1+math.Abs(want.Data[i])) {
									t.Fatalf("%s %s: c[%d] = %v, gemm gives %v", name, fname, i, v, want.Data[i])
								}
								if prev != nil && math.Float64bits(v) != math.Float64bits(prev[i]) {
									t.Fatalf("%s %s: c[%d] differs between runs", name, fname, i)
								}
							}
							prev = got.Data
						}
					}
				}
			}
		}
	}
}

// TestBatchGradientDeterministic checks that the batch gradient
// (BackwardSum, per-worker partial sums added in worker order) and the
// ghost weighted sums are bit-identical from run to run for a fixed worker
// count, and agree to rounding across worker counts.
func TestBatchGradientDeterministic(t *testing.T) {
	const n = 37
	results := map[int][]float64{}
	for _, procs := range []int{1, 2, 3} {
		func() {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			var prev []float64
			for run := 0; run < 2; run++ {
				var got []float64
				for _, mode := range []GradMode{Ghost, Materialized} {
					s, a, x, y := build(t, testModels[1], n, 3)
					s.SetGradMode(mode)
					out := s.Forward(x, n)
					d := make([]float64, len(out))
					if err := SoftmaxCrossEntropy(out, y, 3, nil, d); err != nil {
						t.Fatal(err)
					}
					if err := s.BackwardSum(d); err != nil {
						t.Fatal(err)
					}
					got = append(got, a.Grads...)
					clear(a.Grads)
					w := make([]float64, n)
					for i := range w {
						w[i] = 1 / float64(i+1)
					}
					if err := s.Backward(d, func(l int, src optimizer.GradSource[float64]) error {
						src.AddWeighted(a.Grad(l), w)
						return nil
					}); err != nil {
						t.Fatal(err)
					}
					got = append(got, a.Grads...)
				}
				if prev != nil {
					for i := range got {
						if math.Float64bits(got[i]) != math.Float64bits(prev[i]) {
							t.Fatalf("GOMAXPROCS=%d: value %d differs between runs: %v, %v", procs, i, got[i], prev[i])
						}
					}
				}
				prev = got
			}
			results[procs] = prev
		}()
	}
	for i, v := range results[1] {
		for _, procs := range []int{2, 3} {
			if d := math.Abs(results[procs][i] - v); d > 1e-12*(1+math.Abs(v)) {
				t.Fatalf("value %d: %v with 1 worker, %v with %d", i, v, results[procs][i], procs)
			}
		}
	}
}

// randGeneral returns a rows×cols matrix of standard normal values from r.
func randGeneral(r *rand.Rand, rows, cols int) general[float64] {
	d := make([]float64, rows*cols)
	for i := range d {
		d[i] = r.NormFloat64()
	}
	return general[float64]{Rows: rows, Cols: cols, Stride: cols, Data: d}
}
