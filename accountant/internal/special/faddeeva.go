package special

import (
	"math"

	"github.com/dpmpi/dpmpi/accountant/internal/libm"
)

// erfcxY100 evaluates erfcx(x) from y100 = 400/(4+x) with the Chebyshev
// table of faddeeva_tables.go.
func erfcxY100(y100 float64) float64 {
	n := int(y100) // truncation, as C's (int) cast
	if n < 0 || n > 99 {
		return 1 // only for |x| < 4ε
	}
	c := erfcxCheb[n]
	t := 2*y100 - float64(2*n+1)
	r := c[len(c)-1]
	for i := len(c) - 2; i >= 0; i-- {
		r = float64(r*t) + c[i]
	}
	return r
}

// faddeevaErfcx returns the scaled complementary error function
// e^{x²}·erfc(x) as Faddeeva::erfcx computes it.
func faddeevaErfcx(x float64) float64 {
	const ispi = 0.56418958354775628694807945156 // 1/√π
	if x >= 0 {
		if x > 50 {
			if x > 5e7 {
				return ispi / x
			}
			x2 := x * x
			num := float64(float64(float64(x2*float64(x2+4.5))+2) * ispi)
			return num / float64(x*float64(float64(x2*float64(x2+5))+3.75))
		}
		return erfcxY100(400 / (4 + x))
	}
	switch {
	case x < -26.7:
		return math.Inf(1)
	case x < -6.1:
		e := libm.Exp(x * x)
		return e + e
	}
	e := libm.Exp(x * x)
	return (e + e) - erfcxY100(400/(4-x))
}

// faddeevaErfc returns erfc(x) as Faddeeva::erfc(double) computes it:
// e^{−x²}·erfcx(x), reflected for negative x.
func faddeevaErfc(x float64) float64 {
	x2 := x * x
	if x2 > 750 { // underflow
		if x >= 0 {
			return 0
		}
		return 2
	}
	if x >= 0 {
		return libm.Exp(-x2) * faddeevaErfcx(x)
	}
	return 2 - float64(libm.Exp(-x2)*faddeevaErfcx(-x))
}

// logNdtr returns log Φ(x), the logarithm of the standard normal
// distribution function, as scipy 1.10's special.log_ndtr computes it for
// real x: log(erfcx(−t)/2) − t² for x < −1, else log1p(−erfc(t)/2), with
// t = x/√2.
func logNdtr(x float64) float64 {
	t := x * (1 / math.Sqrt2)
	if x < -1 {
		return libm.Log(faddeevaErfcx(-t)*0.5) - float64(t*t)
	}
	return libm.Log1p(faddeevaErfc(t) * -0.5)
}
