package accountant

import (
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/dpmpi/dpmpi/accountant/internal/fft"
	"github.com/dpmpi/dpmpi/accountant/internal/quad"
	"github.com/dpmpi/dpmpi/internal/parallel"
)

// PRV is the privacy-random-variable accountant of Opacus (PRVAccountant,
// after Gopi, Lee and Wutschitz 2021 and microsoft/prv_accountant). It
// discretises each segment's privacy loss on a common mesh, composes the
// segments with FFTs, and reads ε off the composed distribution. Epsilon
// returns the upper bound, as Opacus; Bounds returns all three values.
//
// The zero value uses Opacus's defaults.
type PRV struct {
	// EpsError is the ε accuracy; 0 means 0.01.
	EpsError float64
	// DeltaError is the δ accuracy; 0 means δ/1000.
	DeltaError float64
	// MaxDomainSize caps the number of mesh points (work space is about
	// 150 bytes per point: 1.45 GiB for 10.2 million); 0 means 1<<25.
	// Above it Bounds returns a *DomainError instead of trying to allocate.
	MaxDomainSize int
}

// DefaultMaxDomainSize is the mesh size PRV refuses to exceed by default.
const DefaultMaxDomainSize = 1 << 25

// PRVBounds is ε of a history from the PRV accountant: the true ε lies in
// [Lower, Upper]; Estimate is the value read at δ itself.
type PRVBounds struct {
	Lower, Estimate, Upper float64
	// DomainSize and Mesh describe the discretisation.
	DomainSize int
	Mesh       float64
}

// DomainError reports a history whose PRV discretisation is out of reach:
// too many mesh points, or a domain where e^t overflows (ε in the hundreds).
// Opacus tries anyway and fails with MemoryError or returns inf/NaN; the
// RDP bound is an upper bound that is always available.
type DomainError struct {
	Size   float64 // mesh points needed
	Max    int     // the limit in force
	Width  float64 // domain half-width L
	RDPEps float64 // the RDP accountant's ε for the same history and δ
	Delta  float64
}

func (e *DomainError) Error() string {
	if e.Width > maxDomainWidth {
		return fmt.Sprintf("accountant: prv cannot handle this history: its domain [−%.4g, %.4g] exceeds |t| ≤ %v where e^t is finite "+
			"(ε is in the hundreds); the rdp accountant gives ε ≤ %.6g at δ = %v", e.Width, e.Width, maxDomainWidth, e.RDPEps, e.Delta)
	}
	return fmt.Sprintf("accountant: prv needs a domain of %.4g points (%.3g GiB of work space) for this history, above the limit of %d; "+
		"raise PRV.MaxDomainSize, raise EpsError, or use the rdp accountant, which gives ε ≤ %.6g at δ = %v",
		e.Size, e.Size*150/(1<<30), e.Max, e.RDPEps, e.Delta)
}

// maxDomainWidth keeps e^{±t} finite on the mesh.
const maxDomainWidth = 700.0

// Name returns "prv".
func (PRV) Name() string { return "prv" }

// Epsilon returns the upper bound on ε for δ, Opacus's get_epsilon.
func (p PRV) Epsilon(h History, delta float64) (float64, error) {
	b, err := p.Bounds(h, delta)
	return b.Upper, err
}

// prvDomain is Opacus's Domain: size points linspace(tMin, tMax, size),
// shifted as a whole by shifts.
type prvDomain struct {
	tMin, tMax float64
	size       int
	shifts     float64
}

func (d prvDomain) dt() float64 { return (d.tMax - d.tMin) / float64(d.size-1) }

func (d prvDomain) shiftRight(s float64) prvDomain {
	return prvDomain{d.tMin + s, d.tMax + s, d.size, d.shifts + s}
}

// t returns the j-th point, numpy.linspace's value.
func (d prvDomain) t(j int) float64 {
	if j == d.size-1 {
		return d.tMax
	}
	return float64(j)*d.dt() + d.tMin
}

// prvCDF is the CDF of the privacy loss of one Poisson-subsampled Gaussian
// step, truncated to [tMin, tMax] and renormalised.
type prvCDF struct {
	q, sigma, logOneMinusQ float64
	tMin, tMax, fMin, mass float64
	// tOne is a point above which raw(t) is exactly 1 in float64 (both
	// erfc terms are below its rounding, see erfcBelow), so the erfc calls
	// are skipped; above x2Skip the second erfc argument's term is.
	tOne, x2Skip float64
	// whole: the truncation changes nothing (fMin = 0, mass = 1).
	whole bool
}

func newPRVCDF(q, sigma, tMin, tMax float64) *prvCDF {
	c := &prvCDF{q: q, sigma: sigma, logOneMinusQ: math.Log(1 - q), tMin: tMin, tMax: tMax, tOne: math.Inf(1), x2Skip: math.Inf(1)}
	if q > 0 && sigma > 0 {
		// Above xA, (q/2)·erfc(x) ≤ 2⁻⁵⁶; above xB, ((1−q)/2)·erfc(x) ≤ 2⁻⁵⁶.
		xA, xB := erfcBelow(q/2), erfcBelow((1-q)/2)
		c.x2Skip = xB
		// F is exactly 1 once a = (2zσ² − 1)/(2√2σ) ≥ xA and a + 1/(√2σ) ≥ xB:
		// z = (2√2σa + 1)/(2σ²), t = log(q·e^z + 1 − q).
		a := math.Max(xA, xB-1/(math.Sqrt2*sigma))
		z := (2*math.Sqrt2*sigma*a + 1) / (2 * sigma * sigma)
		if t := math.Log(q*math.Exp(z) + 1 - q); !math.IsNaN(t) {
			c.tOne = t + 1e-9*math.Max(1, math.Abs(t))
		}
	}
	c.fMin = c.raw(tMin)
	c.mass = c.raw(tMax) - c.fMin
	c.whole = c.fMin == 0 && c.mass == 1
	return c
}

// erfcBelow returns an x ≥ 1 above which w·erfc(x) ≤ 2⁻⁵⁶, from the bound
// erfc(x) < e^{−x²}/(x√π) (x > 0, decreasing) bisected on [1, 40]. The
// computed product is then within a few ulp of that, a quarter of the 2⁻⁵⁴
// below which subtracting it from a float64 in [0.5, 1] rounds back.
func erfcBelow(w float64) float64 {
	const tiny = 1.0 / (1 << 56)
	small := func(x float64) bool { return w*math.Exp(-x*x)/(x*math.SqrtPi) <= tiny }
	lo, hi := 1.0, 40.0
	if small(lo) {
		return lo
	}
	for i := 0; i < 60; i++ {
		if mid := (lo + hi) / 2; small(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// raw is F(t) = 1 − (q/2)·erfc((2zσ²−1)/(2√2σ)) − ((1−q)/2)·erfc((2zσ²+1)/(2√2σ)),
// z = log((e^t + q − 1)/q), for t > log(1−q); 0 below.
func (c *prvCDF) raw(t float64) float64 {
	if v, ok := c.rawConst(t); ok {
		return v
	}
	return c.rawExp(math.Exp(t))
}

// rawConst returns raw(t) and true where it is exactly 0 or 1.
func (c *prvCDF) rawConst(t float64) (float64, bool) {
	if c.q == 0 {
		if t > 0 {
			return 1, true
		}
		return 0, true
	}
	if !(t > c.logOneMinusQ) {
		return 0, true
	}
	if t > c.tOne {
		return 1, true
	}
	return 0, false
}

// rawExp is raw(t) for log(1−q) < t ≤ tOne, given e^t. The second erfc
// term is left out where it is at most 2⁻⁵⁶: 1 − (q/2)·erfc(a) is in
// [0.5, 1], so subtracting it would round back (see erfcBelow).
func (c *prvCDF) rawExp(et float64) float64 {
	q, s := c.q, c.sigma
	z := math.Log((et + q - 1) / q)
	den := 2 * math.Sqrt2 * s
	f := 1 - q/2*erfc1((2*z*s*s-1)/den)
	if x2 := (2*z*s*s + 1) / den; !(x2 >= c.x2Skip) {
		f -= (1 - q) / 2 * erfc1(x2)
	}
	return f
}

// erfc1 is math.Erfc with one exponential instead of two for 1.25 ≤ |x| < 28.
// There math.Erfc (FreeBSD's s_erf.c) returns e^{−x² − 0.5625 + R/S}/x,
// R/S a rational approximation in 1/x², computed as
// e^{−z² − 0.5625}·e^{(z−x)(z+x) + R/S} with z = x cut to 20 bits so that
// the large part of the exponent is exact. erfc1 keeps the exponent exact
// with a fused multiply-add and a two-sum instead, and evaluates one
// exponential: within 6 ulp of math.Erfc, with or without fused
// multiply-adds elsewhere (TestErfc1).
func erfc1(x float64) float64 {
	ax := math.Abs(x)
	if !(ax >= 1.25) || ax >= 28 {
		return math.Erfc(x)
	}
	if x < -6 {
		return 2
	}
	v := erfcExp(ax, erfcRS(ax)) / ax
	if x < 0 {
		return 2 - v
	}
	return v
}

// erfcRS is s_erf.c's R/S for 1.25 ≤ x < 28.
func erfcRS(x float64) float64 {
	s := 1 / (x * x)
	if x < 1/0.35 {
		return (erfcRA[0] + s*(erfcRA[1]+s*(erfcRA[2]+s*(erfcRA[3]+s*(erfcRA[4]+s*(erfcRA[5]+s*(erfcRA[6]+s*erfcRA[7]))))))) /
			(1 + s*(erfcSA[0]+s*(erfcSA[1]+s*(erfcSA[2]+s*(erfcSA[3]+s*(erfcSA[4]+s*(erfcSA[5]+s*(erfcSA[6]+s*erfcSA[7]))))))))
	}
	return (erfcRB[0] + s*(erfcRB[1]+s*(erfcRB[2]+s*(erfcRB[3]+s*(erfcRB[4]+s*(erfcRB[5]+s*erfcRB[6])))))) /
		(1 + s*(erfcSB[0]+s*(erfcSB[1]+s*(erfcSB[2]+s*(erfcSB[3]+s*(erfcSB[4]+s*(erfcSB[5]+s*erfcSB[6])))))))
}

// erfcExp is e^{(r − 0.5625) − x²} with x² = hi + lo exactly and the
// difference d + de exactly (Knuth's two-sum): the exponential of the
// rounded part times 1 + the rest, to about 2 ulp.
func erfcExp(x, r float64) float64 {
	hi := float64(x * x) // rounded: a fused x·x − hi would break the split
	lo := math.FMA(x, x, -hi)
	y := r - 0.5625
	d := y - hi
	yv := d + hi
	de := (y - yv) + (-hi - (d - yv))
	return math.Exp(d) * (1 + (de - lo))
}

// erfcTaylor is erfc near x0 by its Taylor series to δ⁸:
// erfc(x0+δ) = erfc(x0) + Σ_k c_k δ^k, c_k = (−1)^k (2/√π) H_{k−1}(x0) e^{−x0²}/k!
// (H the Hermite polynomials), 18 flops and no division where erfc1 needs
// an exponential and three divisions.
type erfcTaylor struct {
	e0 float64
	c  [8]float64
}

func newErfcTaylor(x0 float64) erfcTaylor {
	t := erfcTaylor{e0: erfc1(x0)}
	// e^{−x0²} with x0² = hi + lo exactly.
	hi := float64(x0 * x0) // rounded, as erfcExp
	g := 2 / math.SqrtPi * math.Exp(-hi) * (1 - math.FMA(x0, x0, -hi))
	h, hPrev := 1.0, 0.0 // H_{k−1}, H_{k−2}
	for k := 1; k <= len(t.c); k++ {
		g /= -float64(k)
		t.c[k-1] = g * h
		h, hPrev = 2*x0*h-2*float64(k-1)*hPrev, h
	}
	return t
}

// at returns erfc(x0 + δ).
func (t *erfcTaylor) at(d float64) float64 {
	c := &t.c
	d2 := d * d
	d4 := d2 * d2
	return t.e0 + d*((c[0]+c[1]*d)+d2*(c[2]+c[3]*d)+d4*((c[4]+c[5]*d)+d2*(c[6]+c[7]*d)))
}

// taylorRem bounds the remainder of erfcTaylor: |erfc⁽⁹⁾(ξ)|·δ⁹/9! with
// erfc⁽ⁿ⁾(ξ) = (−1)ⁿ(2/√π)H_{n−1}(ξ)e^{−ξ²} and Cramér's inequality
// |H_n(ξ)|e^{−ξ²/2} ≤ 1.0865·√(2ⁿn!), whatever x0: 0.010854·δ⁹.
func taylorRem(d float64) float64 {
	const k = 2 / math.SqrtPi * 1.0865 * 3212.7730 / 362880 // √(2⁸·8!) = 3212.77
	d3 := d * d * d
	return k * d3 * d3 * d3
}

// taylorTol is the largest erfcTaylor remainder, times its weight in F,
// accepted: far below F's rounding (F ≤ 1, ulp 2⁻⁵³).
const taylorTol = 1.0 / (1 << 62)

// cdfAnchor is the CDF's state at the first point t0 of a block of points
// t0 + i·dt, from which raw needs neither exp nor log at the others:
// w = (e^t + q − 1)/q = w0·(1 + κ·expm1(i·dt)) with κ = e^{t0}/(e^{t0} + q − 1),
// so z = z0 + log1p(κ·expm1(i·dt)), a short series for the small arguments
// of a block; both erfc arguments move by δ = (σ/√2)·(z − z0), and the
// erfc terms are Taylor series in δ at t0 (erfcTaylor) wherever their
// remainder is below taylorTol over the whole block (δ ≲ 0.015).
type cdfAnchor struct {
	e0, z0, kappa float64
	ok            bool    // e^{t0} + q − 1 > 0: z0, κ are finite
	x1, x2        float64 // the erfc arguments at t0
	a, b          erfcTaylor
	aOK, bOK      bool
}

// anchor returns the anchor at t0, given e^{t0} and emax = expm1(i·dt)
// of the block's last point; log(1−q) < t0 ≤ tOne.
func (c *prvCDF) anchor(e0, emax float64) cdfAnchor {
	q, s := c.q, c.sigma
	an := cdfAnchor{e0: e0}
	den := e0 + q - 1
	if !(den > 0) {
		return an
	}
	an.z0 = math.Log(den / q)
	an.kappa = e0 / den
	if math.IsInf(an.z0, 0) || math.IsInf(an.kappa, 0) {
		return an
	}
	an.ok = true
	d := 2 * math.Sqrt2 * s
	an.x1 = (2*an.z0*s*s - 1) / d
	an.x2 = (2*an.z0*s*s + 1) / d
	dmax := s / math.Sqrt2 * math.Log1p(an.kappa*emax)
	if an.aOK = q/2*taylorRem(dmax) <= taylorTol; an.aOK {
		an.a = newErfcTaylor(an.x1)
	}
	if an.bOK = an.x2 < c.x2Skip && (1-q)/2*taylorRem(dmax) <= taylorTol; an.bOK {
		an.b = newErfcTaylor(an.x2)
	}
	return an
}

// rawAnchor is raw(t0 + i·dt) for log(1−q) < t ≤ tOne, given
// em1 = expm1(i·dt); within a few ulp of rawExp.
func (c *prvCDF) rawAnchor(an *cdfAnchor, em1 float64) float64 {
	if !an.ok {
		return c.rawExp(an.e0 * (1 + em1))
	}
	var l float64
	if a := an.kappa * em1; a <= 0.02 {
		// log1p(a) = 2·atanh(y), y = a/(2+a) ≤ 0.01: to y⁹, 2⁻⁶⁰ relative.
		y := a / (2 + a)
		y2 := y * y
		l = 2 * y * (1 + y2*(1.0/3+y2*(1.0/5+y2*(1.0/7+y2*(1.0/9)))))
	} else {
		l = math.Log1p(a)
	}
	q, s := c.q, c.sigma
	d := s / math.Sqrt2 * l
	var ea, eb float64
	if an.aOK {
		ea = an.a.at(d)
	} else {
		ea = erfc1(an.x1 + d)
	}
	f := 1 - q/2*ea
	if x2 := an.x2 + d; !(x2 >= c.x2Skip) {
		if an.bOK {
			eb = an.b.at(d)
		} else {
			eb = erfc1(x2)
		}
		f -= (1 - q) / 2 * eb
	}
	return f
}

// The rational approximations of erfc on [1.25, 1/0.35) and [1/0.35, 28)
// from FreeBSD's s_erf.c (as in Go's math package).
var (
	erfcRA = [8]float64{-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e+01, -6.23753324503260060396e+01,
		-1.62396669462573470355e+02, -1.84605092906711035994e+02, -8.12874355063065934246e+01, -9.81432934416914548592e+00}
	erfcSA = [8]float64{1.96512716674392571292e+01, 1.37657754143519042600e+02, 4.34565877475229228821e+02, 6.45387271733267880336e+02,
		4.29008140027567833386e+02, 1.08635005541779435134e+02, 6.57024977031928170135e+00, -6.04244152148580987438e-02}
	erfcRB = [7]float64{-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e+01, -1.60636384855821916062e+02,
		-6.37566443368389627722e+02, -1.02509513161107724954e+03, -4.83519191608651397019e+02}
	erfcSB = [7]float64{3.03380607434824582924e+01, 3.25792512996573918826e+02, 1.53672958608443695994e+03, 3.19985821950859553908e+03,
		2.55305040643316442583e+03, 4.74528541206955367215e+02, -2.24409524465858183362e+01}
)

func (c *prvCDF) at(t float64) float64 {
	switch {
	case t < c.tMin:
		return 0
	case t < c.tMax:
		return (c.raw(t) - c.fMin) / c.mass
	}
	return 1
}

// atAnchor is at(t) for t = t0 + i·dt, em1 = expm1(i·dt) (see cdfAnchor).
func (c *prvCDF) atAnchor(t float64, an *cdfAnchor, em1 float64) float64 {
	switch {
	case t < c.tMin:
		return 0
	case t < c.tMax:
		r, ok := c.rawConst(t)
		if !ok {
			r = c.rawAnchor(an, em1)
		}
		if c.whole {
			return r // (r − 0)/1, without the division
		}
		return (r - c.fMin) / c.mass
	}
	return 1
}

// mean is the mean of the truncated variable, Σ over breakpoint segments of
// b·F(b) − a·F(a) − ∫_a^b F, with Opacus's breakpoints and quadrature
// (QAGS at scipy's default tolerances, 500 subintervals).
func (c *prvCDF) mean() float64 {
	pts := []float64{c.tMin}
	lo := math.Trunc(math.Log10(-c.tMin))
	for k := 0; k < 10; k++ {
		pts = append(pts, -math.Pow(10, lo+float64(k)*(-5-lo)/9))
	}
	pts = append(pts, 0)
	hi := math.Trunc(math.Log10(c.tMax))
	for k := 0; k < 10; k++ {
		pts = append(pts, math.Pow(10, -5+float64(k)*(hi+5)/9))
	}
	pts = append(pts, c.tMax)
	m := 0.0
	w := quad.NewWorkspace(500)
	for i := 0; i+1 < len(pts); i++ {
		a, b := pts[i], pts[i+1]
		m += b*c.at(b) - a*c.at(a) - w.QAGS(c.at, a, b, 1.49e-8, 1.49e-8)
	}
	return m
}

// float64Eps is the machine epsilon of float64. Opacus guards against δ
// below eps·size with numpy's longdouble epsilon (1.08e-19 on x86-64), but
// its arrays, like this port's, are float64, and the FFT noise floor of the
// composed distribution is of order eps per mesh point. At δ = 1e-12
// (q = 0.01, σ = 1, 1000 steps, 230,456 points) two float64 FFTs of this
// port give 3.9292 and 3.9270 against Opacus's 3.9096: the digits are noise.
// The port therefore refuses δ − δ_err < eps·size, as the Opacus semantics
// note anticipates for a float64 port.
const float64Eps = 2.220446049250313e-16

// Bounds returns the lower bound, estimate and upper bound of ε for δ.
func (p PRV) Bounds(h History, delta float64) (PRVBounds, error) {
	return p.bounds(h, delta, false)
}

// bounds is Bounds; full forces the composition by FFTs of whole pmfs.
func (p PRV) bounds(h History, delta float64, full bool) (PRVBounds, error) {
	if err := validateDelta(delta); err != nil {
		return PRVBounds{}, err
	}
	if err := h.validate(); err != nil {
		return PRVBounds{}, err
	}
	epsErr, deltaErr := p.EpsError, p.DeltaError
	if epsErr == 0 {
		epsErr = 0.01
	}
	if deltaErr == 0 {
		deltaErr = delta / 1000
	}
	if !(epsErr > 0) || !(deltaErr > 0) || deltaErr >= delta {
		return PRVBounds{}, fmt.Errorf("accountant: prv needs eps_error > 0 and 0 < delta_error < δ; got %v and %v (δ = %v)", epsErr, deltaErr, delta)
	}
	maxSize := p.MaxDomainSize
	if maxSize == 0 {
		maxSize = DefaultMaxDomainSize
	}
	var segs History
	total := 0
	for _, e := range h {
		if e.Steps == 0 {
			continue
		}
		if e.NoiseMultiplier == 0 && e.SampleRate > 0 {
			inf := math.Inf(1)
			return PRVBounds{Lower: inf, Estimate: inf, Upper: inf}, nil // no noise: no privacy
		}
		segs = append(segs, e)
		total += e.Steps
	}
	if total == 0 {
		return PRVBounds{}, fmt.Errorf("accountant: prv: the history has no steps")
	}

	// Domain half-width from RDP bounds, as Opacus's _get_domain. The
	// per-step RDP of each segment serves both the whole history's bound
	// and the segment's one-step bound (the sums are RDP.Total's).
	var err error
	orders := DefaultOrders()
	sum := make([]float64, len(orders))
	per := make([][]float64, len(segs))
	for i, e := range segs {
		if per[i], err = (RDP{}).Total(History{{NoiseMultiplier: e.NoiseMultiplier, SampleRate: e.SampleRate, Steps: 1}}); err != nil {
			return PRVBounds{}, err
		}
		for k, r := range per[i] {
			sum[k] += float64(r * float64(e.Steps)) // rounded as RDP.Total, even where FMA is available
		}
	}
	lMax, _ := RDPToEpsilon(orders, sum, deltaErr/4)
	for i := range segs {
		l, _ := RDPToEpsilon(orders, per[i], deltaErr/(8*float64(total)))
		lMax = math.Max(lMax, l)
	}
	L := math.Max(lMax, epsErr) + 3
	mesh := epsErr / math.Sqrt(float64(total)*math.Log(12/deltaErr)/2)
	tMin := math.Floor(-L/mesh) * mesh
	tMax := math.Ceil(L/mesh) * mesh
	sizeF := math.RoundToEven((tMax-tMin)/mesh) + 1
	if L > maxDomainWidth || math.IsNaN(L) || sizeF > float64(maxSize) {
		rdpEps, _ := RDPToEpsilon(orders, sum, delta)
		return PRVBounds{}, &DomainError{Size: sizeF, Max: maxSize, Width: L, RDPEps: rdpEps, Delta: delta}
	}
	size := int(sizeF)
	if size%2 == 1 {
		size++
		tMax += mesh
	}
	if float64Eps*float64(size) > delta-deltaErr {
		rdpEps, _ := RDPToEpsilon(orders, sum, delta)
		return PRVBounds{}, fmt.Errorf("accountant: prv: δ = %v is below what float64 resolves on a %d-point domain (δ − δ_err must exceed %.2g); "+
			"the rdp accountant gives ε ≤ %.6g", delta, size, float64Eps*float64(size), rdpEps)
	}
	dom := prvDomain{tMin: tMin, tMax: tMax, size: size}
	if math.Abs(dom.dt()-mesh)/mesh >= 1e-8 {
		return PRVBounds{}, fmt.Errorf("accountant: prv mesh %v could not be aligned on [%v, %v] (got %v)", mesh, tMin, tMax, dom.dt())
	}

	// Discretise each segment, then compose: a single segment whose
	// composed spectrum is provably band-limited in closed form (bandTails),
	// anything else by FFTs of whole pmfs (fullTails).
	cells := make([]prvCells, len(segs))
	for i, e := range segs {
		if cells[i], err = discretize(e, dom); err != nil {
			return PRVBounds{}, err
		}
	}
	var tails prvTails
	if len(segs) == 1 && !full {
		tails = bandTails(cells[0], segs[0].Steps)
	}
	if tails == nil {
		tails = fullTails(cells, segs)
	}

	find := func(target float64) (float64, error) {
		n := tails.size()
		i := sort.Search(n, func(j int) bool { return tails.ndelta(j) >= -target })
		if i == 0 || i == n {
			lo, hi := tails.domain()
			return 0, fmt.Errorf("accountant: prv cannot compute ε at δ = %v: the composed privacy loss puts δ outside the domain [%.4g, %.4g]; use rdp", target, lo, hi)
		}
		return tails.eps(i, target), nil
	}
	var b PRVBounds
	b.DomainSize, b.Mesh = size, dom.dt()
	if b.Upper, err = find(delta - deltaErr); err != nil {
		return PRVBounds{}, err
	}
	b.Upper += epsErr
	if b.Estimate, err = find(delta); err != nil {
		return PRVBounds{}, err
	}
	if b.Lower, err = find(delta + deltaErr); err != nil {
		return PRVBounds{}, err
	}
	b.Lower -= epsErr
	for _, v := range []float64{b.Lower, b.Estimate, b.Upper} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			rdpEps, _ := RDPToEpsilon(orders, sum, delta)
			return PRVBounds{}, fmt.Errorf("accountant: prv produced a non-finite ε (%v, %v, %v) for this history; the rdp accountant gives ε ≤ %.6g", b.Lower, b.Estimate, b.Upper, rdpEps)
		}
	}
	return b, nil
}

// prvCells is a discretised PRV: the pmf of the cells of dom, p[j−lo] for
// lo ≤ j < lo+len(p) and exactly 0 elsewhere, with dom already shifted so
// that the discrete mean is the continuous one.
type prvCells struct {
	dom prvDomain
	lo  int
	p   []float64
}

// full returns the pmf on every cell.
func (c prvCells) full() []float64 {
	pmf := make([]float64, c.dom.size)
	copy(pmf[c.lo:], c.p)
	return pmf
}

// discretize is Opacus's discretize: the truncated CDF differenced at the
// cell edges t_j ± dt/2, and the domain shifted so that the discrete mean
// equals the continuous one. The truncated CDF is exactly 0 at or below
// max(t_min, log(1−q)) and exactly 1 above min(t_max, c.tOne), so only the
// cells between are evaluated; the rest of the pmf is exactly 0, as the
// differences of equal values that Opacus computes there.
func discretize(e Entry, dom prvDomain) (prvCells, error) {
	c := newPRVCDF(e.SampleRate, e.NoiseMultiplier, dom.tMin, dom.tMax)
	dt := dom.dt()
	// t is dom.t without its division.
	t := func(j int) float64 {
		if j == dom.size-1 {
			return dom.tMax
		}
		return float64(j)*dt + dom.tMin
	}
	// The right edge of cell j is also the left edge of cell j+1.
	edge := func(j int) float64 {
		if j < 0 {
			return t(0) - dt/2
		}
		return t(j) + dt/2
	}
	zero := func(t float64) bool { return t < c.tMin || !(t > c.logOneMinusQ) }
	one := func(t float64) bool { return t >= c.tMax || t > c.tOne }
	lo := sort.Search(dom.size, func(j int) bool { return !zero(edge(j)) })
	hi := sort.Search(dom.size, func(j int) bool { return one(edge(j - 1)) })
	hi = max(hi, lo)
	p := make([]float64, hi-lo)
	var meanC float64
	var wg sync.WaitGroup
	wg.Go(func() { meanC = c.mean() })
	// The CDF at the edges: exp and log once per block of blk edges, at its
	// first edge, and short series from there (cdfAnchor). Blocks span at
	// most 2e-3 in t, so the series stay short (δ ≲ 1.5e-3 where κ ≈ 1).
	blk := 8
	for blk < 128 && float64(2*blk)*dt <= 2e-3 {
		blk *= 2
	}
	em1 := make([]float64, blk)
	for i := range em1 {
		em1[i] = math.Expm1(float64(i) * dt)
	}
	parallel.Dynamic(len(p), parallel.ChunkGrain, func(a, b int) {
		// A chunk starts from the same expression its predecessor ends with.
		left := c.at(edge(lo + a - 1))
		for j0 := lo + a; j0 < lo+b; j0 += blk {
			an := c.anchor(math.Exp(edge(j0)), em1[min(blk, lo+b-j0)-1])
			for j := j0; j < min(j0+blk, lo+b); j++ {
				right := c.atAnchor(edge(j), &an, em1[j-j0])
				p[j-lo] = right - left
				left = right
			}
		}
	})
	meanD := 0.0
	for j, v := range p {
		meanD += t(lo+j) * v
	}
	wg.Wait()
	shift := meanC - meanD
	if math.Abs(shift) >= dt/2 {
		return prvCells{}, fmt.Errorf("accountant: prv discretisation of (σ=%v, q=%v) is off: its discrete mean differs from the continuous mean by %v ≥ half the mesh %v; use rdp",
			e.NoiseMultiplier, e.SampleRate, shift, dt/2)
	}
	return prvCells{dom: dom.shiftRight(shift), lo: lo, p: p}, nil
}

// prvTails is the composed privacy loss as the search for ε sees it.
type prvTails interface {
	size() int
	domain() (lo, hi float64)
	// ndelta is e^{t_j}·d2_j − d1_j, with the tail sums
	// d1_j = Σ_{l≥j} p_l and d2_j = Σ_{l≥j} p_l e^{−t_l}: −δ(t_j),
	// non-decreasing in j.
	ndelta(j int) float64
	// eps is log((d1_j − δ)/d2_j).
	eps(j int, delta float64) float64
}

// arrayTails holds the tail sums of a composed pmf.
type arrayTails struct {
	d      prvDomain
	d1, d2 []float64
}

func (a *arrayTails) size() int                { return a.d.size }
func (a *arrayTails) domain() (lo, hi float64) { return a.d.tMin, a.d.tMax }
func (a *arrayTails) ndelta(j int) float64     { return math.Exp(a.d.t(j))*a.d2[j] - a.d1[j] }
func (a *arrayTails) eps(j int, delta float64) float64 {
	return math.Log((a.d1[j] - delta) / a.d2[j])
}

// fullTails composes the segments as Opacus does, each by FFTs of its
// whole pmf, then across segments by a convolution tree, and returns the
// tail sums of the result.
func fullTails(cells []prvCells, segs History) *arrayTails {
	size := cells[0].dom.size
	r := fft.NewRFFT(size)
	coef := make([]complex128, size/2+1)
	type dprv struct {
		pmf []float64
		dom prvDomain
	}
	var parts []dprv
	for i, e := range segs {
		pmf, d := composeSelf(r, coef, cells[i].full(), cells[i].dom, e.Steps)
		parts = append(parts, dprv{pmf, d})
	}
	// Convolution tree across segments.
	for len(parts) > 1 {
		var next []dprv
		if len(parts)%2 == 1 {
			next = append(next, parts[len(parts)-1])
			parts = parts[:len(parts)-1]
		}
		for i := 0; i+1 < len(parts); i += 2 {
			l, rr := parts[i], parts[i+1]
			next = append(next, dprv{fft.ConvolveSame(l.pmf, rr.pmf), l.dom.shiftRight(rr.dom.shifts)})
		}
		parts = next
	}
	pmf, d := parts[0].pmf, parts[0].dom

	// Tail sums d1_j = Σ_{l≥j} p_l and d2_j = Σ_{l≥j} p_l e^{−t_l}.
	d1 := make([]float64, d.size)
	d2 := make([]float64, d.size)
	parallel.Dynamic(d.size, parallel.ChunkGrain, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			d2[j] = pmf[j] * math.Exp(-d.t(j))
		}
	})
	s1, s2 := 0.0, 0.0
	for j := d.size - 1; j >= 0; j-- {
		s1 += pmf[j]
		s2 += d2[j]
		d1[j], d2[j] = s1, s2
	}
	return &arrayTails{d: d, d1: d1, d2: d2}
}

// bandTol bounds the total magnitude of the composed Fourier coefficients
// that bandTails leaves out: each moves every p_l by at most 2/N of its
// magnitude, so ndelta moves by less than 4·bandTol, far below the float64
// rounding of the sums themselves (δ ≥ float64Eps·N is enforced).
const bandTol = 1e-30

// bandTails composes a single segment of n steps exactly as Opacus does —
// the circular convolution irfft(rfft(p)^n) of length N, rolled by m — but
// never forms the composed pmf: it returns its tail sums in closed form, or
// nil when that does not pay off.
//
// With ω = e^{2πi/N}, c_k the transform of p and C_k = c_k^n, the composed
// pmf is p_l = (1/N)·[Re C_0 + 2·Re Σ_{0<k<N/2} C_k ω^{(l−m)k} + C_{N/2} term].
// Writing the pmf as a circular sequence, summation by parts gives
// |c_k| ≤ V1/(2 sin(πk/N)) and |c_k| ≤ V2/(4 sin²(πk/N)), V1 and V2 the
// total variations of p and of its first differences, so with
// sin x ≥ 2x/π the coefficients above K have Σ_{k>K} |C_k| ≤ bandTol for
// the K computed below; for the benchmark history (q = 0.01, σ = 1,
// 10,000 steps, N = 776,726) K = 1,290 and only 140 of the C_k are not
// exactly 0 in float64. The C_k for k ≤ K come from fft.LowDFT, which only
// needs the support of p (15% of the domain there). The tail sums are then
// geometric series in l:
//
//	d1_j        = (1/N)·[(N−j)·Re C_0 + 2·Re Σ_k D_k (ω^{jk} − 1)/(1 − ω^k)]
//	e^{t_j}d2_j = (1/N)·[Re C_0·(1 − ρ^{N−j})/(1 − ρ) + 2·Re Σ_k D_k (ω^{jk} − ρ^{N−j})/(1 − ρω^k)]
//
// with D_k = C_k ω^{−mk} and ρ = e^{−dt}: O(K) work per index, and the
// ε search needs about 3·log₂N indices. The result is the same circular
// convolution as Opacus's up to the rounding of the c_k, which C_k = c_k^n
// amplifies n-fold in either: the two differ by about 1e-8 in ε at
// δ = 1e-5 (6e-8 at most on the reference rows, 2e-7 at ε ≈ 215), as the
// full FFTs here do.
func bandTails(cells prvCells, steps int) prvTails {
	dom, p := cells.dom, cells.p
	N := dom.size
	if steps < 2 || len(p)+4 > N {
		return nil
	}
	// Variations of p as a circular sequence, zero outside the window.
	v1, v2 := 0.0, 0.0
	prev2, prev1 := 0.0, 0.0
	for j := 0; j < len(p)+2; j++ {
		cur := 0.0
		if j < len(p) {
			cur = p[j]
		}
		v1 += math.Abs(cur - prev1)
		v2 += math.Abs(cur - 2*prev1 + prev2)
		prev2, prev1 = prev1, cur
	}
	// Σ_{k>K} (a1/k)^n ≤ (a1/K)^n·K/(n−1) and Σ_{k>K} (a2/k²)^n ≤ (a2/K²)^n·K/(2n−1).
	n := float64(steps)
	a1 := v1 * float64(N) / 4
	a2 := v2 * float64(N) * float64(N) / 16
	lt := math.Log(bandTol)
	k1 := math.Exp((n*math.Log(a1) - math.Log(n-1) - lt) / (n - 1))
	k2 := math.Exp((n*math.Log(a2) - math.Log(2*n-1) - lt) / (2*n - 1))
	kf := math.Ceil(math.Min(k1, k2)) + 1
	if !(kf < float64(N/8)) {
		return nil // not band-limited enough: the full FFTs are cheaper
	}
	K := int(kf)
	roots := fft.NewRootTable(N)
	c := make([]complex128, K+1)
	fft.LowDFT(c, p, cells.lo, N, roots)

	m := steps - 1
	if steps%2 == 0 {
		m += N / 2
	}
	m %= N
	keff := 0
	for k := range c {
		if c[k] = cpowInt(c[k], steps); c[k] != 0 {
			keff = k
		}
	}
	d := dom.shiftRight(dom.shifts * float64(steps-1))
	dt := d.dt()
	rho := math.Exp(-dt)
	b := &bandTailsT{d: d, c0: real(c[0]), roots: roots, dt: dt, oneMinusRho: -math.Expm1(-dt),
		dk: make([]complex128, keff+1), inv1: make([]complex128, keff+1), inv2: make([]complex128, keff+1)}
	for k := 1; k <= keff; k++ {
		b.dk[k] = c[k] * roots.At(int(fft.MulMod(int64(m), int64(k), int64(N))))
		// 1 − ω^k = 2s(s − i·c) and 1 − ρω^k = (1−ρ) + 2ρs² − 2iρsc, s, c = sin, cos(πk/N).
		s, co := math.Sincos(math.Pi * float64(k) / float64(N))
		b.inv1[k] = 1 / complex(2*s*s, -2*s*co)
		b.inv2[k] = 1 / complex(b.oneMinusRho+2*rho*s*s, -2*rho*s*co)
	}
	return b
}

// bandTailsT is the closed form of bandTails.
type bandTailsT struct {
	d               prvDomain
	c0              float64
	dk, inv1, inv2  []complex128 // index k = 1…K
	roots           *fft.RootTable
	dt, oneMinusRho float64
}

func (b *bandTailsT) size() int                { return b.d.size }
func (b *bandTailsT) domain() (lo, hi float64) { return b.d.tMin, b.d.tMax }

// sums returns d1_j and e^{t_j}·d2_j.
func (b *bandTailsT) sums(j int) (d1, a float64) {
	N := b.d.size
	rn := math.Exp(-float64(N-j) * b.dt) // ρ^{N−j}
	var s1, s2 complex128
	r := 0
	for k := 1; k < len(b.dk); k++ {
		if r += j; r >= N {
			r -= N
		}
		w := b.roots.At(r) // ω^{−jk}, conjugated below
		w = complex(real(w), -imag(w))
		s1 += b.dk[k] * (w - 1) * b.inv1[k]
		s2 += b.dk[k] * (w - complex(rn, 0)) * b.inv2[k]
	}
	fN := float64(N)
	d1 = (float64(N-j)*b.c0 + 2*real(s1)) / fN
	a = (b.c0*(-math.Expm1(-float64(N-j)*b.dt))/b.oneMinusRho + 2*real(s2)) / fN
	return d1, a
}

func (b *bandTailsT) ndelta(j int) float64 {
	d1, a := b.sums(j)
	return a - d1
}

func (b *bandTailsT) eps(j int, delta float64) float64 {
	d1, a := b.sums(j)
	return b.d.t(j) + math.Log((d1-delta)/a)
}

// composeSelf is Opacus's _compose_fourier: the n-fold circular
// self-convolution by FFT, rotated back into place.
func composeSelf(r *fft.RFFT, coef []complex128, pmf []float64, d prvDomain, n int) ([]float64, prvDomain) {
	r.Forward(coef, pmf)
	parallel.Dynamic(len(coef), parallel.ChunkGrain, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			coef[k] = cpowInt(coef[k], n)
		}
	})
	out := make([]float64, len(pmf))
	r.Inverse(out, coef)
	m := n - 1
	if n%2 == 0 {
		m += len(out) / 2
	}
	size := len(out)
	m %= size
	for j, v := range out {
		pmf[(j+m)%size] = v
	}
	return pmf, d.shiftRight(d.shifts * float64(n-1))
}

// cpowInt returns z^n: by squaring for |n| < 100 and in polar form
// above, as numpy's complex power.
func cpowInt(z complex128, n int) complex128 {
	if n < 100 {
		r := complex(1, 0)
		for b := z; n > 0; n >>= 1 {
			if n&1 == 1 {
				r *= b
			}
			b *= b
		}
		return r
	}
	if z == 0 {
		return 0
	}
	// exp(n·log z), as glibc's cpow (which numpy calls) evaluates it.
	fn := float64(n)
	mag := math.Exp(fn * math.Log(math.Hypot(real(z), imag(z))))
	s, c := math.Sincos(fn * math.Atan2(imag(z), real(z)))
	return complex(mag*c, mag*s)
}
