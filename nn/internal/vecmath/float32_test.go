package vecmath

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// The tests of this file check the float32 kernels against the float64
// kernels on the same inputs (float32 values, exact in float64), within
// float32 tolerances derived from the number of roundings, and the
// properties that are exact: SumSquares in float32 is SumSquares in float64
// on the converted values, and the kernels that only move, compare or add
// two values give the float64 results rounded to float32 (the sum of two
// float32 values rounded to float64 and then to float32 is the sum
// rounded once, as 53 ≥ 2·24 + 2).

// to64 converts float32 values to float64 exactly.
func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// ulps32 returns the distance between a and b in float32 units in the last
// place.
func ulps32(a, b float32) int64 {
	ia, ib := int64(int32(math.Float32bits(a))), int64(int32(math.Float32bits(b)))
	if ia < 0 {
		ia = math.MinInt32 - ia
	}
	if ib < 0 {
		ib = math.MinInt32 - ib
	}
	d := ia - ib
	if d < 0 {
		d = -d
	}
	return d
}

// TestFMA32 checks fma32, the Go twin of VFMADD231PS, against x·y + z
// computed exactly and rounded once to float32 (big.Float), on random
// operands of every relative magnitude, on sums that cancel, and on the
// cases that defeat a plain float64 evaluation: x·y + z just off a float32
// midpoint by less than a float64 ulp, where rounding first to float64
// lands on the midpoint.
func TestFMA32(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	exact := func(x, y, z float32) float32 {
		p := new(big.Float).SetPrec(200).SetFloat64(float64(x))
		p.Mul(p, new(big.Float).SetFloat64(float64(y)))
		p.Add(p, new(big.Float).SetFloat64(float64(z)))
		f, _ := p.Float32()
		return f
	}
	check := func(x, y, z float32) {
		t.Helper()
		if got, want := fma32(x, y, z), exact(x, y, z); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("fma32(%g, %g, %g) = %g, want %g", x, y, z, got, want)
		}
	}
	rnd := func(e int) float32 {
		return float32(math.Ldexp(r.Float64()+0.5, e) * float64(1-2*r.IntN(2)))
	}
	for i := 0; i < 200000; i++ {
		x, y := rnd(r.IntN(40)-20), rnd(r.IntN(40)-20)
		var z float32
		switch i % 4 {
		case 0:
			z = rnd(r.IntN(120) - 60)
		case 1: // cancellation
			z = -float32(float64(x) * float64(y))
			z = math.Float32frombits(math.Float32bits(z) + uint32(r.IntN(5)) - 2)
		case 2: // z just below the ulp of x·y
			z = float32(math.Ldexp(float64(rnd(0)), math.Ilogb(float64(x)*float64(y))-r.IntN(60)-20))
		default: // products near the subnormals
			x, y = rnd(r.IntN(20)-75), rnd(r.IntN(20)-60)
			z = rnd(r.IntN(40) - 140)
		}
		check(x, y, z)
	}
	// (1 + 2⁻¹²)² = 1 + 2⁻¹¹ + 2⁻²⁴: plus −2⁻¹¹ it is the midpoint 1 + 2⁻²⁴,
	// and a tiny z of either sign must decide the rounding.
	x := float32(1 + 0x1p-12)
	for _, z := range []float32{0x1p-80, -0x1p-80, 0x1p-60, -0x1p-60} {
		check(x, x, z-0x1p-11)
		check(x, x, z)
	}
	inf := float32(math.Inf(1))
	for _, c := range [][3]float32{{inf, 1, 1}, {inf, 0, 1}, {1, 1, -inf}, {inf, 1, -inf}, {3e38, 3e38, 0}, {0, 0, 0}} {
		want := float32(math.FMA(float64(c[0]), float64(c[1]), float64(c[2])))
		if got := fma32(c[0], c[1], c[2]); math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
			t.Errorf("fma32(%v) = %v, want %v", c, got, want)
		}
	}
}

// TestGemm32 compares the three Gemm families in float32 with Gemm in
// float64 on the same float32 inputs, over the shapes of TestGemm plus
// n = 40 and 72 (tiles of sixteen columns and a last block of eight). A
// float32 chain of k fused multiply-adds (plus the accumulated value, plus
// the 2- and 1-row panels' stream sums) has an error of at most
// (k+2)·ε32·Σ|A(i,p)·B(p,j)| (+|C|) to first order (Higham, Accuracy and
// Stability of Numerical Algorithms, §3.1); the float64 result is far
// more accurate, so that is the tolerance.
func TestGemm32(t *testing.T) {
	r := rand.New(rand.NewPCG(63, 64))
	for _, m := range []int{1, 2, 3, 4, 5, 6, 7, 8, 13, 25} {
		for _, n := range []int{8, 16, 24, 40, 72} {
			for _, k := range []int{1, 2, 3, 7, 25, 64} {
				transA, acc := (m+k)%2 == 0, k%2 == 1
				rsA, csA := k, 1
				if transA {
					rsA, csA = 1, m
				}
				ldb, ldc := n+3, n+5
				a, b, c := randSlice32(r, m*k), randSlice32(r, (k-1)*ldb+n), randSlice32(r, (m-1)*ldc+n)
				a64, b64 := to64(a), to64(b)
				got, want := append([]float32(nil), c...), to64(c)
				Gemm(m, n, k, a, rsA, csA, b, ldb, got, ldc, acc)
				Gemm(m, n, k, a64, rsA, csA, b64, ldb, want, ldc, acc)
				// Gathered forms of the same product: B's rows at p·ldb and
				// blocks at 8q with half = 4; A's rows at i·rsA and columns
				// at p·csA.
				rows, blocks := make([]int, k), make([]int, n/8)
				for p := range rows {
					rows[p] = p * ldb
				}
				for q := range blocks {
					blocks[q] = 8 * q
				}
				ar, ac := make([]int, m), make([]int, k)
				for i := range ar {
					ar[i] = i * rsA
				}
				for p := range ac {
					ac[p] = p * csA
				}
				gotG, gotA := append([]float32(nil), c...), append([]float32(nil), c...)
				GemmGather(m, n, k, a, rsA, csA, b, NewOffsets(rows), NewOffsets(blocks), 4, gotG, ldc, acc)
				GemmGatherA(m, n, k, a, NewOffsets(ar), NewOffsets(ac), b, ldb, gotA, ldc, acc)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						var abs float64
						for p := 0; p < k; p++ {
							abs += math.Abs(a64[i*rsA+p*csA] * b64[p*ldb+j])
						}
						if acc {
							abs += abs32(c[i*ldc+j])
						}
						tol := float64(k+2) * eps32 * abs
						w := want[i*ldc+j]
						for name, g := range map[string]float32{"Gemm": got[i*ldc+j], "GemmGather": gotG[i*ldc+j], "GemmGatherA": gotA[i*ldc+j]} {
							if math.Abs(float64(g)-w) > tol {
								t.Fatalf("m=%d n=%d k=%d: %s C(%d, %d) = %v, float64 %v (tolerance %g)", m, n, k, name, i, j, g, w, tol)
							}
						}
						if got[i*ldc+j] != gotG[i*ldc+j] || got[i*ldc+j] != gotA[i*ldc+j] {
							t.Fatalf("m=%d n=%d k=%d: C(%d, %d): Gemm %v, GemmGather %v, GemmGatherA %v differ", m, n, k, i, j, got[i*ldc+j], gotG[i*ldc+j], gotA[i*ldc+j])
						}
					}
					for j := n; i < m-1 && j < ldc; j++ {
						if got[i*ldc+j] != c[i*ldc+j] || gotG[i*ldc+j] != c[i*ldc+j] || gotA[i*ldc+j] != c[i*ldc+j] {
							t.Fatalf("m=%d n=%d k=%d: padding C[%d] written", m, n, k, i*ldc+j)
						}
					}
				}
			}
		}
	}
}

// TestGemm32Conv runs the gathered float32 products on the offset tables of
// the benchmark CNN's convolutions (two runs of four half = w apart for
// k = 4) against Gemm in float32 on the explicitly gathered operand, which
// must agree bit for bit.
func TestGemm32Conv(t *testing.T) {
	r := rand.New(rand.NewPCG(65, 66))
	for _, cv := range []struct{ out, chans, kern, w, ho, wo, s int }{{16, 1, 8, 34, 14, 14, 2}, {32, 16, 4, 13, 5, 5, 2}, {24, 2, 4, 9, 6, 6, 1}} {
		kk, l := cv.chans*cv.kern*cv.kern, cv.ho*cv.wo
		rows, cols, blocks, half := convTables(cv.chans, cv.kern, cv.w, cv.ho, cv.wo, cv.s)
		img := randSlice32(r, cv.chans*cv.w*cv.w)
		u := make([]float32, l*kk) // the unrolled input, l × kk
		Im2col(u, img, cv.kern, cv.chans, cv.w*cv.w, cv.w, cv.s, cv.ho, cv.wo)
		dy, wT := randSlice32(r, cv.out*l), randSlice32(r, kk*cv.out)
		for _, acc := range []bool{false, true} {
			g, gw := randSlice32(r, cv.out*kk), make([]float32, cv.out*kk)
			copy(gw, g)
			// G = dY·U: B = U (l × kk) gathered from the image.
			GemmGather(cv.out, kk, l, dy, l, 1, img, NewOffsets(rows), NewOffsets(blocks), half, g, kk, acc)
			Gemm(cv.out, kk, l, dy, l, 1, u, kk, gw, kk, acc)
			if i := sameBits32(g, gw); i >= 0 {
				t.Fatalf("%+v acc=%v: GemmGather G[%d] = %v, Gemm %v", cv, acc, i, g[i], gw[i])
			}
			// Yᵀ = U·Wᵀ: A = U gathered from the image.
			yt, ytw := randSlice32(r, l*cv.out), make([]float32, l*cv.out)
			copy(ytw, yt)
			GemmGatherA(l, cv.out, kk, img, NewOffsets(rows), NewOffsets(cols), wT, cv.out, yt, cv.out, acc)
			Gemm(l, cv.out, kk, u, kk, 1, wT, cv.out, ytw, cv.out, acc)
			if i := sameBits32(yt, ytw); i >= 0 {
				t.Fatalf("%+v acc=%v: GemmGatherA Yt[%d] = %v, Gemm %v", cv, acc, i, yt[i], ytw[i])
			}
		}
	}
}

// TestSumSquares32 checks that SumSquares of float32 values is SumSquares
// of the same values in float64, bit for bit (each square is exact in
// float64 and the sums are the same), for every length up to 70, and that
// the float64 sum is within float64 rounding of the exact sum: the float32
// input loses nothing to its precision.
func TestSumSquares32(t *testing.T) {
	r := rand.New(rand.NewPCG(67, 68))
	for n := 0; n <= 70; n++ {
		x := make([]float32, n)
		exact := new(big.Float).SetPrec(1000)
		for i := range x {
			x[i] = float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(40)-20)))
			v := new(big.Float).SetFloat64(float64(x[i]))
			exact.Add(exact, v.Mul(v, v))
		}
		got, want := SumSquares(x), SumSquares(to64(x))
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("n=%d: SumSquares(float32) = %v, SumSquares(float64) = %v", n, got, want)
		}
		if e, _ := exact.Float64(); math.Abs(got-e) > float64(n+1)*0x1p-53*e {
			t.Fatalf("n=%d: SumSquares(float32) = %v, exact %v", n, got, e)
		}
		if n > 0 {
			x[n/2] = float32(math.Inf(-1))
			if got := SumSquares(x); !math.IsInf(got, 1) {
				t.Errorf("n=%d with -Inf: SumSquares = %v, want +Inf", n, got)
			}
			x[n-1] = float32(math.NaN())
			if got := SumSquares(x); !math.IsNaN(got) {
				t.Errorf("n=%d with NaN: SumSquares = %v, want NaN", n, got)
			}
		}
	}
	// Float32 accumulation would round 1 + 2⁻¹³·2⁻¹³ to 1; float64 keeps it.
	x := []float32{1, 0x1p-13}
	if got := SumSquares(x); got != 1+0x1p-26 {
		t.Errorf("SumSquares(%v) = %v, want 1 + 2⁻²⁶", x, got)
	}
}

// TestSum32 checks Sum in float32 bit for bit against sumGo, its documented
// order, and against the float64 sum of the same values within the bound
// of a recursive float32 sum of len(x) terms, n·ε32·Σ|x|.
func TestSum32(t *testing.T) {
	r := rand.New(rand.NewPCG(69, 70))
	for n := 0; n <= 70; n++ {
		for trial := 0; trial < 5; trial++ {
			x := make([]float32, n)
			var abs float64
			for i := range x {
				x[i] = float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(20)-10)))
				abs += abs32(x[i])
			}
			got, ref, want := Sum(x), sumGo(x), Sum(to64(x))
			if math.Float32bits(got) != math.Float32bits(ref) {
				t.Fatalf("n=%d: Sum = %v, sumGo = %v", n, got, ref)
			}
			if bound := float64(n) * eps32 * abs; math.Abs(float64(got)-want) > bound {
				t.Fatalf("n=%d: Sum(float32) = %v, float64 %v, bound %v", n, got, want, bound)
			}
		}
	}
	inf := float32(math.Inf(1))
	for _, n := range []int{7, 25, 40} {
		x := make([]float32, n)
		x[n-1] = inf
		if got := Sum(x); got != inf {
			t.Errorf("n=%d: Sum with +Inf = %v", n, got)
		}
		x[0] = -inf
		if got := Sum(x); got == got {
			t.Errorf("n=%d: Sum with ±Inf = %v, want NaN", n, got)
		}
	}
}

// TestAddScaled32 compares AddScaled in float32 with the float64 result
// rounded to float32 (within 2 ulp: one rounding of the fused form or two
// of a multiply and an add, each at most ε32 of |dst| + |alpha·x|), for
// every length up to 40, and checks that elements past len(x) are left
// alone.
func TestAddScaled32(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	for n := 0; n <= 40; n++ {
		x, dst := randSlice32(r, n), randSlice32(r, n+3)
		alpha := float32(r.NormFloat64())
		want := to64(dst)
		AddScaled(want, float64(alpha), to64(x))
		d0 := append([]float32(nil), dst...)
		AddScaled(dst, alpha, x)
		for i := range x {
			if math.Abs(float64(dst[i])-want[i]) > 2*eps32*(abs32(d0[i])+abs32(alpha)*abs32(x[i])) {
				t.Fatalf("n=%d: dst[%d] = %v, float64 %v", n, i, dst[i], want[i])
			}
		}
		for i := n; i < len(dst); i++ {
			if dst[i] != d0[i] {
				t.Fatalf("n=%d: dst[%d] past len(x) changed", n, i)
			}
		}
	}
}

// TestTanh32 compares Tanh in float32 (and tanh32Go, its Go twin) with
// math.Tanh rounded to float32 on special values, on a dense grid over
// [−12, 12] (past the point from which tanh rounds to ±1), on every float32
// in [0.25, 0.5] and near zero, and on random values of every magnitude:
// within 2 ulp. math.Tanh is within an ulp or two in float64, which decides
// the float32 rounding of all but a vanishing fraction of values.
func TestTanh32(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	special := []struct{ x, want float32 }{
		{0, 0}, {negZero, negZero}, {inf, 1}, {-inf, -1},
		{0x1p-149, 0x1p-149}, {-1e-40, -1e-40}, {10, 1}, {-9.5, -1}, {3e38, 1},
	}
	var xs []float32
	for len(xs) < 72 {
		for _, s := range special {
			xs = append(xs, s.x)
		}
	}
	xs = append(xs[:72:72], nan, nan, nan, nan, nan, nan, nan, nan, 1, 2, 3)
	for name, f := range map[string]func(y, x []float32){"tanh32Go": tanh32Go, "Tanh": Tanh[float32]} {
		ys := make([]float32, len(xs))
		f(ys, xs)
		for i, x := range xs[:72] {
			if want := special[i%len(special)].want; math.Float32bits(ys[i]) != math.Float32bits(want) {
				t.Errorf("%s: tanh(%g) = %g, want %g", name, x, ys[i], want)
			}
		}
		for i := 72; i < 80; i++ {
			if ys[i] == ys[i] {
				t.Errorf("%s: tanh(NaN) = %g, want NaN", name, ys[i])
			}
		}
	}
	const maxULP = 2
	worst := map[string]int64{}
	buf := make([]float32, 0, 1<<16)
	ys, yv := make([]float32, 1<<16), make([]float32, 1<<16)
	flush := func() {
		tanh32Go(ys, buf)
		Tanh(yv, buf)
		for i, x := range buf {
			want := float32(math.Tanh(float64(x)))
			for name, got := range map[string]float32{"tanh32Go": ys[i], "Tanh": yv[i]} {
				if d := ulps32(got, want); d > worst[name] {
					worst[name] = d
					if d > maxULP {
						t.Fatalf("%s(%v) = %v, math.Tanh = %v: %d ulp apart", name, x, got, want, d)
					}
				}
			}
		}
		buf = buf[:0]
	}
	check := func(x float32) {
		if buf = append(buf, x); len(buf) == cap(buf) {
			flush()
		}
	}
	for i := -1_200_000; i <= 1_200_000; i++ {
		check(float32(i) * 1e-5)
	}
	for b := math.Float32bits(0.25); b <= math.Float32bits(0.5); b++ {
		check(math.Float32frombits(b))
	}
	for b := uint32(0); b < 1<<20; b++ {
		check(-math.Float32frombits(b * 1013))
	}
	r := rand.New(rand.NewPCG(73, 74))
	for i := 0; i < 1_000_000; i++ {
		check(float32(math.Ldexp(r.Float64(), r.IntN(70)-60) * float64(1-2*r.IntN(2))))
	}
	buf = append(buf, 0.5, -0.25, 3)
	flush()
	t.Logf("largest differences from math.Tanh rounded to float32 (ulp): %v; vector instructions used: %v", worst, useAVX2)
}

// TestTanhGrad32 compares TanhGrad in float32 with the float64 result on
// the same values: dy·(1 − y²) in float32 takes at most three roundings of
// terms bounded by |dy| (|y| ≤ 1), hence 4ε32·|dy|.
func TestTanhGrad32(t *testing.T) {
	r := rand.New(rand.NewPCG(75, 76))
	for _, n := range []int{0, 1, 7, 8, 9, 16, 33, 100} {
		y, dy := make([]float32, n), randSlice32(r, n)
		for i := range y {
			y[i] = float32(math.Tanh(2 * r.NormFloat64()))
		}
		dx, want := make([]float32, n), make([]float64, n)
		TanhGrad(dx, y, dy)
		TanhGrad(want, to64(y), to64(dy))
		for i := range dx {
			if math.Abs(float64(dx[i])-want[i]) > 4*eps32*abs32(dy[i]) {
				t.Fatalf("n=%d: dx[%d] = %v, float64 %v", n, i, dx[i], want[i])
			}
		}
	}
}

// TestMaxPool2_32 checks that MaxPool2 in float32 gives the float64
// results on the same values, maxima and indices, ties and signed zeros
// included, and reports a NaN as float64 does, on shapes of TestMaxPool2.
func TestMaxPool2_32(t *testing.T) {
	values := []float32{-1, float32(math.Copysign(0, -1)), 0, 0.5, 2, float32(math.Inf(-1)), float32(math.Inf(1))}
	r := rand.New(rand.NewPCG(77, 78))
	for _, tt := range []struct{ c, h, w, s int }{{1, 2, 5, 1}, {3, 5, 5, 1}, {16, 14, 14, 1}, {32, 5, 5, 1}, {2, 8, 9, 2}, {3, 7, 14, 2}, {0, 3, 5, 1}} {
		ho, wo := (tt.h-2)/tt.s+1, (tt.w-2)/tt.s+1
		n, out := tt.c*tt.h*tt.w, tt.c*ho*wo
		for trial := 0; trial < 10; trial++ {
			x := make([]float32, n)
			for i := range x {
				x[i] = values[r.IntN(len(values))]
				if trial%2 == 1 {
					x[i] = float32(r.NormFloat64())
				}
			}
			y, arg := make([]float32, out), make([]int32, out)
			y64, arg64 := make([]float64, out), make([]int32, out)
			ok, ok64 := MaxPool2(y, arg, x, tt.c, tt.h, tt.w, tt.s), MaxPool2(y64, arg64, to64(x), tt.c, tt.h, tt.w, tt.s)
			if !ok || !ok64 {
				t.Fatalf("%+v: a NaN reported: %v %v", tt, ok, ok64)
			}
			for o := range y {
				if math.Float64bits(float64(y[o])) != math.Float64bits(y64[o]) || arg[o] != arg64[o] {
					t.Fatalf("%+v: output %d is %v at %d, float64 %v at %d", tt, o, y[o], arg[o], y64[o], arg64[o])
				}
			}
			if n > 0 {
				x[r.IntN(n)] = float32(math.NaN())
				if MaxPool2(y, arg, x, tt.c, tt.h, tt.w, tt.s) {
					t.Fatalf("%+v: NaN not reported", tt)
				}
			}
		}
	}
	for _, tt := range []struct {
		x    []float32
		want bool
	}{
		{nil, false},
		{[]float32{float32(math.Inf(1)), float32(math.Inf(-1)), math.MaxFloat32}, false},
		{[]float32{1, 2, float32(math.Copysign(math.NaN(), -1))}, true},
		{[]float32{1, float32(math.NaN()), 3}, true},
	} {
		if got := hasNaN32(tt.x); got != tt.want {
			t.Errorf("hasNaN32(%v) = %v, want %v", tt.x, got, tt.want)
		}
	}
}

// TestTransposeAddBias32 checks TransposeAddBias in float32 bit for bit
// against the float64 result rounded to float32, special values included.
func TestTransposeAddBias32(t *testing.T) {
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-40}
	r := rand.New(rand.NewPCG(79, 80))
	for _, s := range []struct{ m, n int }{{196, 16}, {25, 32}, {4, 4}, {13, 9}, {1, 1}, {0, 4}, {4, 0}} {
		a, bias := randSlice32(r, s.m*s.n), randSlice32(r, s.n)
		for i := range a {
			if r.IntN(8) == 0 {
				a[i] = special[r.IntN(len(special))]
			}
		}
		y, y64 := make([]float32, s.m*s.n+1), make([]float64, s.m*s.n)
		y[s.m*s.n] = 42
		TransposeAddBias(y, a, bias, s.m, s.n)
		TransposeAddBias(y64, to64(a), to64(bias), s.m, s.n)
		for i, w := range y64 {
			if g := y[i]; math.Float32bits(g) != math.Float32bits(float32(w)) {
				t.Fatalf("%+v: y[%d] = %v, float64 %v", s, i, g, w)
			}
		}
		if y[s.m*s.n] != 42 {
			t.Fatalf("%+v: wrote past m·n values", s)
		}
	}
}

// TestIm2col32 checks Im2col in float32 against the float64 kernel (a copy:
// bit for bit) and Col2im against the float64 kernel on the same values,
// within c·ε32·(|xp| + Σ|terms|) for an element receiving c terms (a
// recursive float32 sum).
func TestIm2col32(t *testing.T) {
	r := rand.New(rand.NewPCG(81, 82))
	for _, tt := range []struct{ k, chans, h, w, s int }{{4, 16, 13, 13, 2}, {4, 3, 9, 7, 1}, {8, 1, 34, 34, 2}, {8, 2, 11, 10, 3}, {3, 2, 9, 8, 2}} {
		ho, wo := (tt.h-tt.k)/tt.s+1, (tt.w-tt.k)/tt.s+1
		hw, kk := tt.h*tt.w, tt.chans*tt.k*tt.k
		xp := randSlice32(r, tt.chans*hw)
		u, u64 := make([]float32, ho*wo*kk), make([]float64, ho*wo*kk)
		Im2col(u, xp, tt.k, tt.chans, hw, tt.w, tt.s, ho, wo)
		Im2col(u64, to64(xp), tt.k, tt.chans, hw, tt.w, tt.s, ho, wo)
		for i := range u {
			if float64(u[i]) != u64[i] {
				t.Fatalf("%+v: Im2col u[%d] = %v, float64 %v", tt, i, u[i], u64[i])
			}
		}
		for i := range u {
			u[i] = float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(20)-10)))
		}
		got, want := append([]float32(nil), xp...), to64(xp)
		Col2im(got, u, tt.k, tt.chans, hw, tt.w, tt.s, ho, wo)
		Col2im(want, to64(u), tt.k, tt.chans, hw, tt.w, tt.s, ho, wo)
		// abs and cnt: Σ|terms| and the number of terms of each element.
		abs, cnt := to64(xp), make([]int, len(xp))
		for i := range abs {
			abs[i] = math.Abs(abs[i])
		}
		for p := 0; p < ho*wo; p++ {
			oh, ow := p/wo, p%wo
			for c := 0; c < tt.chans; c++ {
				for a := 0; a < tt.k; a++ {
					for b := 0; b < tt.k; b++ {
						j := c*hw + (oh*tt.s+a)*tt.w + ow*tt.s + b
						abs[j] += abs32(u[p*kk+(c*tt.k+a)*tt.k+b])
						cnt[j]++
					}
				}
			}
		}
		for i := range got {
			if tol := float64(cnt[i]) * eps32 * abs[i]; math.Abs(float64(got[i])-want[i]) > tol {
				t.Fatalf("%+v: Col2im xp[%d] = %v, float64 %v (tolerance %g)", tt, i, got[i], want[i], tol)
			}
		}
	}
}

// TestPanics32 checks that the float32 kernels refuse bad shapes and short
// slices with the messages of the float64 ones.
func TestPanics32(t *testing.T) {
	f := func(n int) []float32 { return make([]float32, n) }
	checkPanics(t, []panicCase{
		{"Gemm short a", func() { Gemm(2, 8, 3, f(5), 3, 1, f(24), 8, f(16), 8, false) }},
		{"Gemm short b", func() { Gemm(2, 8, 3, f(6), 3, 1, f(23), 8, f(16), 8, false) }},
		{"Gemm short c", func() { Gemm(2, 8, 3, f(6), 3, 1, f(24), 8, f(15), 8, false) }},
		{"Gemm n not a multiple of 8", func() { Gemm(2, 12, 3, f(6), 3, 1, f(36), 12, f(24), 12, false) }},
		{"Gemm negative stride", func() { Gemm(2, 8, 3, f(6), -3, 1, f(24), 8, f(16), 8, false) }},
		{"GemmGather offset past the end of b", func() {
			GemmGather(1, 8, 1, f(1), 1, 1, f(10), NewOffsets([]int{3}), NewOffsets([]int{0}), 4, f(8), 8, false)
		}},
		{"GemmGather too few block offsets", func() {
			GemmGather(1, 16, 1, f(1), 1, 1, f(100), NewOffsets([]int{0}), NewOffsets([]int{0}), 4, f(16), 16, false)
		}},
		{"GemmGatherA offset past the end of a", func() {
			GemmGatherA(1, 8, 1, f(4), NewOffsets([]int{2}), NewOffsets([]int{2}), f(8), 8, f(8), 8, false)
		}},
		{"GemmGatherA too few row offsets", func() {
			GemmGatherA(2, 8, 1, f(4), NewOffsets([]int{0}), NewOffsets([]int{0}), f(8), 8, f(16), 8, false)
		}},
		{"MaxPool2 short x", func() { MaxPool2(f(169), make([]int32, 169), f(195), 1, 14, 14, 1) }},
		{"MaxPool2 s = 0", func() { MaxPool2(f(169), make([]int32, 169), f(196), 1, 14, 14, 0) }},
		{"TransposeAddBias short bias", func() { TransposeAddBias(f(64), f(64), f(7), 8, 8) }},
		{"Im2col k = 0", func() { Im2col(f(100), f(100), 0, 1, 100, 10, 1, 1, 1) }},
		{"Col2im short u", func() { Col2im(f(16*169), f(25*256-1), 4, 16, 169, 13, 2, 5, 5) }},
		{"AddScaled short dst", func() { AddScaled(f(3), 1, f(4)) }},
		{"Tanh short y", func() { Tanh(f(3), f(4)) }},
		{"TanhGrad short y", func() { TanhGrad(f(4), f(3), f(4)) }},
	})
}

// TestAllocs checks that no kernel allocates, in either precision: the
// dispatch on the element type reinterprets the slices.
func TestAllocs(t *testing.T) {
	testAllocs[float32](t)
	testAllocs[float64](t)
}

func testAllocs[F Float](t *testing.T) {
	const m, n, k = 13, 24, 9
	a, b, c := make([]F, m*k), make([]F, k*n), make([]F, m*n)
	rows, blocks, cols := make([]int, k), make([]int, n/8), make([]int, k)
	for p := range rows {
		rows[p], cols[p] = p*n, p
	}
	for q := range blocks {
		blocks[q] = 8 * q
	}
	ar := make([]int, m)
	for i := range ar {
		ar[i] = i * k
	}
	ro, bo, co, aro := NewOffsets(rows), NewOffsets(blocks), NewOffsets(cols), NewOffsets(ar)
	x, y, z := make([]F, 2*14*14), make([]F, 2*14*14), make([]F, 2*14*14)
	arg := make([]int32, 2*13*13)
	u := make([]F, 25*256)
	xp := make([]F, 16*169)
	var sink float64
	for _, tt := range []struct {
		name string
		f    func()
	}{
		{"Gemm", func() { Gemm(m, n, k, a, k, 1, b, n, c, n, true) }},
		{"GemmGather", func() { GemmGather(m, n, k, a, k, 1, b, ro, bo, 4, c, n, false) }},
		{"GemmGatherA", func() { GemmGatherA(m, n, k, a, aro, co, b, n, c, n, false) }},
		{"SumSquares", func() { sink += SumSquares(x) }},
		{"Sum", func() { sink += float64(Sum(x)) }},
		{"AddScaled", func() { AddScaled(y, 0.5, x) }},
		{"Tanh", func() { Tanh(y, x) }},
		{"TanhGrad", func() { TanhGrad(z, y, x) }},
		{"MaxPool2", func() { MaxPool2(y, arg, x, 2, 14, 14, 1) }},
		{"TransposeAddBias", func() { TransposeAddBias(y, x, z, 49, 8) }},
		{"Im2col", func() { Im2col(u, xp, 4, 16, 169, 13, 2, 5, 5) }},
		{"Col2im", func() { Col2im(xp, u, 4, 16, 169, 13, 2, 5, 5) }},
	} {
		if got := testing.AllocsPerRun(20, tt.f); got != 0 {
			var z F
			t.Errorf("%s[%T]: %v allocations per call, want 0", tt.name, z, got)
		}
	}
	_ = sink
}

var _ = fmt.Sprint
