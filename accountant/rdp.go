package accountant

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/dpmpi/dpmpi/accountant/internal/libm"
	"github.com/dpmpi/dpmpi/accountant/internal/special"
)

// defaultOrders holds Opacus's RDPAccountant.DEFAULT_ALPHAS: 1 + x/10 for
// x = 1…99, then the integers 12…63. α = 11 is not among them.
var defaultOrders = func() [151]float64 {
	var a [151]float64
	for x := 1; x <= 99; x++ {
		a[x-1] = 1 + float64(x)/10.0
	}
	for i := 12; i <= 63; i++ {
		a[99+i-12] = float64(i)
	}
	return a
}()

// DefaultOrders returns a fresh copy of Opacus's 151 default RDP orders:
// 1.1, 1.2, …, 10.9 (computed as 1 + x/10 in float64), then 12, 13, …, 63.
// The order 11 is absent, exactly as in Opacus.
func DefaultOrders() []float64 {
	o := defaultOrders
	return o[:]
}

// RDPPerStep returns the Rényi differential privacy of one step of the
// Poisson-subsampled Gaussian mechanism with sampling rate q and noise
// multiplier sigma at order alpha, as Opacus's _compute_rdp computes it:
// 0 when q = 0, +Inf when sigma = 0, α/(2σ²) when q = 1, and otherwise
// log(A_α)/(α−1) with A_α summed in log space (a binomial sum for integer α,
// a two-sided series with signed terms for fractional α).
//
// The arguments are not validated; see Entry.Validate.
func RDPPerStep(q, sigma, alpha float64) float64 {
	return rdpPerStep(q, sigma, alpha, nil)
}

// rdpPerStep is RDPPerStep with a cache of the first fractional series'
// erfc terms for this (q, σ) (see logAFrac); e0 may be nil.
func rdpPerStep(q, sigma, alpha float64, e0 *[]float64) float64 {
	switch {
	case q == 0:
		return 0
	case sigma == 0:
		return math.Inf(1)
	case q == 1:
		return alpha / (2 * libm.Pow(sigma, 2))
	case math.IsInf(alpha, 1):
		return math.Inf(1)
	}
	if alpha == math.Trunc(alpha) {
		return logAInt(q, sigma, int(alpha)) / (alpha - 1)
	}
	return logAFrac(q, sigma, alpha, e0) / (alpha - 1)
}

// The kernels below repeat Opacus's arithmetic operation by operation,
// with the glibc, Cephes and Faddeeva ports of internal/libm and
// internal/special in place of Python's math module and scipy: the fractional
// series cancels heavily, so any other rounding shows in the 11th digit.
// Loop invariants that Python recomputes each iteration are hoisted; they
// are deterministic, so the results are unchanged. The explicit float64
// conversions keep the compiler from fusing a product into a following
// addition, which Python does not do.

// logAInt is log A_α for integer α: Opacus's binomial sum in log space.
func logAInt(q, sigma float64, alpha int) float64 {
	logA := math.Inf(-1)
	lq, l1q := libm.Log(q), libm.Log(1-q)
	s2 := 2 * libm.Pow(sigma, 2)
	var lb []float64
	if alpha < len(logBinomInts()) {
		lb = logBinomInts()[alpha]
	}
	for i := 0; i <= alpha; i++ {
		fi := float64(i)
		var lc float64
		if lb != nil {
			lc = lb[i]
		} else {
			lc = libm.Log(special.Binom(float64(alpha), fi))
		}
		logCoef := lc + float64(fi*lq) + float64(float64(alpha-i)*l1q)
		s := logCoef + float64(i*i-i)/s2
		logA = special.LogAdd(logA, s)
	}
	return logA
}

// logBinomInts[n][k] is log(binom(n, k)) as Opacus computes it with
// scipy, for the integer orders n ≤ 64 (the defaults go to 63); a constant
// table filled once by the same code.
var logBinomInts = sync.OnceValue(func() [][]float64 {
	t := make([][]float64, 65)
	for n := range t {
		t[n] = make([]float64, n+1)
		for k := range t[n] {
			t[n][k] = libm.Log(special.Binom(float64(n), float64(k)))
		}
	}
	return t
})

// logAFrac is log A_α for fractional α: Mironov et al.'s two series, with
// negative generalised binomial coefficients subtracted in log space. The
// series stops once both new terms are below e^−30, as in Opacus.
//
// The term log E0 of the first series depends on i, q and σ but not on α,
// so a caller computing several orders for one (q, σ) passes e0 to keep
// those terms: e0 holds log E0 for i = 0, 1, … as computed so far, and it
// must be nil or empty when q or σ changes. Sharing them changes no bit of
// the result.
func logAFrac(q, sigma, alpha float64, e0 *[]float64) float64 {
	logA0, logA1 := math.Inf(-1), math.Inf(-1)
	sig2 := libm.Pow(sigma, 2)
	z0 := float64(sig2*libm.Log(1/q-1)) + 0.5
	lq, l1q := libm.Log(q), libm.Log(1-q)
	s2 := 2 * sig2
	rs := math.Sqrt2 * sigma
	var memo special.BetaMemo
	for i := 0; ; i++ {
		fi := float64(i)
		coef := special.BinomMemo(alpha, fi, &memo)
		logCoef := libm.Log(math.Abs(coef))
		j := alpha - fi
		logT0 := logCoef + float64(fi*lq) + float64(j*l1q)
		logT1 := logCoef + float64(j*lq) + float64(fi*l1q)
		var logE0 float64
		if e0 != nil && i < len(*e0) {
			logE0 = (*e0)[i]
		} else {
			logE0 = -math.Ln2 + special.LogErfc((fi-z0)/rs)
			if e0 != nil {
				*e0 = append(*e0, logE0)
			}
		}
		logE1 := -math.Ln2 + special.LogErfc((z0-j)/rs)
		logS0 := logT0 + float64(i*i-i)/s2 + logE0
		logS1 := logT1 + (float64(j*j)-j)/s2 + logE1
		if coef > 0 {
			logA0 = special.LogAdd(logA0, logS0)
			logA1 = special.LogAdd(logA1, logS1)
		} else {
			var ok0, ok1 bool
			logA0, ok0 = special.LogSub(logA0, logS0)
			logA1, ok1 = special.LogSub(logA1, logS1)
			if !ok0 || !ok1 {
				return math.NaN()
			}
		}
		if math.Max(logS0, logS1) < -30 {
			break
		}
		if math.IsNaN(logS0) || math.IsNaN(logS1) || i > 100_000 { // never loop forever
			return math.NaN()
		}
	}
	return special.LogAdd(logA0, logA1)
}

// rdpConverter turns total RDP values into (ε, δ) by Balle et al. 2020,
// Theorem 21, exactly as Opacus's get_privacy_spent:
//
//	ε(α) = R(α) − (log δ + log α)/(α−1) + log((α−1)/α)
//
// minimised over α ignoring NaN. The two terms that depend only on α and δ
// are computed once so that a privacy curve costs one add per order per point.
type rdpConverter struct {
	orders []float64
	a, b   []float64 // ε(α) = (R(α) − a) + b
}

func newRDPConverter(orders []float64, delta float64) rdpConverter {
	c := rdpConverter{orders: orders, a: make([]float64, len(orders)), b: make([]float64, len(orders))}
	ld := libm.Log(delta)
	for k, al := range orders {
		c.a[k] = (ld + libm.Log(al)) / (al - 1)
		c.b[k] = libm.Log((al - 1) / al)
	}
	return c
}

// epsilon returns the smallest ε over the orders and its order. If every
// value is NaN it returns (+Inf, NaN), like Opacus.
func (c *rdpConverter) epsilon(rdp []float64) (eps, alpha float64) {
	return c.epsilonAt(rdp, nil, 0)
}

// epsilonAt is epsilon of base + per·n (per nil: of base), without
// materialising the sum. NaN values are skipped as numpy's nanargmin does;
// ties keep the first order.
func (c *rdpConverter) epsilonAt(base, per []float64, n float64) (eps, alpha float64) {
	a, b := c.a[:len(base)], c.b[:len(base)]
	best, bestEps := -1, math.Inf(1)
	if per == nil {
		for k, r := range base {
			if e := (r - a[k]) + b[k]; e < bestEps {
				best, bestEps = k, e
			}
		}
	} else {
		per = per[:len(base)]
		for k, r := range base {
			if e := ((r + float64(per[k]*n)) - a[k]) + b[k]; e < bestEps {
				best, bestEps = k, e
			}
		}
	}
	if best >= 0 {
		return bestEps, c.orders[best]
	}
	// Every value is +Inf or NaN: the first +Inf wins (σ = 0 gives
	// (+Inf, first order)); all NaN gives (+Inf, NaN).
	for k, r := range base {
		x := r
		if per != nil {
			x = r + float64(per[k]*n)
		}
		if e := (x - a[k]) + b[k]; !math.IsNaN(e) {
			return e, c.orders[k]
		}
	}
	return math.Inf(1), math.NaN()
}

// RDPToEpsilon converts total RDP values rdp[k] at orders[k] into (ε, δ)-DP
// with the improved conversion of Balle et al. 2020 (Theorem 21), as Opacus
// does since v0.14: the minimum over orders, NaN ignored, not clamped at 0.
// It panics if the slices differ in length.
func RDPToEpsilon(orders, rdp []float64, delta float64) (eps, alpha float64) {
	if len(orders) != len(rdp) {
		panic(fmt.Sprintf("accountant: %d orders but %d RDP values", len(orders), len(rdp)))
	}
	c := newRDPConverter(orders, delta)
	return c.epsilon(rdp)
}

// RDP is the Rényi-DP accountant of Opacus (RDPAccountant). Its zero value
// uses DefaultOrders.
type RDP struct {
	// Orders are the Rényi orders α > 1 to optimise over; nil means
	// DefaultOrders.
	Orders []float64
}

// Name returns "rdp".
func (RDP) Name() string { return "rdp" }

func (r RDP) orders() []float64 {
	if r.Orders == nil {
		return defaultOrders[:]
	}
	return r.Orders
}

func (r RDP) validate() error {
	for i, a := range r.orders() {
		if !(a > 1) || math.IsNaN(a) {
			return fmt.Errorf("accountant: RDP order %d is %v; orders must be greater than 1", i, a)
		}
	}
	if len(r.orders()) == 0 {
		return fmt.Errorf("accountant: RDP has an empty list of orders; pass nil for the defaults")
	}
	return nil
}

// Total returns the RDP of the whole history at every order: Σ steps·R(q, σ, α)
// over the entries, in history order, like Opacus's compute_rdp summed over
// the history.
func (r RDP) Total(h History) ([]float64, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	if err := h.validate(); err != nil {
		return nil, err
	}
	orders := r.orders()
	total := make([]float64, len(orders))
	per := make([]float64, len(orders))
	for _, e := range h {
		perStep(per, e.SampleRate, e.NoiseMultiplier, orders)
		for k := range orders {
			total[k] += float64(per[k] * float64(e.Steps))
		}
	}
	return total, nil
}

// perStep fills dst[k] with RDPPerStep at orders[k], sharing the orders
// between two goroutines: each order is independent, and the fractional
// series dominate the cost of every accountant call.
func perStep(dst []float64, q, sigma float64, orders []float64) {
	if len(orders) < 16 || q == 0 || q == 1 || sigma == 0 {
		for k, a := range orders {
			dst[k] = RDPPerStep(q, sigma, a)
		}
		return
	}
	// The orders cost very different amounts (a fractional series runs to
	// hundreds or thousands of terms, an integer one to α+1), so the two
	// workers take the next order from a shared counter.
	// Each worker keeps its own cache of the fractional series' α-free
	// terms.
	var next atomic.Int64
	work := func() {
		e0 := make([]float64, 0, 256)
		for {
			k := int(next.Add(1) - 1)
			if k >= len(orders) {
				return
			}
			dst[k] = rdpPerStep(q, sigma, orders[k], &e0)
		}
	}
	var wg sync.WaitGroup
	wg.Go(work)
	work()
	wg.Wait()
}

// EpsilonAlpha returns ε for the given δ and the order that attains it.
// The result is not clamped at 0 (Opacus's behaviour): it is the value of
// the conversion at the best order, which for very private settings is
// bounded below by the largest order (0.1029 at δ = 1e-5 with the defaults).
func (r RDP) EpsilonAlpha(h History, delta float64) (eps, alpha float64, err error) {
	if err := validateDelta(delta); err != nil {
		return 0, 0, err
	}
	total, err := r.Total(h)
	if err != nil {
		return 0, 0, err
	}
	c := newRDPConverter(r.orders(), delta)
	eps, alpha = c.epsilon(total)
	return eps, alpha, nil
}

// Epsilon returns ε for the given δ; see EpsilonAlpha.
func (r RDP) Epsilon(h History, delta float64) (float64, error) {
	eps, _, err := r.EpsilonAlpha(h, delta)
	return eps, err
}
