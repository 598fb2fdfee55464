package special

import (
	"math"
	"sync"

	"github.com/dpmpi/dpmpi/accountant/internal/libm"
)

const (
	cephesMaxGam  = 171.624376956302725
	cephesMaxStir = 143.01608
	cephesSqtPi   = 2.50662827463100050242e0
	cephesLogPi   = 1.14472988584940017414
	cephesLS2Pi   = 0.91893853320467274178 // log √(2π)
	cephesMaxLog  = 7.09782712893383996843e2
	cephesMaxLgm  = 2.556348e305
)

var (
	cephesGamP = [...]float64{
		1.60119522476751861407e-4, 1.19135147006586384913e-3, 1.04213797561761569935e-2,
		4.76367800457137231464e-2, 2.07448227648435975150e-1, 4.94214826801497100753e-1,
		9.99999999999999996796e-1,
	}
	cephesGamQ = [...]float64{
		-2.31581873324120129819e-5, 5.39605580493303397842e-4, -4.45641913851797240494e-3,
		1.18139785222060435552e-2, 3.58236398605498653373e-2, -2.34591795718243348568e-1,
		7.14304917030273074085e-2, 1.00000000000000000320e0,
	}
	cephesStir = [...]float64{
		7.87311395793093628397e-4, -2.29549961613378126380e-4, -2.68132617805781232825e-3,
		3.47222221605458667310e-3, 8.33333333333482257126e-2,
	}
	cephesLgamA = [...]float64{
		8.11614167470508450300e-4, -5.95061904284301438324e-4, 7.93650340457716943945e-4,
		-2.77777777730099687205e-3, 8.33333333333331927722e-2,
	}
	cephesLgamB = [...]float64{
		-1.37825152569120859100e3, -3.88016315134637840924e4, -3.31612992738871184744e5,
		-1.16237097492762307383e6, -1.72173700820839662146e6, -8.53555664245765465627e5,
	}
	cephesLgamC = [...]float64{ // leading coefficient 1 implied (p1evl)
		-3.51815701436523470549e2, -1.70642106651881159223e4, -2.20528590553854454839e5,
		-1.13933444367982507207e6, -2.53252307177582951285e6, -2.01889141433532773231e6,
	}
)

// polevl evaluates the polynomial with coefficients c (highest degree
// first) at x by Horner's rule, as Cephes's polevl.
func polevl(x float64, c []float64) float64 {
	ans := c[0]
	for _, ci := range c[1:] {
		ans = float64(ans*x) + ci
	}
	return ans
}

// p1evl is polevl with an implied leading coefficient 1.
func p1evl(x float64, c []float64) float64 {
	ans := x + c[0]
	for _, ci := range c[1:] {
		ans = float64(ans*x) + ci
	}
	return ans
}

// cephesStirf is Γ(x) by Stirling's formula, for 33 ≤ x ≤ 172.
func cephesStirf(x float64) float64 {
	if x >= cephesMaxGam {
		return math.Inf(1)
	}
	w := 1 / x
	w = 1 + float64(w*polevl(w, cephesStir[:]))
	y := libm.Exp(x)
	if x > cephesMaxStir { // avoid overflow in pow
		v := libm.Pow(x, float64(0.5*x)-0.25)
		y = v * (v / y)
	} else {
		y = libm.Pow(x, x-0.5) / y
	}
	return cephesSqtPi * y * w
}

// cephesIntTables holds Cephes's Gamma(n) for n = 1…171 and lgam(n) for
// n = 1…lgamIntMax, the arguments 1+k of every binomial coefficient the RDP
// series needs. They are computed once, by the same code, so a lookup
// returns exactly what the computation would.
type cephesIntTables struct {
	gamma [172]float64
	lgam  [lgamIntMax + 1]float64
}

const lgamIntMax = 1 << 13

var cephesInts = sync.OnceValue(func() *cephesIntTables {
	t := new(cephesIntTables)
	for n := 1; n < len(t.gamma); n++ {
		t.gamma[n] = cephesGammaCompute(float64(n))
	}
	for n := 1; n < len(t.lgam); n++ {
		t.lgam[n], _ = cephesLgamCompute(float64(n))
	}
	return t
})

// cephesGamma returns Γ(x) as Cephes's Gamma.
func cephesGamma(x float64) float64 {
	if x >= 1 && x <= 171 && x == math.Trunc(x) {
		return cephesInts().gamma[int(x)]
	}
	return cephesGammaCompute(x)
}

func cephesGammaCompute(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	q := math.Abs(x)
	if q > 33 {
		if x >= 0 {
			return cephesStirf(x)
		}
		p := math.Floor(q)
		if p == q {
			return math.Inf(1)
		}
		sgn := 1.0
		if int64(p)&1 == 0 {
			sgn = -1
		}
		z := q - p
		if z > 0.5 {
			p++
			z = q - p
		}
		z = q * libm.Sin(math.Pi*z)
		if z == 0 {
			return sgn * math.Inf(1)
		}
		z = math.Abs(z)
		z = math.Pi / (z * cephesStirf(q))
		return sgn * z
	}
	z := 1.0
	for x >= 3 {
		x--
		z *= x
	}
	for x < 0 {
		if x > -1e-9 {
			return cephesGammaSmall(x, z)
		}
		z /= x
		x++
	}
	for x < 2 {
		if x < 1e-9 {
			return cephesGammaSmall(x, z)
		}
		z /= x
		x++
	}
	if x == 2 {
		return z
	}
	x -= 2
	p := polevl(x, cephesGamP[:])
	q = polevl(x, cephesGamQ[:])
	return z * p / q
}

func cephesGammaSmall(x, z float64) float64 {
	if x == 0 {
		return math.Inf(1)
	}
	return z / (float64((1 + float64(0.5772156649015329*x)) * x))
}

// cephesLgam returns log|Γ(x)| and the sign of Γ(x) as Cephes's lgam_sgn.
func cephesLgam(x float64) (float64, int) {
	if x >= 1 && x <= lgamIntMax && x == math.Trunc(x) {
		return cephesInts().lgam[int(x)], 1
	}
	return cephesLgamCompute(x)
}

func cephesLgamCompute(x float64) (float64, int) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x, 1
	}
	if x < -34 {
		q := -x
		w, _ := cephesLgamCompute(q)
		p := math.Floor(q)
		if p == q {
			return math.Inf(1), 1
		}
		sgn := 1
		if int64(p)&1 == 0 {
			sgn = -1
		}
		z := q - p
		if z > 0.5 {
			p++
			z = p - q
		}
		z = q * libm.Sin(math.Pi*z)
		if z == 0 {
			return math.Inf(1), sgn
		}
		return cephesLogPi - libm.Log(z) - w, sgn
	}
	if x < 13 {
		z, p, u := 1.0, 0.0, x
		for u >= 3 {
			p--
			u = x + p
			z *= u
		}
		for u < 2 {
			if u == 0 {
				return math.Inf(1), 1
			}
			z /= u
			p++
			u = x + p
		}
		sgn := 1
		if z < 0 {
			sgn, z = -1, -z
		}
		if u == 2 {
			return libm.Log(z), sgn
		}
		p -= 2
		x += p
		p = float64(x*polevl(x, cephesLgamB[:])) / p1evl(x, cephesLgamC[:])
		return libm.Log(z) + p, sgn
	}
	if x > cephesMaxLgm {
		return math.Inf(1), 1
	}
	q := float64(float64((x-0.5)*libm.Log(x))-x) + cephesLS2Pi
	if x > 1e8 {
		return q, 1
	}
	p := 1 / (x * x)
	if x >= 1000 {
		q += (float64(float64(float64(7.9365079365079365079365e-4*p)-2.7777777777777777777778e-3)*p) +
			0.0833333333333333333333) / x
	} else {
		q += polevl(p, cephesLgamA[:]) / x
	}
	return q, 1
}

// A BetaMemo remembers Γ(y) and lgam(y) of the last y = a+b of the beta
// function B(a, b) that BinomMemo computed: along the RDP series
// y = (1+α−k) + (1+k) is the same double for almost every k. The zero value
// is empty and ready to use; a BetaMemo is not safe for concurrent use.
type BetaMemo struct {
	gy, gamma float64 // Γ(gy), valid if gy != 0
	ly, lgam  float64 // lgam(ly), valid if ly != 0
	lsign     int
}

func (m *BetaMemo) gammaOf(y float64) float64 {
	if m == nil {
		return cephesGamma(y)
	}
	if m.gy != y || y == 0 {
		m.gy, m.gamma = y, cephesGamma(y)
	}
	return m.gamma
}

func (m *BetaMemo) lgamOf(y float64) (float64, int) {
	if m == nil {
		return cephesLgam(y)
	}
	if m.ly != y || y == 0 {
		m.ly = y
		m.lgam, m.lsign = cephesLgam(y)
	}
	return m.lgam, m.lsign
}

// cephesBetaMemo returns B(a, b) = Γ(a)Γ(b)/Γ(a+b) as Cephes's beta, for
// the arguments scipy's binom passes (not in the asymptotic range
// |a| > 10⁶·|b|, which binom avoids), with Γ(a+b) and lgam(a+b) looked up
// in m (nil: computed).
func cephesBetaMemo(a, b float64, m *BetaMemo) float64 {
	if a <= 0 && a == math.Floor(a) {
		return cephesBetaNegInt(a, b)
	}
	if b <= 0 && b == math.Floor(b) {
		return cephesBetaNegInt(b, a)
	}
	if math.Abs(a) < math.Abs(b) {
		a, b = b, a
	}
	y := a + b
	if math.Abs(y) > cephesMaxGam || math.Abs(a) > cephesMaxGam || math.Abs(b) > cephesMaxGam {
		ly, sy := m.lgamOf(y)
		lb, sb := cephesLgam(b)
		la, sa := cephesLgam(a)
		y = la + (lb - ly)
		sign := sy * sb * sa
		if y > cephesMaxLog {
			return float64(sign) * math.Inf(1)
		}
		return float64(sign) * libm.Exp(y)
	}
	y = m.gammaOf(y)
	a = cephesGamma(a)
	b = cephesGamma(b)
	if y == 0 {
		return math.Inf(1)
	}
	if math.Abs(math.Abs(a)-math.Abs(y)) > math.Abs(math.Abs(b)-math.Abs(y)) {
		y = b / y
		y *= a
	} else {
		y = a / y
		y *= b
	}
	return y
}

// cephesBetaNegInt is B(a, b) for a non-positive integer a.
func cephesBetaNegInt(a, b float64) float64 {
	if b == math.Trunc(b) && 1-a-b > 0 {
		sgn := 1.0
		if int64(b)%2 != 0 {
			sgn = -1
		}
		return sgn * cephesBetaMemo(1-a-b, b, nil)
	}
	return math.Inf(1)
}

// Binom returns the binomial coefficient C(n, k) for real n and
// integer-valued k ≥ 0 exactly as scipy 1.10's special.binom: the product
// formula for k < 20 (after the symmetry k → n−k for integer n), otherwise
// 1/(n+1)/B(1+n−k, 1+k).
func Binom(n, k float64) float64 {
	return BinomMemo(n, k, nil)
}

// BinomMemo is Binom with Γ(a+b) and lgam(a+b) of the beta function it
// calls looked up in m (nil: computed), bit for bit the same result.
func BinomMemo(n, k float64, m *BetaMemo) float64 {
	if n < 0 && n == math.Floor(n) {
		return math.NaN()
	}
	kx := math.Floor(k)
	if k == kx && (math.Abs(n) > 1e-8 || n == 0) {
		nx := math.Floor(n)
		if nx == n && kx > nx/2 && nx > 0 {
			kx = nx - kx
		}
		if kx >= 0 && kx < 20 {
			num, den := 1.0, 1.0
			for i := 1; i < 1+int(kx); i++ {
				num *= float64(i) + n - kx
				den *= float64(i)
				if math.Abs(num) > 1e50 {
					num /= den
					den = 1
				}
			}
			return num / den
		}
	}
	if (n >= 1e10*k && k > 0) || k > 1e8*math.Abs(n) {
		// Asymptotic branches of scipy's binom; far outside the RDP series.
		return math.NaN()
	}
	return 1 / (n + 1) / cephesBetaMemo(1+n-k, 1+k, m)
}
