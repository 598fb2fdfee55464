package special

import (
	"errors"
	"math"

	"github.com/dpmpi/dpmpi/accountant/internal/libm"
)

// LogAdd returns log(exp(x) + exp(y)) as Opacus's _log_add computes it,
// with glibc's exp and log1p.
func LogAdd(x, y float64) float64 {
	a, b := math.Min(x, y), math.Max(x, y)
	if math.IsInf(a, -1) {
		return b
	}
	return libm.Log1p(libm.Exp(a-b)) + b
}

// LogSub returns log(exp(x) - exp(y)) as Opacus's _log_sub computes it,
// with glibc's expm1 and log. It reports ok = false when x < y (the
// difference would be negative), where Opacus raises ValueError.
func LogSub(x, y float64) (float64, bool) {
	if x < y {
		return 0, false
	}
	if math.IsInf(y, -1) {
		return x, true
	}
	if x == y {
		return math.Inf(-1), true
	}
	d := libm.Expm1(x - y)
	if math.IsInf(d, 1) { // Python's OverflowError
		return x, true
	}
	return libm.Log(d) + y, true
}

// LogErfc returns log(erfc(x)) as Opacus's _log_erfc computes it:
// log 2 + log_ndtr(−x·√2), with scipy's log_ndtr (see logNdtr).
func LogErfc(x float64) float64 {
	return math.Ln2 + logNdtr(-x*math.Sqrt2)
}

// NormCDF returns Φ(a), the standard normal distribution function, computed like
// scipy's ndtr.
func NormCDF(a float64) float64 {
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

// ErrNoSignChange is returned by Brentq when f has the same sign at both ends
// of the bracket.
var ErrNoSignChange = errors.New("no sign change in bracket")

// Brentq finds a root of f in [xa, xb] with the algorithm and defaults of
// scipy.optimize.brentq (xtol 2e-12, rtol 4·eps, 100 iterations), so that a
// port returns the same root as Opacus to the last bits.
func Brentq(f func(float64) float64, xa, xb float64) (float64, error) {
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
		return 0, ErrNoSignChange
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
