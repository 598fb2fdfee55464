package audit

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// binomCDF returns P[Bin(n, p) ≤ k] by summing the pmf in log space, a
// computation independent of the incomplete beta function the package uses.
func binomCDF(k, n int, p float64) float64 {
	s := 0.0
	for x := 0; x <= k; x++ {
		a, _ := math.Lgamma(float64(n + 1))
		b, _ := math.Lgamma(float64(x + 1))
		c, _ := math.Lgamma(float64(n - x + 1))
		s += math.Exp(a - b - c + float64(x)*math.Log(p) + float64(n-x)*math.Log1p(-p))
	}
	return s
}

func TestClopperPearson(t *testing.T) {
	for _, c := range []struct {
		k, n int
		conf float64
	}{
		{0, 10, 0.95}, {5, 10, 0.95}, {10, 10, 0.95}, {1, 100, 0.95}, {3, 1000, 0.99},
		{17, 40, 0.9}, {0, 5000, 0.95}, {4999, 5000, 0.95}, {250, 20000, 0.999},
	} {
		lo, hi := ClopperPearson(c.k, c.n, c.conf)
		a := (1 - c.conf) / 2
		if !(0 <= lo && lo < hi && hi <= 1) || !(lo <= float64(c.k)/float64(c.n) && float64(c.k)/float64(c.n) <= hi) {
			t.Errorf("ClopperPearson(%d, %d, %v) = [%v, %v] does not bracket k/n", c.k, c.n, c.conf, lo, hi)
		}
		// The ends solve P[Bin(n, hi) ≤ k] = α/2 and P[Bin(n, lo) ≥ k] = α/2.
		if c.k < c.n {
			if got := binomCDF(c.k, c.n, hi); math.Abs(got-a) > 1e-9*max(1, a*1e3) {
				t.Errorf("ClopperPearson(%d, %d, %v): P[Bin(n, hi=%v) ≤ k] = %v, want %v", c.k, c.n, c.conf, hi, got, a)
			}
		} else if hi != 1 {
			t.Errorf("ClopperPearson(%d, %d, %v): hi = %v, want 1", c.k, c.n, c.conf, hi)
		}
		if c.k > 0 {
			if got := 1 - binomCDF(c.k-1, c.n, lo); math.Abs(got-a) > 1e-9*max(1, a*1e3) {
				t.Errorf("ClopperPearson(%d, %d, %v): P[Bin(n, lo=%v) ≥ k] = %v, want %v", c.k, c.n, c.conf, lo, got, a)
			}
		} else if lo != 0 {
			t.Errorf("ClopperPearson(%d, %d, %v): lo = %v, want 0", c.k, c.n, c.conf, lo)
		}
	}
	// Closed forms at the edges, and R's binom.test(5, 10).
	for _, c := range []struct {
		k, n         int
		wantLo, want float64
	}{
		{0, 10, 0, 1 - math.Pow(0.025, 0.1)},
		{10, 10, math.Pow(0.025, 0.1), 1},
		{5, 10, 0.187086, 0.812914},
	} {
		lo, hi := ClopperPearson(c.k, c.n, 0.95)
		if math.Abs(lo-c.wantLo) > 1e-6 || math.Abs(hi-c.want) > 1e-6 {
			t.Errorf("ClopperPearson(%d, %d, 0.95) = [%.7f, %.7f], want [%.7f, %.7f]", c.k, c.n, lo, hi, c.wantLo, c.want)
		}
	}
}

func TestClopperPearsonPanics(t *testing.T) {
	for _, c := range []struct {
		k, n int
		conf float64
	}{{-1, 10, 0.95}, {11, 10, 0.95}, {0, 0, 0.95}, {1, 10, 1}, {1, 10, 0}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("ClopperPearson(%d, %d, %v) did not panic", c.k, c.n, c.conf)
				}
			}()
			ClopperPearson(c.k, c.n, c.conf)
		}()
	}
}

func TestEpsilonFromRates(t *testing.T) {
	for _, c := range []struct{ fpr, fnr, delta, want float64 }{
		{0.01, 0.5, 0, math.Log(50)},
		{0.5, 0.01, 0, math.Log(50)},
		{0.01, 0.5, 0.1, math.Log(40)},
		{0.5, 0.5, 0, 0},
		{0.1, 0.95, 0.1, 0},
		{0, 0.5, 0, math.Inf(1)},
		{0, 1, 0, 0},
		{1e-4, 0.9, 1e-5, math.Log((1 - 1e-5 - 0.9) / 1e-4)},
	} {
		if got := EpsilonFromRates(c.fpr, c.fnr, c.delta); math.Abs(got-c.want) > 1e-12 && got != c.want {
			t.Errorf("EpsilonFromRates(%v, %v, %v) = %v, want %v", c.fpr, c.fnr, c.delta, got, c.want)
		}
	}
}

func TestEpsilonLowerBound(t *testing.T) {
	h := 1 - math.Pow(0.025, 1.0/1000) // the CP upper end of 0 of 1000 at 95%
	for _, c := range []struct {
		fp, nOut, fn, nIn int
		delta, want       float64
	}{
		{0, 1000, 0, 1000, 1e-5, math.Log((1 - 1e-5 - h) / h)},
		{0, 1000, 1000, 1000, 1e-5, 0},
		{500, 1000, 500, 1000, 1e-5, 0},
	} {
		if got := EpsilonLowerBound(c.fp, c.nOut, c.fn, c.nIn, c.delta, 0.95); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("EpsilonLowerBound(%d/%d, %d/%d, δ=%v) = %v, want %v", c.fp, c.nOut, c.fn, c.nIn, c.delta, got, c.want)
		}
	}
	// More trials at the same rates give a larger bound; higher confidence
	// a smaller one.
	prev := 0.0
	for _, n := range []int{100, 1000, 10000, 100000} {
		e := EpsilonLowerBound(n/100, n, n/2, n, 1e-5, 0.95)
		if !(e > prev) || !(e < math.Log(0.5/0.01)) {
			t.Errorf("n=%d: bound %v not in (%v, log 50)", n, e, prev)
		}
		prev = e
	}
	if a, b := EpsilonLowerBound(10, 1000, 500, 1000, 1e-5, 0.95), EpsilonLowerBound(10, 1000, 500, 1000, 1e-5, 0.999); !(b < a) {
		t.Errorf("bound at 99.9%% (%v) not below bound at 95%% (%v)", b, a)
	}
}

// gaussianEpsilon is the exact ε(δ) of a mechanism whose privacy loss is
// that of N(0,1) against N(μ,1) (μ-GDP, Dong, Roth & Su 2019), by bisection
// on δ(ε) = Φ(−ε/μ + μ/2) − e^ε Φ(−ε/μ − μ/2).
func gaussianEpsilon(mu, delta float64) float64 {
	phi := func(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }
	lo, hi := 0.0, 100.0
	for range 200 {
		e := (lo + hi) / 2
		if phi(-e/mu+mu/2)-math.Exp(e)*phi(-e/mu-mu/2) > delta {
			lo = e
		} else {
			hi = e
		}
	}
	return hi
}

func TestLowerBoundGaussian(t *testing.T) {
	// Scores N(μ, 1) with the canary and N(0, 1) without: the bound stays
	// below the exact ε of μ-GDP and, with 10⁵ trials a side, comes within
	// the stated fraction of it at large δ.
	for _, c := range []struct {
		mu, delta, minFrac float64
		n                  int
	}{
		{1, 1e-5, 0.35, 100000},
		{1, 0.1, 0.85, 100000},
		{2, 0.01, 0.7, 100000},
		{3, 0.2, 0.9, 100000},
		{1.5, 0.3, 0.8, 20000},
	} {
		truth := gaussianEpsilon(c.mu, c.delta)
		over := 0
		for seed := range uint64(10) {
			rng := rand.New(rand.NewPCG(seed, 7))
			in, out := make([]float64, c.n), make([]float64, c.n)
			for i := range in {
				in[i], out[i] = c.mu+rng.NormFloat64(), rng.NormFloat64()
			}
			b, err := LowerBound(in, out, c.delta, 0.95)
			if err != nil {
				t.Fatal(err)
			}
			if b.Epsilon > truth {
				over++
			}
			if seed == 0 && !(b.Epsilon > c.minFrac*truth) {
				t.Errorf("μ=%v δ=%v: bound %v below %.2f of the true ε %.4f", c.mu, c.delta, b, c.minFrac, truth)
			}
			if b.NIn+b.NOut != c.n || b.FP > b.NOut || b.FN > b.NIn {
				t.Errorf("μ=%v: evaluation half counts %+v for %d trials a side", c.mu, b, c.n)
			}
		}
		if over > 1 { // each bound exceeds the truth with probability ≤ 5%
			t.Errorf("μ=%v δ=%v: %d of 10 bounds exceed the true ε %.4f", c.mu, c.delta, over, truth)
		}
	}
}

func TestLowerBoundErrors(t *testing.T) {
	ok := []float64{1, 2, 3, 4, 5}
	for _, c := range []struct {
		name    string
		in, out []float64
		delta   float64
		conf    float64
	}{
		{"few in", ok[:3], ok, 1e-5, 0.95},
		{"few out", ok, nil, 1e-5, 0.95},
		{"δ = 0", ok, ok, 0, 0.95},
		{"confidence 1", ok, ok, 1e-5, 1},
		{"NaN", []float64{1, 2, math.NaN(), 4}, ok, 1e-5, 0.95},
	} {
		if _, err := LowerBound(c.in, c.out, c.delta, c.conf); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

// bruteOneRun is OneRunPValue from the definition, in 200-bit arithmetic:
// every binomial probability from its own sum of C(r,x)·p^x·(1−p)^(r−x).
func bruteOneRun(m, r, v int, eps, delta float64) float64 {
	const prec = 200
	p := new(big.Float).SetPrec(prec).SetFloat64(1 / (1 + math.Exp(-eps)))
	q := new(big.Float).SetPrec(prec).Sub(big.NewFloat(1), p)
	pmf := func(x int) *big.Float {
		c := new(big.Float).SetPrec(prec).SetInt(new(big.Int).Binomial(int64(r), int64(x)))
		for range x {
			c.Mul(c, p)
		}
		for range r - x {
			c.Mul(c, q)
		}
		return c
	}
	beta := new(big.Float).SetPrec(prec)
	for x := v; x <= r; x++ {
		beta.Add(beta, pmf(x))
	}
	alpha := new(big.Float).SetPrec(prec)
	for i := 1; i <= v; i++ {
		s := new(big.Float).SetPrec(prec)
		for x := v - i; x < v; x++ {
			s.Add(s, pmf(x))
		}
		s.Quo(s, new(big.Float).SetInt64(int64(i)))
		if s.Cmp(alpha) > 0 {
			alpha = s
		}
	}
	term := new(big.Float).SetPrec(prec).Mul(alpha, new(big.Float).SetFloat64(2*float64(m)*delta))
	f, _ := beta.Add(beta, term).Float64()
	return min(f, 1)
}

func TestOneRunPValue(t *testing.T) {
	for _, c := range []struct {
		m, r, v    int
		eps, delta float64
	}{
		{100, 20, 15, 0.5, 0},
		{100, 20, 15, 0.5, 1e-3},
		{1000, 40, 38, 2, 1e-5},
		{1000, 40, 38, 0, 1e-5},
		{50, 10, 10, 1.2, 0.01},
		{500, 60, 31, 0.1, 1e-4},
		{200, 30, 1, 3, 1e-2},
		{200, 30, 0, 3, 1e-2},
		{10000, 64, 60, 4, 1e-6},
	} {
		got, want := OneRunPValue(c.m, c.r, c.v, c.eps, c.delta), bruteOneRun(c.m, c.r, c.v, c.eps, c.delta)
		if math.Abs(got-want) > 1e-10*max(want, 1e-300) && math.Abs(got-want) > 1e-14 {
			t.Errorf("OneRunPValue(m=%d, r=%d, v=%d, ε=%v, δ=%v) = %.15g, brute force %.15g", c.m, c.r, c.v, c.eps, c.delta, got, want)
		}
	}
}

func TestOneRunEpsilon(t *testing.T) {
	// δ = 0 and every guess right: the p-value is p_ε^r, so the bound is
	// the ε with p_ε = (1−confidence)^(1/r).
	for _, c := range []struct {
		r    int
		conf float64
	}{{10, 0.95}, {50, 0.95}, {200, 0.99}, {1000, 0.95}} {
		p := math.Pow(1-c.conf, 1/float64(c.r))
		want := math.Log(p / (1 - p))
		if got := OneRunEpsilon(10*c.r, c.r, c.r, 0, c.conf); math.Abs(got-want) > 1e-5 {
			t.Errorf("OneRunEpsilon(r=v=%d, δ=0, %v) = %v, want %v", c.r, c.conf, got, want)
		}
	}
	// With δ > 0 the bound is the edge of rejection: p(ε) < 1−conf ≤ p(ε+1e-5).
	for _, c := range []struct {
		m, r, v int
		delta   float64
	}{{1000, 100, 90, 1e-5}, {100000, 2000, 1900, 1e-5}, {1000, 100, 70, 1e-6}} {
		e := OneRunEpsilon(c.m, c.r, c.v, c.delta, 0.95)
		if !(e > 0) || !(OneRunPValue(c.m, c.r, c.v, e, c.delta) < 0.05) || !(OneRunPValue(c.m, c.r, c.v, e+1e-5, c.delta) >= 0.05) {
			t.Errorf("OneRunEpsilon(m=%d, r=%d, v=%d, δ=%v) = %v is not the edge of rejection", c.m, c.r, c.v, c.delta, e)
		}
		if e0 := OneRunEpsilon(c.m, c.r, c.v, 0, 0.95); !(e0 >= e) {
			t.Errorf("bound with δ=0 (%v) below bound with δ=%v (%v)", e0, c.delta, e)
		}
	}
	// Chance-level guessing rules out nothing.
	if e := OneRunEpsilon(1000, 100, 50, 1e-5, 0.95); e != 0 {
		t.Errorf("OneRunEpsilon at chance = %v, want 0", e)
	}
}

func TestOneRun(t *testing.T) {
	const m = 4000
	rng := rand.New(rand.NewPCG(3, 4))
	scores, in := make([]float64, m), make([]bool, m)
	for i := range scores {
		in[i] = rng.IntN(2) == 1
		scores[i] = rng.NormFloat64()
		if in[i] {
			scores[i] += 3
		}
	}
	b, err := OneRun(scores, in, []int{50, 200}, 1e-5, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if b.Canaries != m || b.Guesses != 2*b.K || b.Correct > b.Guesses || !(b.Epsilon > 1) {
		t.Errorf("OneRun on well separated scores = %+v", b)
	}
	if want := OneRunEpsilon(m, b.Guesses, b.Correct, 1e-5, 1-0.05/2); b.Epsilon != want {
		t.Errorf("OneRun bound %v, want the Bonferroni-corrected %v", b.Epsilon, want)
	}
	for _, c := range []struct {
		name string
		in   []bool
		ks   []int
	}{{"lengths", in[:10], []int{10}}, {"no K", in, nil}, {"K too large", in, []int{m}}, {"K zero", in, []int{0}}} {
		if _, err := OneRun(scores, c.in, c.ks, 1e-5, 0.95); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}
