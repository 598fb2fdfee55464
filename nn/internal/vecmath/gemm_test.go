package vecmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// naiveGemm is the reference for Gemm: C(i, j) (+)= Σ_p A(i, p)·B(p, j).
func naiveGemm(m, n, k int, a []float64, rsA, csA int, b []float64, ldb int, c []float64, ldc int, acc bool) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				s += a[i*rsA+p*csA] * b[p*ldb+j]
			}
			if acc {
				s += c[i*ldc+j]
			}
			c[i*ldc+j] = s
		}
	}
}

// TestGemm compares Gemm with the naive product over every tile kernel
// (m = 1..13 covers the 6-, 4-, 2- and 1-row tiles and their mixtures),
// both loop orders (m < n and m ≥ n), transposed A (rsA = 1), padded
// strides, odd and even k, and acc. The error bound is the classical one
// for a dot product of length k plus the accumulated value.
func TestGemm(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	type shape struct {
		m, n, k  int
		transA   bool
		pad, acc bool
	}
	var shapes []shape
	for _, m := range []int{1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 25} {
		for _, n := range []int{8, 16, 24, 64} {
			for _, k := range []int{1, 2, 3, 7, 25, 64} {
				shapes = append(shapes, shape{m, n, k, (m+k)%2 == 0, (m+n)%3 == 0, k%2 == 1})
			}
		}
	}
	for _, s := range shapes {
		name := fmt.Sprintf("%+v", s)
		rsA, csA := s.k, 1
		if s.transA {
			rsA, csA = 1, s.m
		}
		ldb, ldc := s.n, s.n
		if s.pad {
			ldb, ldc = s.n+3, s.n+5
		}
		a := make([]float64, s.m*s.k)
		b := make([]float64, (s.k-1)*ldb+s.n)
		c := make([]float64, (s.m-1)*ldc+s.n)
		for _, v := range [][]float64{a, b, c} {
			for i := range v {
				v[i] = r.NormFloat64()
			}
		}
		want := append([]float64(nil), c...)
		naiveGemm(s.m, s.n, s.k, a, rsA, csA, b, ldb, want, ldc, s.acc)
		got := append([]float64(nil), c...)
		Gemm(s.m, s.n, s.k, a, rsA, csA, b, ldb, got, ldc, s.acc)
		for i := 0; i < s.m; i++ {
			for j := 0; j < s.n; j++ {
				var abs float64 // Σ |A(i,p)·B(p,j)| (+ |C|)
				for p := 0; p < s.k; p++ {
					abs += math.Abs(a[i*rsA+p*csA] * b[p*ldb+j])
				}
				if s.acc {
					abs += math.Abs(c[i*ldc+j])
				}
				tol := float64(s.k+2) * 0x1p-52 * abs
				g, w := got[i*ldc+j], want[i*ldc+j]
				if math.Abs(g-w) > tol {
					t.Fatalf("%s: C(%d, %d) = %v, want %v (tolerance %g)", name, i, j, g, w, tol)
				}
			}
			// Padding between rows of C is never written.
			for j := s.n; i < s.m-1 && j < ldc; j++ {
				if got[i*ldc+j] != c[i*ldc+j] {
					t.Fatalf("%s: padding C[%d] written", name, i*ldc+j)
				}
			}
		}
	}
}

// TestGemmSpecial checks that non-finite values propagate as in a plain
// product (a zero times an infinity is NaN, nothing is skipped), that
// k = 0 clears C or leaves it, and that a product repeats bit for bit.
func TestGemmSpecial(t *testing.T) {
	a := []float64{0, 1, 2, math.Inf(1)} // 2×2
	b := make([]float64, 16)             // 2×8
	b[0], b[9] = math.NaN(), 1
	c := make([]float64, 16)
	Gemm(2, 8, 2, a, 2, 1, b, 8, c, 8, false)
	if !math.IsNaN(c[0]) || !math.IsNaN(c[8]) {
		t.Errorf("NaN in B did not reach C: %v", c[:9])
	}
	if !math.IsInf(c[9], 1) || !math.IsNaN(c[10]) {
		t.Errorf("C(1, 1) = %v, want +Inf; C(1, 2) = %v, want NaN (0·Inf)", c[9], c[10])
	}
	for i := range c {
		c[i] = 7
	}
	Gemm(2, 8, 0, nil, 2, 1, nil, 8, c, 8, true)
	if c[0] != 7 {
		t.Errorf("k = 0 with acc changed C")
	}
	Gemm(2, 8, 0, nil, 2, 1, nil, 8, c, 8, false)
	if c[0] != 0 || c[15] != 0 {
		t.Errorf("k = 0 without acc did not clear C")
	}
}

// TestGemmPanics checks that bad shapes and short slices panic rather than
// read or write out of bounds.
func TestGemmPanics(t *testing.T) {
	tests := []struct {
		name             string
		m, n, k          int
		la, lb, lc       int
		rsA, csA, ldb, l int
	}{
		{"short a", 2, 8, 3, 5, 24, 16, 3, 1, 8, 8},
		{"short b", 2, 8, 3, 6, 23, 16, 3, 1, 8, 8},
		{"short c", 2, 8, 3, 6, 24, 15, 3, 1, 8, 8},
		{"ldb < n", 2, 8, 3, 6, 24, 16, 3, 1, 7, 8},
		{"negative stride", 2, 8, 3, 6, 24, 16, -3, 1, 8, 8},
		{"n not a multiple of 8", 2, 7, 3, 6, 24, 16, 3, 1, 8, 8},
	}
	var cases []panicCase
	for _, tt := range tests {
		cases = append(cases, panicCase{tt.name, func() {
			Gemm(tt.m, tt.n, tt.k, make([]float64, tt.la), tt.rsA, tt.csA, make([]float64, tt.lb), tt.ldb, make([]float64, tt.lc), tt.l, false)
		}})
	}
	checkPanics(t, cases)
}

// BenchmarkGemm times the per-sample products of the benchmark CNN (see
// package nn) and reports GFLOP/s: float64 (the rows without a suffix),
// float32 (-f32) and float32's Go twin (-f32go).
func BenchmarkGemm(b *testing.B) {
	for _, bm := range []struct {
		name          string
		m, n, k       int
		rsA, csA, ldb int
	}{
		{"conv1-Yt-196x16x64", 196, 16, 64, 64, 1, 16},
		{"conv1-G-16x64x196", 16, 64, 196, 196, 1, 64},
		{"conv2-Yt-25x32x256", 25, 32, 256, 256, 1, 32},
		{"conv2-G-32x256x25", 32, 256, 25, 25, 1, 256},
		{"conv2-dU-25x256x32", 25, 256, 32, 1, 25, 256},
	} {
		run := func(suffix string, gemm func(a, bb, c any)) {
			b.Run(bm.name+suffix, func(b *testing.B) {
				a, bb, c := benchGemmOperands[float64](bm.m*bm.k, bm.k*bm.ldb, bm.m*bm.n)
				var aa, bbb, cc any = a, bb, c
				if suffix != "" {
					aa, bbb, cc = benchGemmOperands[float32](bm.m*bm.k, bm.k*bm.ldb, bm.m*bm.n)
				}
				for i := 0; i < b.N; i++ {
					gemm(aa, bbb, cc)
				}
				b.ReportMetric(2*float64(bm.m*bm.n*bm.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
		b.Run(bm.name, func(b *testing.B) {
			a, bb, c := benchGemmOperands[float64](bm.m*bm.k, bm.k*bm.ldb, bm.m*bm.n)
			for i := 0; i < b.N; i++ {
				Gemm(bm.m, bm.n, bm.k, a, bm.rsA, bm.csA, bb, bm.ldb, c, bm.n, false)
			}
			b.ReportMetric(2*float64(bm.m*bm.n*bm.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		run("-f32", func(a, bb, c any) {
			Gemm(bm.m, bm.n, bm.k, a.([]float32), bm.rsA, bm.csA, bb.([]float32), bm.ldb, c.([]float32), bm.n, false)
		})
		run("-f32go", func(a, bb, c any) {
			gemmTiles32Go(bm.m, bm.n, bm.k, a.([]float32), bm.rsA, bm.csA, bb.([]float32), bm.ldb, c.([]float32), bm.n, false)
		})
	}
}

// benchGemmOperands returns the operands of a benchmark product, small
// integers (exact in either precision).
func benchGemmOperands[F Float](na, nb, nc int) (a, b, c []F) {
	a, b, c = make([]F, na), make([]F, nb), make([]F, nc)
	for i := range a {
		a[i] = F(i%7) - 3
	}
	for i := range b {
		b[i] = F(i%5) - 2
	}
	return a, b, c
}

// TestGemmGather checks GemmGather against Gemm on the explicitly gathered
// B: the tiles do the same arithmetic, so the results must be identical.
// The offsets are those of im2col for 8×8 kernels (half = 4, one run of
// eight per block) and for 4×4 kernels (two runs of four half = w apart),
// plus random ones.
func TestGemmGather(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	type cfg struct {
		name           string
		m, n, k, half  int
		rowOff, blkOff []int
	}
	conv := func(name string, m, chans, kern, w, ho, wo, s int) cfg {
		rows, _, blocks, half := convTables(chans, kern, w, ho, wo, s)
		return cfg{name: name, m: m, n: chans * kern * kern, k: ho * wo, half: half, rowOff: rows, blkOff: blocks}
	}
	cfgs := []cfg{
		conv("conv1 k8 s2", 16, 1, 8, 34, 14, 14, 2),
		conv("conv2 k4 s2", 32, 16, 4, 13, 5, 5, 2),
		conv("k4 s1 odd m", 7, 2, 4, 9, 6, 6, 1),
	}
	for _, m := range []int{1, 2, 5, 6, 13} {
		c := cfg{name: fmt.Sprintf("random m=%d", m), m: m, n: 24, k: 11, half: 3 + r.IntN(20)}
		for p := 0; p < c.k; p++ {
			c.rowOff = append(c.rowOff, r.IntN(100))
		}
		for q := 0; q < c.n/8; q++ {
			c.blkOff = append(c.blkOff, r.IntN(100))
		}
		cfgs = append(cfgs, c)
	}
	for _, c := range cfgs {
		maxOff := 0
		for _, ro := range c.rowOff {
			for _, bo := range c.blkOff {
				maxOff = max(maxOff, ro+bo)
			}
		}
		b := make([]float64, maxOff+max(c.half+4, 8))
		for i := range b {
			b[i] = r.NormFloat64()
		}
		explicit := make([]float64, c.k*c.n) // B(p, j)
		for p := 0; p < c.k; p++ {
			for q := 0; q < c.n/8; q++ {
				for t := 0; t < 8; t++ {
					off := c.blkOff[q] + c.rowOff[p] + t
					if t >= 4 {
						off += c.half - 4
					}
					explicit[p*c.n+8*q+t] = b[off]
				}
			}
		}
		a := make([]float64, c.m*c.k)
		for i := range a {
			a[i] = r.NormFloat64()
		}
		for _, acc := range []bool{false, true} {
			want := make([]float64, c.m*c.n)
			got := make([]float64, c.m*c.n)
			for i := range want {
				want[i] = float64(i % 3)
				got[i] = want[i]
			}
			Gemm(c.m, c.n, c.k, a, c.k, 1, explicit, c.n, want, c.n, acc)
			GemmGather(c.m, c.n, c.k, a, c.k, 1, b, NewOffsets(c.rowOff), NewOffsets(c.blkOff), c.half, got, c.n, acc)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s acc=%v: C[%d] = %v, want %v", c.name, acc, i, got[i], want[i])
				}
			}
		}
	}
	checkPanics(t, []panicCase{
		{"offset past the end of b", func() {
			GemmGather(1, 8, 1, []float64{1}, 1, 1, make([]float64, 10), NewOffsets([]int{3}), NewOffsets([]int{0}), 4, make([]float64, 8), 8, false)
		}},
		{"negative offset", func() { NewOffsets([]int{1, -1}) }},
	})
}

// TestGemmGatherA checks GemmGatherA against Gemm on the explicitly
// gathered A, which must give identical results, for the offsets of
// im2col (the forward products of 8×8 and 4×4 convolutions, padded width
// w) and random ones, with every tile height.
func TestGemmGatherA(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	type cfg struct {
		name           string
		m, n, k        int
		rowOff, colOff []int
	}
	conv := func(name string, out, chans, kern, w, ho, wo, s int) cfg {
		rows, cols, _, _ := convTables(chans, kern, w, ho, wo, s)
		return cfg{name: name, m: ho * wo, n: out, k: chans * kern * kern, rowOff: rows, colOff: cols}
	}
	cfgs := []cfg{
		conv("conv1 k8 s2", 16, 1, 8, 34, 14, 14, 2),
		conv("conv2 k4 s2", 32, 16, 4, 13, 5, 5, 2),
	}
	for _, m := range []int{1, 2, 3, 5, 6, 7, 13} {
		for _, k := range []int{1, 3, 6} {
			c := cfg{name: fmt.Sprintf("random m=%d k=%d", m, k), m: m, n: 16, k: k}
			for i := 0; i < m; i++ {
				c.rowOff = append(c.rowOff, r.IntN(50))
			}
			for p := 0; p < k; p++ {
				c.colOff = append(c.colOff, r.IntN(50))
			}
			cfgs = append(cfgs, c)
		}
	}
	for _, c := range cfgs {
		a := make([]float64, 100+slices.Max(c.rowOff)+slices.Max(c.colOff))
		for i := range a {
			a[i] = r.NormFloat64()
		}
		explicit := make([]float64, c.m*c.k)
		for i := 0; i < c.m; i++ {
			for p := 0; p < c.k; p++ {
				explicit[i*c.k+p] = a[c.rowOff[i]+c.colOff[p]]
			}
		}
		b := make([]float64, c.k*c.n)
		for i := range b {
			b[i] = r.NormFloat64()
		}
		for _, acc := range []bool{false, true} {
			want := make([]float64, c.m*c.n)
			got := make([]float64, c.m*c.n)
			for i := range want {
				want[i] = float64(i % 5)
				got[i] = want[i]
			}
			Gemm(c.m, c.n, c.k, explicit, c.k, 1, b, c.n, want, c.n, acc)
			GemmGatherA(c.m, c.n, c.k, a, NewOffsets(c.rowOff), NewOffsets(c.colOff), b, c.n, got, c.n, acc)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s acc=%v: C[%d] = %v, want %v", c.name, acc, i, got[i], want[i])
				}
			}
		}
	}
	checkPanics(t, []panicCase{
		{"offset past the end of a", func() {
			GemmGatherA(1, 8, 1, make([]float64, 4), NewOffsets([]int{2}), NewOffsets([]int{2}), make([]float64, 8), 8, make([]float64, 8), 8, false)
		}},
		{"too few row offsets", func() {
			GemmGatherA(2, 8, 1, make([]float64, 4), NewOffsets([]int{0}), NewOffsets([]int{0}), make([]float64, 8), 8, make([]float64, 16), 8, false)
		}},
	})
}

// BenchmarkGemmGather times the gathered products as the benchmark CNN
// uses them: G_i = dY_i·U_i with U_i read from the padded image
// (GemmGather) and Y_iᵀ = U_i·Wᵀ likewise (GemmGatherA), in float64 (the
// rows without a suffix), float32 (-f32) and float32's Go twin (-f32go).
func BenchmarkGemmGather(b *testing.B) {
	type conv struct {
		name                           string
		out, chans, kern, w, ho, wo, s int
	}
	for _, cv := range []conv{{"conv1", 16, 1, 8, 34, 14, 14, 2}, {"conv2", 32, 16, 4, 13, 5, 5, 2}} {
		benchGemmGather[float64](b, cv.name, "", cv.out, cv.chans, cv.kern, cv.w, cv.ho, cv.wo, cv.s)
		benchGemmGather[float32](b, cv.name, "-f32", cv.out, cv.chans, cv.kern, cv.w, cv.ho, cv.wo, cv.s)
		benchGemmGather[float32](b, cv.name, "-f32go", cv.out, cv.chans, cv.kern, cv.w, cv.ho, cv.wo, cv.s)
	}
}

func benchGemmGather[F Float](b *testing.B, name, suffix string, out, chans, kern, w, ho, wo, s int) {
	kk, l := chans*kern*kern, ho*wo
	rows, cols, blocks, half := convTables(chans, kern, w, ho, wo, s)
	img := make([]F, chans*w*w)
	for i := range img {
		img[i] = F(i%9) - 4
	}
	dy := make([]F, out*l)
	wT := make([]F, kk*out)
	for i := range dy {
		dy[i] = F(i%5) - 2
	}
	for i := range wT {
		wT[i] = F(i%3) - 1
	}
	g := make([]F, out*kk)
	yt := make([]F, l*out)
	ro, co, bo := NewOffsets(rows), NewOffsets(cols), NewOffsets(blocks)
	flop := 2 * float64(out*kk*l)
	goTwin := suffix == "-f32go"
	b.Run(name+"-G"+suffix, func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if goTwin {
				gemmGatherTiles32Go(out, kk, l, as32(dy), l, 1, as32(img), rows, blocks, half, as32(g), kk, false)
			} else {
				GemmGather(out, kk, l, dy, l, 1, img, ro, bo, half, g, kk, false)
			}
		}
		b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run(name+"-Yt"+suffix, func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if goTwin {
				gemmGatherATiles32Go(l, out, kk, as32(img), rows, cols, as32(wT), out, as32(yt), out, false)
			} else {
				GemmGatherA(l, out, kk, img, ro, co, wT, out, yt, out, false)
			}
		}
		b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

// convTables returns the offset tables of a convolution that reads its
// unrolled input from a padded image of chans channels of w×w values, with
// a k×k kernel at stride s and ho×wo output positions, written out here
// from the definition of im2col: the start of each output position's
// receptive field (rows), the offset of each weight within it (cols) and,
// for k = 4 or 8, of each block of eight columns (blocks) and the distance
// of a block's second run of four (half).
func convTables(chans, k, w, ho, wo, s int) (rows, cols, blocks []int, half int) {
	for oh := 0; oh < ho; oh++ {
		for ow := 0; ow < wo; ow++ {
			rows = append(rows, oh*s*w+ow*s)
		}
	}
	for ch := 0; ch < chans; ch++ {
		for a := 0; a < k; a++ {
			for b := 0; b < k; b++ {
				cols = append(cols, ch*w*w+a*w+b)
			}
		}
	}
	half = 4
	if k == 4 {
		half = w
	}
	for col := 0; col < chans*k*k; col += 8 {
		ch, rem := col/(k*k), col%(k*k)
		blocks = append(blocks, ch*w*w+rem/k*w)
	}
	return rows, cols, blocks, half
}
