package accountant

import (
	"fmt"
	"math"
	"sort"
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
	// tOne is a point above which raw(t) is exactly 1 in float64: there
	// both erfc arguments exceed 6.5 (by a margin over 6, where
	// erfc < 2⁻⁵⁴ and 1 − a − b rounds to 1), so the erfc calls are skipped.
	tOne float64
}

func newPRVCDF(q, sigma, tMin, tMax float64) *prvCDF {
	c := &prvCDF{q: q, sigma: sigma, logOneMinusQ: math.Log(1 - q), tMin: tMin, tMax: tMax, tOne: math.Inf(1)}
	if q > 0 && sigma > 0 {
		// (2zσ² − 1)/(2√2σ) = 6.5  ⇔  z = (13√2σ + 1)/(2σ²), t = log(q·e^z + 1 − q).
		z := (13*math.Sqrt2*sigma + 1) / (2 * sigma * sigma)
		if t := math.Log(q*math.Exp(z) + 1 - q); !math.IsNaN(t) {
			c.tOne = t + 1e-9*math.Max(1, math.Abs(t))
		}
	}
	c.fMin = c.raw(tMin)
	c.mass = c.raw(tMax) - c.fMin
	return c
}

// raw is F(t) = 1 − (q/2)·erfc((2zσ²−1)/(2√2σ)) − ((1−q)/2)·erfc((2zσ²+1)/(2√2σ)),
// z = log((e^t + q − 1)/q), for t > log(1−q); 0 below.
func (c *prvCDF) raw(t float64) float64 {
	if c.q == 0 {
		if t > 0 {
			return 1
		}
		return 0
	}
	if !(t > c.logOneMinusQ) {
		return 0
	}
	if t > c.tOne {
		return 1
	}
	q, s := c.q, c.sigma
	z := math.Log((math.Exp(t) + q - 1) / q)
	den := 2 * math.Sqrt2 * s
	return 1 - q/2*math.Erfc((2*z*s*s-1)/den) - (1-q)/2*math.Erfc((2*z*s*s+1)/den)
}

func (c *prvCDF) at(t float64) float64 {
	switch {
	case t < c.tMin:
		return 0
	case t < c.tMax:
		return (c.raw(t) - c.fMin) / c.mass
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
	for i := 0; i+1 < len(pts); i++ {
		a, b := pts[i], pts[i+1]
		m += b*c.at(b) - a*c.at(a) - qags(c.at, a, b, 1.49e-8, 1.49e-8, 500)
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

	// Domain half-width from RDP bounds, as Opacus's _get_domain.
	lMax, err := RDP{}.Epsilon(segs, deltaErr/4)
	if err != nil {
		return PRVBounds{}, err
	}
	for _, e := range segs {
		one := History{{NoiseMultiplier: e.NoiseMultiplier, SampleRate: e.SampleRate, Steps: 1}}
		l, err := RDP{}.Epsilon(one, deltaErr/(8*float64(total)))
		if err != nil {
			return PRVBounds{}, err
		}
		lMax = math.Max(lMax, l)
	}
	L := math.Max(lMax, epsErr) + 3
	mesh := epsErr / math.Sqrt(float64(total)*math.Log(12/deltaErr)/2)
	tMin := math.Floor(-L/mesh) * mesh
	tMax := math.Ceil(L/mesh) * mesh
	sizeF := math.RoundToEven((tMax-tMin)/mesh) + 1
	if L > maxDomainWidth || math.IsNaN(L) || sizeF > float64(maxSize) {
		rdpEps, _ := RDP{}.Epsilon(segs, delta)
		return PRVBounds{}, &DomainError{Size: sizeF, Max: maxSize, Width: L, RDPEps: rdpEps, Delta: delta}
	}
	size := int(sizeF)
	if size%2 == 1 {
		size++
		tMax += mesh
	}
	if float64Eps*float64(size) > delta-deltaErr {
		rdpEps, _ := RDP{}.Epsilon(segs, delta)
		return PRVBounds{}, fmt.Errorf("accountant: prv: δ = %v is below what float64 resolves on a %d-point domain (δ − δ_err must exceed %.2g); "+
			"the rdp accountant gives ε ≤ %.6g", delta, size, float64Eps*float64(size), rdpEps)
	}
	dom := prvDomain{tMin: tMin, tMax: tMax, size: size}
	if math.Abs(dom.dt()-mesh)/mesh >= 1e-8 {
		return PRVBounds{}, fmt.Errorf("accountant: prv mesh %v could not be aligned on [%v, %v] (got %v)", mesh, tMin, tMax, dom.dt())
	}

	// Discretise and self-compose each segment.
	r := newRFFT(size)
	coef := make([]complex128, size/2+1)
	type dprv struct {
		pmf []float64
		dom prvDomain
	}
	var parts []dprv
	for _, e := range segs {
		pmf, d, err := discretize(e, dom)
		if err != nil {
			return PRVBounds{}, err
		}
		pmf, d = composeSelf(r, coef, pmf, d, e.Steps)
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
			next = append(next, dprv{convolveSame(l.pmf, rr.pmf), l.dom.shiftRight(rr.dom.shifts)})
		}
		parts = next
	}
	pmf, d := parts[0].pmf, parts[0].dom

	// Tail sums d1_j = Σ_{l≥j} p_l and d2_j = Σ_{l≥j} p_l e^{−t_l}.
	d1 := make([]float64, d.size)
	d2 := make([]float64, d.size)
	parallelFor(d.size, func(lo, hi int) {
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
	find := func(target float64) (float64, error) {
		i := sort.Search(d.size, func(j int) bool { return math.Exp(d.t(j))*d2[j]-d1[j] >= -target })
		if i == 0 || i == d.size {
			return 0, fmt.Errorf("accountant: prv cannot compute ε at δ = %v: the composed privacy loss puts δ outside the domain [%.4g, %.4g]; use rdp", target, d.tMin, d.tMax)
		}
		return math.Log((d1[i] - target) / d2[i]), nil
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
			rdpEps, _ := RDP{}.Epsilon(segs, delta)
			return PRVBounds{}, fmt.Errorf("accountant: prv produced a non-finite ε (%v, %v, %v) for this history; the rdp accountant gives ε ≤ %.6g", b.Lower, b.Estimate, b.Upper, rdpEps)
		}
	}
	return b, nil
}

// discretize is Opacus's discretize: the truncated CDF differenced at the
// cell edges t_j ± dt/2, and the domain shifted so that the discrete mean
// equals the continuous one.
func discretize(e Entry, dom prvDomain) ([]float64, prvDomain, error) {
	c := newPRVCDF(e.SampleRate, e.NoiseMultiplier, dom.tMin, dom.tMax)
	dt := dom.dt()
	pmf := make([]float64, dom.size)
	parallelFor(dom.size, func(lo, hi int) {
		// The right edge of cell j is reused as the left edge of cell j+1;
		// a chunk starts from the same expression its predecessor ends with.
		left := c.at(dom.t(0) - dt/2)
		if lo > 0 {
			left = c.at(dom.t(lo-1) + dt/2)
		}
		for j := lo; j < hi; j++ {
			right := c.at(dom.t(j) + dt/2)
			pmf[j] = right - left
			left = right
		}
	})
	meanD := 0.0
	for j, p := range pmf {
		meanD += dom.t(j) * p
	}
	shift := c.mean() - meanD
	if math.Abs(shift) >= dt/2 {
		return nil, dom, fmt.Errorf("accountant: prv discretisation of (σ=%v, q=%v) is off: its discrete mean differs from the continuous mean by %v ≥ half the mesh %v; use rdp",
			e.NoiseMultiplier, e.SampleRate, shift, dt/2)
	}
	return pmf, dom.shiftRight(shift), nil
}

// composeSelf is Opacus's _compose_fourier: the n-fold circular
// self-convolution by FFT, rotated back into place.
func composeSelf(r *rfft, coef []complex128, pmf []float64, d prvDomain, n int) ([]float64, prvDomain) {
	r.forward(coef, pmf)
	parallelFor(len(coef), func(lo, hi int) {
		for k := lo; k < hi; k++ {
			coef[k] = cpowInt(coef[k], n)
		}
	})
	out := make([]float64, len(pmf))
	r.inverse(out, coef)
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
