package accountant

import (
	"math"
	"strings"
	"testing"
)

// prvTol is the absolute tolerance against Opacus's PRV ε (the issue's
// acceptance bound). ε after n steps moves by n times any difference in the
// one-step mean, so the port integrates it with QUADPACK's QAGS exactly as
// scipy does; a more accurate integral would differ from Opacus by 2.4e-6
// at q = 0.01, σ = 1, 10,000 steps.
const prvTol = 1e-6

func TestPRVReference(t *testing.T) {
	worst := 0.0
	for _, r := range refRows(t, "prv.csv") {
		h := History{{NoiseMultiplier: num(t, r, "noise_multiplier"), SampleRate: num(t, r, "sample_rate"), Steps: inum(t, r, "steps")}}
		b, err := PRV{}.Bounds(h, num(t, r, "delta"))
		if err != nil {
			t.Errorf("%v: %v", h, err)
			continue
		}
		if b.DomainSize != inum(t, r, "domain_size") || relErr(b.Mesh, num(t, r, "mesh_dt")) > 1e-12 {
			t.Errorf("%v: domain %d, mesh %v; want %s, %s", h, b.DomainSize, b.Mesh, r["domain_size"], r["mesh_dt"])
		}
		for _, c := range []struct {
			got float64
			col string
		}{{b.Upper, "epsilon"}, {b.Estimate, "eps_estimate"}, {b.Lower, "eps_lower"}} {
			d := math.Abs(c.got - num(t, r, c.col))
			worst = math.Max(worst, d)
			if d > prvTol {
				t.Errorf("%v %s: got %v want %s (diff %.2g)", h, c.col, c.got, r[c.col], d)
			}
		}
	}
	t.Logf("worst absolute difference: %.3g", worst)
}

// TestPRVEdgeReference checks every finite Opacus PRV value of
// edge_cases.csv that the port computes (not the rows where Opacus's
// answer is an artefact: inf, or warnings of overflow and invalid values).
func TestPRVEdgeReference(t *testing.T) {
	n := 0
	for _, r := range refRows(t, "edge_cases.csv") {
		if r["accountant"] != "opacus_prv" || r["epsilon"] == "" || r["sample_rate"] == "" ||
			strings.Contains(r["warnings"], "overflow") || strings.Contains(r["warnings"], "invalid value") {
			continue
		}
		h := History{{NoiseMultiplier: num(t, r, "noise_multiplier"), SampleRate: num(t, r, "sample_rate"), Steps: inum(t, r, "steps")}}
		eps, err := PRV{}.Epsilon(h, num(t, r, "delta"))
		if num(t, r, "delta") < 1e-10 {
			// Below float64 resolution on this domain: refused (see float64Eps).
			if err == nil || !strings.Contains(err.Error(), "rdp accountant gives") {
				t.Errorf("%s: want a precision error naming the RDP bound, got %v, %v", r["case"], eps, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", r["case"], err)
			continue
		}
		n++
		// The bound, also for ε in the hundreds, where float64
		// rounding in e^t alone moves ε by a few 1e-7 (worst row here:
		// 9.7e-7).
		if d := math.Abs(eps - num(t, r, "epsilon")); d > prvTol {
			t.Errorf("%s: got %v want %s", r["case"], eps, r["epsilon"])
		}
	}
	if n < 5 {
		t.Fatalf("only %d edge rows checked", n)
	}
}

func TestPRVFamous(t *testing.T) {
	for _, r := range refRows(t, "famous.csv") {
		if r["prv_epsilon"] == "" {
			continue
		}
		h := History{{NoiseMultiplier: num(t, r, "noise_multiplier"), SampleRate: num(t, r, "sample_rate"), Steps: inum(t, r, "steps")}}
		b, err := PRV{}.Bounds(h, num(t, r, "delta"))
		if err != nil {
			t.Errorf("%s: %v", r["name"], err)
			continue
		}
		if d := math.Abs(b.Upper - num(t, r, "prv_epsilon")); d > prvTol {
			t.Errorf("%s: upper %v want %s", r["name"], b.Upper, r["prv_epsilon"])
		}
		if d := math.Abs(b.Estimate - num(t, r, "prv_eps_estimate")); d > prvTol {
			t.Errorf("%s: estimate %v want %s", r["name"], b.Estimate, r["prv_eps_estimate"])
		}
	}
}

// TestPRVCDFShortcut checks that the CDF's saturation shortcut returns what
// the formula gives beyond it, exactly.
func TestPRVCDFShortcut(t *testing.T) {
	for _, qs := range [][2]float64{{0.01, 1}, {0.004, 0.8}, {0.1, 2}, {1, 1}, {0.5, 5}, {1e-8, 1}} {
		c := newPRVCDF(qs[0], qs[1], -50, 50)
		full := *c
		full.tOne = math.Inf(1)
		if math.IsInf(c.tOne, 1) {
			t.Fatalf("q=%v σ=%v: no shortcut point", qs[0], qs[1])
		}
		for k := 0; k < 2000; k++ {
			x := c.tOne - 1 + float64(k)*0.01
			if a, b := c.raw(x), full.raw(x); a != b {
				t.Fatalf("q=%v σ=%v t=%v: shortcut %v, formula %v", qs[0], qs[1], x, a, b)
			}
		}
	}
}

// TestPRVBandMatchesFull checks the closed-form composition of a single
// segment (bandTails) against composing the whole pmf by FFTs, on settings
// beyond the reference rows. Both are Opacus's circular convolution and
// differ by rounding, which c_k^n amplifies n-fold: δ moves by about
// n·ε_mach and ε by that times dε/dlog δ / δ (the slope, read off the
// bounds: ε(δ−δ_err) − ε(δ+δ_err) ≈ 0.002·slope). At δ = 1e-5 that is
// 1e-8 to 1e-7, as between Opacus and the full FFTs.
func TestPRVBandMatchesFull(t *testing.T) {
	worst := 0.0
	for _, q := range []float64{0.001, 0.004, 0.0427, 0.2} {
		for _, sigma := range []float64{0.6, 1.1, 3} {
			for _, steps := range []int{2, 3, 10, 101, 1000} {
				for _, delta := range []float64{1e-5, 1e-6} {
					if testing.Short() && (steps > 100 || delta != 1e-5) || q >= 0.2 && sigma < 1 && steps > 100 {
						continue // long, or a domain of millions of points for the full FFTs
					}
					h := History{{NoiseMultiplier: sigma, SampleRate: q, Steps: steps}}
					band, errB := PRV{}.bounds(h, delta, false)
					full, errF := PRV{}.bounds(h, delta, true)
					if (errB == nil) != (errF == nil) {
						t.Errorf("%v δ=%v: errors differ: %v vs %v", h, delta, errB, errF)
						continue
					}
					if errB != nil {
						continue
					}
					d := 0.0
					for _, x := range []float64{band.Upper - full.Upper, band.Estimate - full.Estimate, band.Lower - full.Lower} {
						d = math.Max(d, math.Abs(x))
					}
					worst = math.Max(worst, d)
					slope := (band.Upper - band.Lower - 0.02) / 0.002
					if d > math.Max(1e-9, 4*(slope+0.1)*float64(steps)*float64Eps/delta) {
						t.Errorf("%v δ=%v: band %+v, full %+v", h, delta, band, full)
					}
				}
			}
		}
	}
	t.Logf("worst difference: %.3g", worst)
}

// TestErfc1 checks the one-exponential erfc against math.Erfc.
func TestErfc1(t *testing.T) {
	worst := 0.0
	for x := -7.0; x < 30; x += 0.000731 {
		got, want := erfc1(x), math.Erfc(x)
		// Each is within about 3 ulp of erfc; GOAMD64=v3 fuses products in both.
		tol := 6*float64Eps*want + 1e-322 // subnormal results lose bits
		if d := math.Abs(got - want); d > tol {
			t.Fatalf("erfc1(%v) = %v, math.Erfc %v (off %.3g, tolerance %.3g)", x, got, want, d, tol)
		}
		if want > 1e-300 {
			worst = math.Max(worst, math.Abs(got-want)/want/float64Eps)
		}
	}
	t.Logf("worst relative error %.2f ulp", worst)
}

// TestDiscretizeMatchesCDF checks the evaluated window of discretize
// against the truncated CDF differenced on every cell with math.Erfc and
// math.Exp, as Opacus computes it: zero outside the window, and within
// float64 rounding of F inside.
func TestDiscretizeMatchesCDF(t *testing.T) {
	for _, e := range []Entry{{1, 0.01, 1000}, {0.8, 0.004, 100}, {2, 0.1, 1000}, {0.6, 0.5, 10}, {1, 1, 10}, {3, 0.0427, 100}} {
		b, err := PRV{}.Bounds(History{e}, 1e-5)
		if err != nil {
			t.Fatal(err)
		}
		// Bounds' domain: t_min = −K·dt, size 2K+2.
		dom := prvDomain{tMin: -float64(b.DomainSize/2-1) * b.Mesh, tMax: float64(b.DomainSize/2) * b.Mesh, size: b.DomainSize}
		cells, err := discretize(e, dom)
		if err != nil {
			t.Fatal(err)
		}
		c := newPRVCDF(e.SampleRate, e.NoiseMultiplier, dom.tMin, dom.tMax)
		ref := func(t float64) float64 {
			if t < c.tMin {
				return 0
			}
			if t >= c.tMax {
				return 1
			}
			r := 0.0
			if t > c.logOneMinusQ {
				q, s := c.q, c.sigma
				z := math.Log((math.Exp(t) + q - 1) / q)
				den := 2 * math.Sqrt2 * s
				r = 1 - q/2*math.Erfc((2*z*s*s-1)/den) - (1-q)/2*math.Erfc((2*z*s*s+1)/den)
			}
			return (r - c.fMin) / c.mass
		}
		dt := dom.dt()
		edge := func(j int) float64 { // as discretize: the right edge of j is the left of j+1
			if j < 0 {
				return dom.t(0) - dt/2
			}
			return dom.t(j) + dt/2
		}
		// e^t + q − 1 cancels near log(1−q): a relative error η in e^t
		// (a few ulp for both) moves z by η·κ, κ = e^t/(e^t + q − 1), and F
		// by at most σ/√(2π) times that.
		cond := func(t float64) float64 {
			if !(t > c.logOneMinusQ) || t >= c.tMax {
				return 0
			}
			return math.Exp(t) / (math.Exp(t) + c.q - 1) * c.sigma / math.Sqrt(2*math.Pi) / c.mass
		}
		worst, wj := 0.0, 0
		for j := 0; j < dom.size; j++ {
			want := ref(edge(j)) - ref(edge(j-1))
			got := 0.0
			if j >= cells.lo && j < cells.lo+len(cells.p) {
				got = cells.p[j-cells.lo]
			} else if want != 0 {
				t.Fatalf("%v: cell %d outside the window [%d, %d) has pmf %v", e, j, cells.lo, cells.lo+len(cells.p), want)
			}
			tol := 1 + 4*(cond(edge(j))+cond(edge(j-1)))
			if d := math.Abs(got-want) / tol; d > worst {
				worst, wj = d, j
			}
		}
		if worst > 4*float64Eps {
			t.Errorf("%v: pmf off by %.3g of its tolerance at cell %d (t = %v)", e, worst, wj, dom.t(wj))
		}
	}
}

// TestPRVCalibrateReference runs every PRV row of noise.csv (Opacus's
// get_noise_multiplier with the PRV accountant, about 20 ε evaluations
// each): the same σ, and the ε reached within prvTol.
func TestPRVCalibrateReference(t *testing.T) {
	n := 0
	for _, r := range refRows(t, "noise.csv") {
		if r["accountant"] != "prv" {
			continue
		}
		c := Calibration{TargetEpsilon: num(t, r, "target_epsilon"), Delta: num(t, r, "delta"),
			SampleRate: num(t, r, "sample_rate"), Steps: inum(t, r, "steps"), Tolerance: num(t, r, "epsilon_tolerance")}
		sigma, eps, err := Calibrate(PRV{}, c)
		if err != nil {
			t.Errorf("%+v: %v", c, err)
			continue
		}
		n++
		if want := num(t, r, "noise_multiplier"); sigma != want {
			t.Errorf("%+v: σ = %v, want %v", c, sigma, want)
		}
		if d := math.Abs(eps - num(t, r, "achieved_epsilon")); d > prvTol {
			t.Errorf("%+v: ε(σ) = %v, want %s", c, eps, r["achieved_epsilon"])
		}
	}
	if n == 0 {
		t.Fatal("no PRV calibration row")
	}
}
