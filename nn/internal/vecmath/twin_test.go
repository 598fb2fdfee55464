package vecmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The tests of this file run each assembly kernel's dispatch (the exported
// function, which uses the kernel where useAVX2 holds) side by side with
// its Go twin on the same inputs. Under the purego tag, or on another
// architecture, both sides are the Go twin and the tests pass trivially;
// the kernels' own tests (gemm_test.go, sum_test.go, …) check the results
// against references on every build. The tolerances:
//
//   - Gemm, GemmGather, GemmGatherA, Sum, MaxPool2, TransposeAddBias,
//     Im2col, Col2im: bit for bit (the twins do the same operations in the
//     same order).
//   - Tanh: within 3 ulp (the vector kernel uses a longer polynomial
//     instead of tanh64's table; TestTanh64 bounds both against math.Tanh).
//   - TanhGrad: 1e-15 relative to |dy| + |dx| (g − (g·y)·y fused against
//     g·(1 − y·y)).
//   - SumSquares, AddScaled: 1e-15 relative to Σ|terms| (lane order and
//     fused multiply-adds against a sum in order).
//
// In float32 (the …32 tests; ε32 = 2⁻²⁴, the unit roundoff of float32):
//
//   - Gemm, GemmGather, GemmGatherA, Sum: bit for bit (the same operations
//     in the same order; the Go twin of a float32 fused multiply-add is
//     fma32, correctly rounded).
//   - SumSquares: 1e-15 relative to Σ x² (accumulated in float64 in both,
//     lane order against order).
//   - AddScaled, TanhGrad: 4ε32 relative to |dst| + |alpha·x| and to
//     |dy| + |dx| (one fused rounding against two or three roundings of
//     at most ε32 of terms bounded by those).
//   - Tanh: within 2 float32 ulp (the vector kernel computes in float32,
//     the Go twin is tanh64 rounded to float32; TestTanh32 bounds both
//     against math.Tanh).
//   - Im2col, Col2im: bit for bit (copies, and the same additions in the
//     same order).
//   - MaxPool2, TransposeAddBias: bit for bit (selections of the values and
//     their indices; the same single addition).

// twinLens are slice lengths around the kernels' block sizes (4, 8, 16).
var twinLens = []int{0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100}

func randSlice(r *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	return x
}

func sameBits(a, b []float64) int {
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return i
		}
	}
	return -1
}

func TestTwinSum(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, n := range twinLens {
		x := randSlice(r, n)
		if got, want := Sum(x), sumGo(x); math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("n=%d: Sum = %v, sumGo = %v", n, got, want)
		}
	}
}

func TestTwinSumSquares(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, n := range twinLens {
		x := randSlice(r, n)
		got, want := SumSquares(x), sumSquaresGo(0, x)
		if math.Abs(got-want) > 1e-15*want {
			t.Errorf("n=%d: SumSquares = %v, sumSquaresGo = %v", n, got, want)
		}
	}
}

func TestTwinAddScaled(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	for _, n := range twinLens {
		x, d := randSlice(r, n), randSlice(r, n)
		got, want := append([]float64(nil), d...), append([]float64(nil), d...)
		AddScaled(got, 0.7, x)
		addScaledGo(want, 0.7, x)
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-15*(math.Abs(d[i])+math.Abs(0.7*x[i])) {
				t.Fatalf("n=%d: dst[%d] = %v, addScaledGo gives %v", n, i, got[i], want[i])
			}
		}
	}
}

func TestTwinTanh(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	for _, n := range twinLens {
		x := randSlice(r, n)
		got, want := make([]float64, n), make([]float64, n)
		Tanh(got, x)
		tanhGo(want, x)
		for i := range want {
			if d := ulps(got[i], want[i]); d > 3 {
				t.Fatalf("n=%d: Tanh(%v) = %v, tanhGo gives %v: %d ulp", n, x[i], got[i], want[i], d)
			}
		}
	}
}

func TestTwinTanhGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range twinLens {
		y, dy := make([]float64, n), randSlice(r, n)
		for i := range y {
			y[i] = math.Tanh(r.NormFloat64())
		}
		got, want := make([]float64, n), make([]float64, n)
		TanhGrad(got, y, dy)
		tanhGradGo(want, y, dy)
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-15*(math.Abs(dy[i])+math.Abs(want[i])) {
				t.Fatalf("n=%d: dx[%d] = %v, tanhGradGo gives %v", n, i, got[i], want[i])
			}
		}
	}
}

func TestTwinTransposeAddBias(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 30))
	for _, m := range []int{0, 1, 4, 5, 9, 16} {
		for _, n := range []int{0, 1, 3, 4, 8, 13} {
			a, bias := randSlice(r, m*n), randSlice(r, n)
			got, want := make([]float64, m*n), make([]float64, m*n)
			TransposeAddBias(got, a, bias, m, n)
			transposeAddBiasGo(want, a, bias, m, n, 0, 0)
			if i := sameBits(got, want); i >= 0 {
				t.Fatalf("m=%d n=%d: y[%d] = %v, Go twin %v", m, n, i, got[i], want[i])
			}
		}
	}
}

func TestTwinMaxPool2(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, sh := range []struct{ c, h, w, s int }{{1, 2, 2, 1}, {2, 5, 5, 1}, {3, 6, 9, 1}, {2, 7, 12, 1}, {2, 8, 8, 2}} {
		ho, wo := (sh.h-2)/sh.s+1, (sh.w-2)/sh.s+1
		x := randSlice(r, sh.c*sh.h*sh.w)
		y, arg := make([]float64, sh.c*ho*wo), make([]int32, sh.c*ho*wo)
		yg, argg := make([]float64, len(y)), make([]int32, len(arg))
		ok, okg := MaxPool2(y, arg, x, sh.c, sh.h, sh.w, sh.s), maxPool2Go(yg, argg, x, sh.c, sh.h, sh.w, sh.s)
		if ok != okg || sameBits(y, yg) >= 0 {
			t.Fatalf("%+v: MaxPool2 and maxPool2Go differ", sh)
		}
		for i := range arg {
			if arg[i] != argg[i] {
				t.Fatalf("%+v: arg[%d] = %d, maxPool2Go %d", sh, i, arg[i], argg[i])
			}
		}
		x[len(x)/2] = math.NaN()
		if MaxPool2(y, arg, x, sh.c, sh.h, sh.w, sh.s) || maxPool2Go(yg, argg, x, sh.c, sh.h, sh.w, sh.s) {
			t.Fatalf("%+v: a NaN not reported", sh)
		}
	}
}

// TestTwinMaxPool2_32 runs MaxPool2 in float32 (maxPool2S1AVX2_32's eight-
// and four-window paths, overlapping last blocks, stride 2 in Go) against
// maxPool2Go32 on values with ties and signed zeros and on random ones.
func TestTwinMaxPool2_32(t *testing.T) {
	values := []float32{-1, float32(math.Copysign(0, -1)), 0, 2, float32(math.Inf(-1))}
	r := rand.New(rand.NewPCG(61, 62))
	shapes := []struct{ c, h, w, s int }{
		{1, 2, 2, 1}, {2, 5, 5, 1}, {3, 6, 8, 1}, {2, 7, 9, 1}, {2, 5, 12, 1},
		{16, 14, 14, 1}, {32, 5, 5, 1}, {1, 3, 17, 1}, {2, 4, 25, 1}, {2, 8, 8, 2},
	}
	for _, sh := range shapes {
		ho, wo := (sh.h-2)/sh.s+1, (sh.w-2)/sh.s+1
		for trial := 0; trial < 4; trial++ {
			x := randSlice32(r, sh.c*sh.h*sh.w)
			if trial%2 == 0 {
				for i := range x {
					x[i] = values[r.IntN(len(values))]
				}
			}
			y, arg := make([]float32, sh.c*ho*wo), make([]int32, sh.c*ho*wo)
			yg, argg := make([]float32, len(y)), make([]int32, len(arg))
			ok, okg := MaxPool2(y, arg, x, sh.c, sh.h, sh.w, sh.s), maxPool2Go32(yg, argg, x, sh.c, sh.h, sh.w, sh.s)
			if !ok || !okg {
				t.Fatalf("%+v: a NaN reported: %v %v", sh, ok, okg)
			}
			if i := sameBits32(y, yg); i >= 0 {
				t.Fatalf("%+v: y[%d] = %v, maxPool2Go32 %v", sh, i, y[i], yg[i])
			}
			for i := range arg {
				if arg[i] != argg[i] {
					t.Fatalf("%+v: arg[%d] = %d, maxPool2Go32 %d", sh, i, arg[i], argg[i])
				}
			}
			// A NaN anywhere, the last value included, is reported.
			for _, at := range []int{r.IntN(len(x)), len(x) - 1} {
				v := x[at]
				x[at] = float32(math.NaN())
				if MaxPool2(y, arg, x, sh.c, sh.h, sh.w, sh.s) || maxPool2Go32(yg, argg, x, sh.c, sh.h, sh.w, sh.s) {
					t.Fatalf("%+v: a NaN at %d not reported", sh, at)
				}
				x[at] = v
			}
		}
	}
}

// TestTwinTransposeAddBias32 runs TransposeAddBias in float32
// (transposeBias8x8_32 and the Go rest) against transposeAddBiasGo.
func TestTwinTransposeAddBias32(t *testing.T) {
	r := rand.New(rand.NewPCG(63, 64))
	for _, m := range []int{0, 1, 7, 8, 9, 16, 25, 196} {
		for _, n := range []int{0, 1, 7, 8, 13, 16, 32} {
			a, bias := randSlice32(r, m*n), randSlice32(r, n)
			got, want := make([]float32, m*n+1), make([]float32, m*n+1)
			got[m*n], want[m*n] = 42, 42
			TransposeAddBias(got, a, bias, m, n)
			transposeAddBiasGo(want, a, bias, m, n, 0, 0)
			if i := sameBits32(got, want); i >= 0 {
				t.Fatalf("m=%d n=%d: y[%d] = %v, Go twin %v", m, n, i, got[i], want[i])
			}
		}
	}
}

func TestTwinIm2col(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	for _, k := range []int{3, 4, 8} {
		const chans, w, s = 2, 13, 1
		ho, wo := w-k+1, w-k+1
		hw := w * w
		xp := randSlice(r, chans*hw)
		kk := chans * k * k
		u, ug := make([]float64, ho*wo*kk), make([]float64, ho*wo*kk)
		Im2col(u, xp, k, chans, hw, w, s, ho, wo)
		for oh := 0; oh < ho; oh++ {
			for ow := 0; ow < wo; ow++ {
				row := oh*wo + ow
				gatherGo(ug[row*kk:(row+1)*kk], xp[oh*s*w+ow*s:], k, chans, w, hw)
			}
		}
		if i := sameBits(u, ug); i >= 0 {
			t.Fatalf("k=%d: Im2col u[%d] = %v, gatherGo %v", k, i, u[i], ug[i])
		}
		d, dg := randSlice(r, chans*hw), make([]float64, chans*hw)
		copy(dg, d)
		Col2im(d, u, k, chans, hw, w, s, ho, wo)
		for oh := 0; oh < ho; oh++ {
			for ow := 0; ow < wo; ow++ {
				row := oh*wo + ow
				scatterGo(dg[oh*s*w+ow*s:], u[row*kk:(row+1)*kk], k, chans, w, hw)
			}
		}
		if i := sameBits(d, dg); i >= 0 {
			t.Fatalf("k=%d: Col2im xp[%d] = %v, scatterGo %v", k, i, d[i], dg[i])
		}
	}
}

// TestTwinIm2col32 is TestTwinIm2col in float32 (gather4x32, scatter4x32,
// … against gatherGo and scatterGo).
func TestTwinIm2col32(t *testing.T) {
	r := rand.New(rand.NewPCG(53, 54))
	for _, k := range []int{3, 4, 8} {
		const chans, w, s = 2, 13, 1
		ho, wo := w-k+1, w-k+1
		hw := w * w
		xp := randSlice32(r, chans*hw)
		kk := chans * k * k
		u, ug := make([]float32, ho*wo*kk), make([]float32, ho*wo*kk)
		Im2col(u, xp, k, chans, hw, w, s, ho, wo)
		for oh := 0; oh < ho; oh++ {
			for ow := 0; ow < wo; ow++ {
				row := oh*wo + ow
				gatherGo(ug[row*kk:(row+1)*kk], xp[oh*s*w+ow*s:], k, chans, w, hw)
			}
		}
		if i := sameBits32(u, ug); i >= 0 {
			t.Fatalf("k=%d: Im2col u[%d] = %v, gatherGo %v", k, i, u[i], ug[i])
		}
		d, dg := randSlice32(r, chans*hw), make([]float32, chans*hw)
		copy(dg, d)
		Col2im(d, u, k, chans, hw, w, s, ho, wo)
		for oh := 0; oh < ho; oh++ {
			for ow := 0; ow < wo; ow++ {
				row := oh*wo + ow
				scatterGo(dg[oh*s*w+ow*s:], u[row*kk:(row+1)*kk], k, chans, w, hw)
			}
		}
		if i := sameBits32(d, dg); i >= 0 {
			t.Fatalf("k=%d: Col2im xp[%d] = %v, scatterGo %v", k, i, d[i], dg[i])
		}
	}
}

// TestTwinGemm runs the three Gemm families' kernels against gemmGo for
// every panel height (m = 1..13), odd and even k (the 2- and 1-row panels'
// streams and their tails), strided and transposed A, gathered A and B,
// and acc: the results must agree bit for bit.
func TestTwinGemm(t *testing.T) {
	r := rand.New(rand.NewPCG(35, 36))
	for m := 1; m <= 13; m++ {
		for _, k := range []int{1, 2, 3, 5, 8, 13} {
			for _, n := range []int{8, 24} {
				for _, acc := range []bool{false, true} {
					a := randSlice(r, m*k)
					b := randSlice(r, k*n+4)
					c0 := randSlice(r, m*n)
					for _, transA := range []bool{false, true} {
						rsA, csA := k, 1
						if transA {
							rsA, csA = 1, m
						}
						got, want := append([]float64(nil), c0...), append([]float64(nil), c0...)
						Gemm(m, n, k, a, rsA, csA, b, n, got, n, acc)
						gemmTilesGo(m, n, k, a, rsA, csA, b, n, want, n, acc)
						if i := sameBits(got, want); i >= 0 {
							t.Fatalf("Gemm m=%d n=%d k=%d acc=%v transA=%v: C[%d] = %v, gemmGo %v", m, n, k, acc, transA, i, got[i], want[i])
						}
					}
					// Gathered B: row p at p·n, block q at 8q+1, half = 4
					// or 5 (two runs one apart).
					rowOff, blockOff := make([]int, k), make([]int, n/8)
					for p := range rowOff {
						rowOff[p] = p * n
					}
					for q := range blockOff {
						blockOff[q] = 8*q + r.IntN(2)
					}
					for _, half := range []int{4, 5} {
						got, want := append([]float64(nil), c0...), append([]float64(nil), c0...)
						GemmGather(m, n, k, a, k, 1, b, NewOffsets(rowOff), NewOffsets(blockOff), half, got, n, acc)
						gemmGatherTilesGo(m, n, k, a, k, 1, b, rowOff, blockOff, half, want, n, acc)
						if i := sameBits(got, want); i >= 0 {
							t.Fatalf("GemmGather m=%d n=%d k=%d acc=%v half=%d: C[%d] = %v, gemmGo %v", m, n, k, acc, half, i, got[i], want[i])
						}
					}
					// Gathered A: row i at i (overlapping rows), column p
					// at 2p.
					ar, ac := make([]int, m), make([]int, k)
					for i := range ar {
						ar[i] = i
					}
					for p := range ac {
						ac[p] = 2 * p
					}
					ag := randSlice(r, m+2*k)
					got, want := append([]float64(nil), c0...), append([]float64(nil), c0...)
					GemmGatherA(m, n, k, ag, NewOffsets(ar), NewOffsets(ac), b, n, got, n, acc)
					gemmGatherATilesGo(m, n, k, ag, ar, ac, b, n, want, n, acc)
					if i := sameBits(got, want); i >= 0 {
						t.Fatalf("GemmGatherA m=%d n=%d k=%d acc=%v: C[%d] = %v, gemmGo %v", m, n, k, acc, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func randSlice32(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func sameBits32(a, b []float32) int {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// eps32 is the unit roundoff of float32, 2⁻²⁴.
const eps32 = 0x1p-24

func abs32(x float32) float64 { return math.Abs(float64(x)) }

func TestTwinSum32(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, n := range twinLens {
		x := randSlice32(r, n)
		if got, want := Sum(x), sumGo(x); math.Float32bits(got) != math.Float32bits(want) {
			t.Errorf("n=%d: Sum = %v, sumGo = %v", n, got, want)
		}
	}
}

func TestTwinSumSquares32(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	for _, n := range twinLens {
		x := randSlice32(r, n)
		got, want := SumSquares(x), sumSquares32Go(0, x)
		if math.Abs(got-want) > 1e-15*want {
			t.Errorf("n=%d: SumSquares = %v, sumSquares32Go = %v", n, got, want)
		}
	}
}

func TestTwinAddScaled32(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	const alpha = float32(0.7)
	for _, n := range twinLens {
		x, d := randSlice32(r, n), randSlice32(r, n)
		got, want := append([]float32(nil), d...), append([]float32(nil), d...)
		AddScaled(got, alpha, x)
		addScaledGo(want, alpha, x)
		for i := range want {
			if math.Abs(float64(got[i])-float64(want[i])) > 4*eps32*(abs32(d[i])+abs32(alpha*x[i])) {
				t.Fatalf("n=%d: dst[%d] = %v, addScaledGo gives %v", n, i, got[i], want[i])
			}
		}
	}
}

func TestTwinTanh32(t *testing.T) {
	r := rand.New(rand.NewPCG(47, 48))
	for _, n := range append(twinLens, 4096) {
		x := randSlice32(r, n)
		got, want := make([]float32, n), make([]float32, n)
		Tanh(got, x)
		tanh32Go(want, x)
		for i := range want {
			if d := ulps32(got[i], want[i]); d > 2 {
				t.Fatalf("n=%d: Tanh(%v) = %v, tanh32Go gives %v: %d ulp", n, x[i], got[i], want[i], d)
			}
		}
	}
}

func TestTwinTanhGrad32(t *testing.T) {
	r := rand.New(rand.NewPCG(49, 50))
	for _, n := range twinLens {
		y, dy := make([]float32, n), randSlice32(r, n)
		for i := range y {
			y[i] = float32(math.Tanh(r.NormFloat64()))
		}
		got, want := make([]float32, n), make([]float32, n)
		TanhGrad(got, y, dy)
		tanhGradGo(want, y, dy)
		for i := range want {
			if math.Abs(float64(got[i])-float64(want[i])) > 4*eps32*(abs32(dy[i])+abs32(want[i])) {
				t.Fatalf("n=%d: dx[%d] = %v, tanhGradGo gives %v", n, i, got[i], want[i])
			}
		}
	}
}

// TestTwinGemm32 is TestTwinGemm in float32, with n up to 72 so that the
// AVX2 kernels' tiles of sixteen columns and their last block of eight,
// and the AVX-512 kernels' tiles of 32 and 16 columns, are all taken: the
// results must agree bit for bit. Where useAVX512 holds, the AVX2 kernels
// are tested too, with it turned off.
func TestTwinGemm32(t *testing.T) {
	t.Run(fmt.Sprintf("avx512=%v", useAVX512), testTwinGemm32)
	if useAVX512 {
		useAVX512 = false
		defer func() { useAVX512 = true }()
		t.Run("avx512=false", testTwinGemm32)
	}
}

func testTwinGemm32(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	for m := 1; m <= 13; m++ {
		for _, k := range []int{1, 2, 3, 5, 8, 13} {
			for _, n := range []int{8, 16, 24, 40, 48, 64, 72} {
				for _, acc := range []bool{false, true} {
					a := randSlice32(r, m*k)
					b := randSlice32(r, k*n+4)
					c0 := randSlice32(r, m*n)
					for _, transA := range []bool{false, true} {
						rsA, csA := k, 1
						if transA {
							rsA, csA = 1, m
						}
						got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
						Gemm(m, n, k, a, rsA, csA, b, n, got, n, acc)
						gemmTiles32Go(m, n, k, a, rsA, csA, b, n, want, n, acc)
						if i := sameBits32(got, want); i >= 0 {
							t.Fatalf("Gemm m=%d n=%d k=%d acc=%v transA=%v: C[%d] = %v, gemmGo %v", m, n, k, acc, transA, i, got[i], want[i])
						}
					}
					rowOff, blockOff := make([]int, k), make([]int, n/8)
					for p := range rowOff {
						rowOff[p] = p * n
					}
					for q := range blockOff {
						blockOff[q] = 8*q + r.IntN(2)
					}
					for _, half := range []int{4, 5} {
						got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
						GemmGather(m, n, k, a, k, 1, b, NewOffsets(rowOff), NewOffsets(blockOff), half, got, n, acc)
						gemmGatherTiles32Go(m, n, k, a, k, 1, b, rowOff, blockOff, half, want, n, acc)
						if i := sameBits32(got, want); i >= 0 {
							t.Fatalf("GemmGather m=%d n=%d k=%d acc=%v half=%d: C[%d] = %v, gemmGo %v", m, n, k, acc, half, i, got[i], want[i])
						}
					}
					ar, ac := make([]int, m), make([]int, k)
					for i := range ar {
						ar[i] = i
					}
					for p := range ac {
						ac[p] = 2 * p
					}
					ag := randSlice32(r, m+2*k)
					got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
					GemmGatherA(m, n, k, ag, NewOffsets(ar), NewOffsets(ac), b, n, got, n, acc)
					gemmGatherATiles32Go(m, n, k, ag, ar, ac, b, n, want, n, acc)
					if i := sameBits32(got, want); i >= 0 {
						t.Fatalf("GemmGatherA m=%d n=%d k=%d acc=%v: C[%d] = %v, gemmGo %v", m, n, k, acc, i, got[i], want[i])
					}
				}
			}
		}
	}
}
