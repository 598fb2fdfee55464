package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/blas"

	"github.com/dpmpi/dpmpi/internal/prec"
	"github.com/dpmpi/dpmpi/optimizer"
)

// TestGemmSplit checks gemmPar and gemmTile against one gemm call on
// shapes that are split by rows, by columns and not at all, for every
// transposition: the split products must agree to rounding, and repeated
// calls must agree bit for bit (the split depends only on the shape and
// the worker count).
func TestGemmSplit(t *testing.T) {
	testGemmSplit[float64](t)
}

// TestGemmSplitFloat32 is TestGemmSplit for float32 (blas32), and checks
// the float32 products against float64 ones on the same values: element
// (i, j) of α·op(A)·op(B) + β·C is a sum of k+1 rounded products, within
// (k+2)·u·(|α|·(|op(A)|·|op(B)|)_ij + |β·C_ij|) of the exact value for
// u = 2⁻²⁴ (Higham §3.5), with a factor 4 of margin.
func TestGemmSplitFloat32(t *testing.T) {
	testGemmSplit[float32](t)
}

func testGemmSplit[F Float](t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	mat := func(rows, cols int) general[F] {
		g := randGeneral(r, rows, cols)
		d := make([]F, len(g.Data))
		for i, v := range g.Data {
			d[i] = F(v)
		}
		return general[F]{Rows: rows, Cols: cols, Stride: cols, Data: d}
	}
	as64 := func(g general[F], abs bool) general[float64] {
		d := make([]float64, len(g.Data))
		for i, v := range g.Data {
			d[i] = float64(v)
			if abs {
				d[i] = math.Abs(d[i])
			}
		}
		return general[float64]{Rows: g.Rows, Cols: g.Cols, Stride: g.Stride, Data: d}
	}
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
					want := general[F]{Rows: s.m, Cols: s.n, Stride: s.n, Data: append([]F(nil), c0.Data...)}
					gemm(tA, tB, 0.5, a, b, 2, want)
					// tol[i]: the bound on |want − exact| for float32,
					// 1e-12·(1 + |want|) between float64 products.
					tol := make([]float64, len(want.Data))
					for i, v := range want.Data {
						tol[i] = 1e-12 * (1 + math.Abs(float64(v)))
					}
					if prec.Is32[F]() {
						exact := as64(c0, false)
						gemm(tA, tB, 0.5, as64(a, false), as64(b, false), 2, exact)
						mag := as64(c0, true)
						gemm(tA, tB, 0.5, as64(a, true), as64(b, true), 2, mag)
						for i := range tol {
							tol[i] = 4 * float64(s.k+2) * unit32 * mag.Data[i]
							if d := math.Abs(float64(want.Data[i]) - exact.Data[i]); !(d <= tol[i]) {
								t.Fatalf("%s: float32 c[%d] = %v, float64 %v", name, i, want.Data[i], exact.Data[i])
							}
						}
					}
					for fname, f := range map[string]func(blas.Transpose, blas.Transpose, F, general[F], general[F], F, general[F]){"gemmPar": gemmPar[F], "gemmTile": gemmTile[F]} {
						var prev []F
						for run := 0; run < 2; run++ {
							got := general[F]{Rows: s.m, Cols: s.n, Stride: s.n, Data: append([]F(nil), c0.Data...)}
							f(tA, tB, 0.5, a, b, 2, got)
							for i, v := range got.Data {
								if d := math.Abs(float64(v - want.Data[i])); !(d <= 2*tol[i]) {
									t.Fatalf("%s %s: c[%d] = %v, gemm gives %v", name, fname, i, v, want.Data[i])
								}
								if prev != nil && math.Float64bits(float64(v)) != math.Float64bits(float64(prev[i])) {
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
