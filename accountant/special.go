package accountant

import (
	"errors"
	"math"
	"math/big"
)

// logAdd returns log(exp(x) + exp(y)) as Opacus's _log_add computes it.
func logAdd(x, y float64) float64 {
	a, b := math.Min(x, y), math.Max(x, y)
	if math.IsInf(a, -1) {
		return b
	}
	return math.Log1p(math.Exp(a-b)) + b
}

// logSub returns log(exp(x) - exp(y)) as Opacus's _log_sub computes it.
// It reports ok = false when x < y (the difference would be negative).
func logSub(x, y float64) (float64, bool) {
	if x < y {
		return 0, false
	}
	if math.IsInf(y, -1) {
		return x, true
	}
	if x == y {
		return math.Inf(-1), true
	}
	d := math.Expm1(x - y)
	if math.IsInf(d, 1) {
		return x, true
	}
	return math.Log(d) + y, true
}

// logErfc returns log(erfc(x)), accurate deep into the right tail where
// erfc underflows. It follows Opacus's _log_erfc, log 2 + log_ndtr(−√2·x),
// with scipy's log_ndtr (log(erfcx(−t)/2) − t² for a < −1, else
// log1p(−erfc(t)/2), t = a/√2), so that the rounding matches: the RDP series
// cancels heavily and amplifies differences in the last bits.
func logErfc(x float64) float64 {
	a := -x * math.Sqrt2
	t := a * (1 / math.Sqrt2)
	var lnd float64
	if a < -1 {
		lnd = math.Log(erfcx(-t)/2) - t*t
	} else {
		lnd = math.Log1p(-math.Erfc(t) / 2)
	}
	return math.Ln2 + lnd
}

// erfcx returns the scaled complementary error function e^{x²}·erfc(x) for
// x > 0.5, to a few ulps: e^{x²} is evaluated from the exact two-term split
// of x², and the asymptotic series takes over where erfc underflows.
func erfcx(x float64) float64 {
	if x < 26 {
		hi := x * x
		lo := math.FMA(x, x, -hi)
		return math.Exp(hi) * (1 + lo) * math.Erfc(x)
	}
	inv := 1 / (2 * x * x)
	sum, term := 1.0, 1.0
	for k := 1; k < 30; k++ {
		term *= -float64(2*k-1) * inv
		if math.Abs(term) < 1e-17*math.Abs(sum) {
			break
		}
		sum += term
	}
	return sum / (x * math.SqrtPi)
}

// normCDF is Φ, the standard normal distribution function, computed like
// scipy's ndtr.
func normCDF(a float64) float64 {
	x := a * (1 / math.Sqrt2)
	z := math.Abs(x)
	var y float64
	if z < 1/math.Sqrt2 {
		y = 0.5 + 0.5*math.Erf(x)
	} else {
		y = 0.5 * math.Erfc(z)
		if x > 0 {
			y = 1 - y
		}
	}
	return y
}

// binomTable holds C(n, k) correctly rounded for n ≤ 64, which covers the
// integer default orders; it is filled once and never written again.
var binomTable = func() [65][]float64 {
	var t [65][]float64
	for n := range t {
		t[n] = make([]float64, n+1)
		for k := range t[n] {
			t[n][k] = binomBig(n, k)
		}
	}
	return t
}()

func binomBig(n, k int) float64 {
	var b big.Int
	b.Binomial(int64(n), int64(k))
	f, _ := new(big.Float).SetInt(&b).Float64()
	return f
}

// binomInt returns the binomial coefficient C(n, k) for integers 0 ≤ k ≤ n,
// correctly rounded to float64.
func binomInt(n, k int) float64 {
	if n < len(binomTable) {
		return binomTable[n][k]
	}
	return binomBig(n, k)
}

// logBinomFrac returns log|C(α, i)| and the sign of the generalised
// binomial coefficient for real α and integer i ≥ 0. For i < 20 it uses the
// product Π_{m=1..i} (α−i+m)/m, exactly as scipy's binom; beyond, the
// log-gamma form log Γ(α+1) − log Γ(i+1) − log|Γ(α−i+1)|, whose terms are
// vanishingly small in the RDP series.
func logBinomFrac(alpha float64, i int) (logAbs float64, sign float64) {
	if i < 20 {
		num, den := 1.0, 1.0
		k := float64(i)
		for m := 1; m <= i; m++ {
			num *= float64(m) + alpha - k
			den *= float64(m)
			if math.Abs(num) > 1e50 {
				num /= den
				den = 1
			}
		}
		c := num / den
		if c > 0 {
			return math.Log(c), 1
		}
		return math.Log(-c), -1
	}
	// scipy: 1/(n+1)/beta(1+n−k, 1+k), with cephes beta: arguments ordered
	// by magnitude, then Γ ratios (Go's Gamma is the cephes algorithm) or,
	// beyond Γ's range, log-gamma.
	k := float64(i)
	a, b := 1+alpha-k, 1+k
	if math.Abs(a) < math.Abs(b) {
		a, b = b, a
	}
	y := a + b
	const maxGam = 171.624376956302725
	if math.Abs(y) > maxGam || math.Abs(a) > maxGam || math.Abs(b) > maxGam {
		ly, sy := math.Lgamma(y)
		lb, sb := math.Lgamma(b)
		la, sa := math.Lgamma(a)
		lbeta := la + (lb - ly)
		sign := float64(sy * sb * sa)
		// binom = 1/(n+1)/beta
		return -lbeta - math.Log(math.Abs(alpha+1)), sign
	}
	gy, ga, gb := math.Gamma(y), math.Gamma(a), math.Gamma(b)
	var beta float64
	if math.Abs(math.Abs(ga)-math.Abs(gy)) > math.Abs(math.Abs(gb)-math.Abs(gy)) {
		beta = gb / gy
		beta *= ga
	} else {
		beta = ga / gy
		beta *= gb
	}
	c := 1 / (alpha + 1) / beta
	if c > 0 {
		return math.Log(c), 1
	}
	return math.Log(-c), -1
}

var errNoSignChange = errors.New("no sign change in bracket")

// brentq finds a root of f in [xa, xb] with the algorithm and defaults of
// scipy.optimize.brentq (xtol 2e-12, rtol 4·eps, 100 iterations), so that a
// port returns the same root as Opacus to the last bits.
func brentq(f func(float64) float64, xa, xb float64) (float64, error) {
	const (
		xtol = 2e-12
		rtol = 4 * 2.220446049250313e-16
		iter = 100
	)
	xpre, xcur := xa, xb
	var xblk, fblk, spre, scur float64
	fpre, fcur := f(xpre), f(xcur)
	if math.IsNaN(fpre) || math.IsNaN(fcur) {
		return 0, errors.New("function is NaN at the bracket ends")
	}
	if fpre == 0 {
		return xpre, nil
	}
	if fcur == 0 {
		return xcur, nil
	}
	if math.Signbit(fpre) == math.Signbit(fcur) {
		return 0, errNoSignChange
	}
	for i := 0; i < iter; i++ {
		if fpre != 0 && fcur != 0 && math.Signbit(fpre) != math.Signbit(fcur) {
			xblk, fblk = xpre, fpre
			spre = xcur - xpre
			scur = spre
		}
		if math.Abs(fblk) < math.Abs(fcur) {
			xpre, xcur, xblk = xcur, xblk, xcur
			fpre, fcur, fblk = fcur, fblk, fcur
		}
		delta := (xtol + rtol*math.Abs(xcur)) / 2
		sbis := (xblk - xcur) / 2
		if fcur == 0 || math.Abs(sbis) < delta {
			return xcur, nil
		}
		if math.Abs(spre) > delta && math.Abs(fcur) < math.Abs(fpre) {
			var stry float64
			if xpre == xblk {
				stry = -fcur * (xcur - xpre) / (fcur - fpre)
			} else {
				dpre := (fpre - fcur) / (xpre - xcur)
				dblk := (fblk - fcur) / (xblk - xcur)
				stry = -fcur * (fblk*dblk - fpre*dpre) / (dblk * dpre * (fblk - fpre))
			}
			if 2*math.Abs(stry) < math.Min(math.Abs(spre), 3*math.Abs(sbis)-delta) {
				spre, scur = scur, stry
			} else {
				spre, scur = sbis, sbis
			}
		} else {
			spre, scur = sbis, sbis
		}
		xpre, fpre = xcur, fcur
		if math.Abs(scur) > delta {
			xcur += scur
		} else if sbis > 0 {
			xcur += delta
		} else {
			xcur -= delta
		}
		fcur = f(xcur)
	}
	return xcur, errors.New("root finder did not converge in 100 iterations")
}
