package scatter

import (
	"math"
	"math/cmplx"
)

// kymatioPi is the value of π in the normalisation of Kymatio's gabor_2d
// (2·3.1415·σ²/slant). Kept so that the filters are Kymatio's: the low-pass
// filter's DC gain is then π/3.1415 ≈ 1.0000295 rather than 1.
const kymatioPi = 3.1415

// Filter is one filter of the bank in the Fourier domain: real values on a
// frequency grid, at the resolutions the transform applies it.
type Filter struct {
	// J is the filter's scale: a wavelet ψ_{j,θ} has σ = 0.8·2^J and
	// central frequency ξ = (3π/4)/2^J; the low-pass φ has J = Config.J
	// and σ = 0.8·2^(J−1).
	J int
	// Theta is the angle index l in [0, L) of a wavelet (0 for φ); its
	// angle is Angle(l, L) radians.
	Theta int
	// Levels[r] is the filter's Fourier transform on the grid of the
	// padded image subsampled by 2^r (PadRows/2^r × PadCols/2^r values,
	// row-major, frequency index k standing for 2πk/size, aliased to
	// (−π, π]).
	Levels [][]float64
}

// Angle returns the orientation, in radians, of the wavelets with angle
// index l among L: Kymatio's (⌊L/2⌋−1−l)·π/L (for even L; Python's
// int(L−L/2−1) in general), measured from the row axis toward the column
// axis. For L = 8 the indices 0..7 stand for 3π/8, π/4, …, −π/2.
func Angle(l, L int) float64 {
	return float64(int(float64(L)-float64(L)/2-1)-l) * math.Pi / float64(L)
}

// gabor returns Kymatio's periodised 2-D Gabor filter in space on an m×n
// grid: g(u) = Σ over the 5×5 copies u+(e·m, f·n), e, f ∈ −2..2, of
// exp(−uᵀAu + i·ξ·(u₀cos θ + u₁sin θ)) / (2·3.1415·σ²/slant), with
// A = R(θ)·diag(1, slant²)·R(θ)ᵀ / (2σ²).
func gabor(m, n int, sigma, theta, xi, slant float64) []complex128 {
	c, s := math.Cos(theta), math.Sin(theta)
	sl2 := slant * slant
	d := 2 * sigma * sigma
	a00 := (c*c + s*s*sl2) / d
	a01 := 2 * c * s * (1 - sl2) / d
	a11 := (s*s + c*c*sl2) / d
	norm := 2 * kymatioPi * sigma * sigma / slant
	g := make([]complex128, m*n)
	for e := -2; e <= 2; e++ {
		for f := -2; f <= 2; f++ {
			for i := range m {
				x := float64(i + e*m)
				for j := range n {
					y := float64(j + f*n)
					arg := complex(-(a00*x*x + a01*x*y + a11*y*y), xi*(x*c+y*s))
					g[i*n+j] += cmplx.Exp(arg)
				}
			}
		}
	}
	for i := range g {
		g[i] /= complex(norm, 0)
	}
	return g
}

// morlet returns Kymatio's Morlet wavelet in space: the Gabor filter minus
// β times its envelope, with β chosen so that the wavelet sums to zero.
func morlet(m, n int, sigma, theta, xi, slant float64) []complex128 {
	wv := gabor(m, n, sigma, theta, xi, slant)
	env := gabor(m, n, sigma, theta, 0, slant)
	var sw, se complex128
	for i := range wv {
		sw += wv[i]
		se += env[i]
	}
	beta := sw / se
	for i := range wv {
		wv[i] -= beta * env[i]
	}
	return wv
}

// realFourier returns the real part of the 2-D DFT of the m×n array x (the
// imaginary part vanishes up to rounding for Kymatio's filters, which are
// Hermitian in space).
func realFourier(x []complex128, m, n int) []float64 {
	newFFT2(m, n).forward(x)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = real(v)
	}
	return out
}

// periodize returns Kymatio's periodize_filter_fft(x, res): the m×n Fourier
// filter x with the frequencies that do not fit the grid subsampled by 2^res
// masked out, folded onto that (m/2^res)×(n/2^res) grid.
func periodize(x []float64, m, n, res int) []float64 {
	k := 1 << res
	mr, nr := m/k, n/k
	f := 1 / float64(k)
	startX, lenX := int(float64(m)*f/2), int(float64(m)*(1-f))
	startY, lenY := int(float64(n)*f/2), int(float64(n)*(1-f))
	masked := func(a, b int) bool {
		return (a >= startX && a < startX+lenX) || (b >= startY && b < startY+lenY)
	}
	out := make([]float64, mr*nr)
	for a := range mr {
		for b := range nr {
			var s float64
			for i := range k {
				for j := range k {
					ai, bj := a+i*mr, b+j*nr
					if !masked(ai, bj) {
						s += x[ai*n+bj]
					}
				}
			}
			out[a*nr+b] = s
		}
	}
	return out
}

// filterBank builds Kymatio's filter_bank(m, n, J, L): the J·L Morlet
// wavelets, scale-major then angle, each at resolutions 0..min(j,
// max(J−1,1)−1), and the low-pass φ at resolutions 0..J−1.
func filterBank(m, n, J, L int) (psi []Filter, phi Filter) {
	for j := range J {
		for l := range L {
			sigma := 0.8 * math.Ldexp(1, j)
			xi := 3.0 / 4.0 * math.Pi / math.Ldexp(1, j)
			ft := realFourier(morlet(m, n, sigma, Angle(l, L), xi, 4/float64(L)), m, n)
			f := Filter{J: j, Theta: l}
			for res := range min(j+1, max(J-1, 1)) {
				f.Levels = append(f.Levels, periodize(ft, m, n, res))
			}
			psi = append(psi, f)
		}
	}
	ft := realFourier(gabor(m, n, 0.8*math.Ldexp(1, J-1), 0, 0, 1), m, n)
	phi = Filter{J: J}
	for res := range J {
		phi.Levels = append(phi.Levels, periodize(ft, m, n, res))
	}
	return psi, phi
}
