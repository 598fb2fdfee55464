package fft

import (
	"math"
	"math/bits"
	"sync"

	"github.com/dpmpi/dpmpi/internal/parallel"
)

// dft is an unnormalised complex discrete Fourier transform of any length
// n by Bluestein's chirp-z algorithm on a power-of-two length m ≥ 2n−1
// with fft2.
type dft struct {
	n   int
	fft *fft2
	w   []complex128 // chirp e^{−iπj²/n}
	bf  []complex128 // transform of the conjugate chirp filter (bit-reversed order)
	buf []complex128
}

func newDFT(n int) *dft {
	d := &dft{n: n}
	m := max(2, 1<<bits.Len(uint(2*n-2)))
	d.fft = newFFT2(m)
	d.w = make([]complex128, n)
	d.bf = make([]complex128, m)
	d.buf = make([]complex128, m)
	parallel.Dynamic(n, parallel.ChunkGrain, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			// j² mod 2n keeps the angle exact for large j.
			r := (int64(j) * int64(j)) % int64(2*n)
			s, c := math.Sincos(math.Pi * float64(r) / float64(n))
			d.w[j] = complex(c, -s)
			d.bf[j] = complex(c, s)
			if j > 0 {
				d.bf[m-j] = complex(c, s)
			}
		}
	})
	d.fft.forward(d.bf)
	return d
}

// forward replaces x by Σ_j x_j e^{−2πijk/n}.
func (d *dft) forward(x []complex128) {
	m := len(d.buf)
	for j, v := range x {
		d.buf[j] = v * d.w[j]
	}
	clear(d.buf[d.n:])
	d.fft.forward(d.buf)
	for k := range d.buf {
		d.buf[k] *= d.bf[k]
	}
	d.fft.inverse(d.buf)
	s := 1 / float64(m)
	for k := range x {
		x[k] = d.buf[k] * d.w[k] * complex(s, 0)
	}
}

// inverse replaces x by Σ_k x_k e^{+2πijk/n} (unnormalised).
func (d *dft) inverse(x []complex128) {
	for i, v := range x {
		x[i] = complex(real(v), -imag(v))
	}
	d.forward(x)
	for i, v := range x {
		x[i] = complex(real(v), -imag(v))
	}
}

// An RFFT is a real transform of even length n built on a complex
// transform of length n/2, with numpy's rfft/irfft conventions (irfft
// divides by n). Its methods use internal buffers: an RFFT is not safe
// for concurrent use.
type RFFT struct {
	n   int
	d   *dft
	tw  []complex128 // e^{−2πik/n}, k ≤ n/2
	buf []complex128
}

// NewRFFT returns a real transform of even length n ≥ 2; n/2 may be any
// length (Bluestein's algorithm for lengths that are not powers of two).
// The tables are built on all cores.
func NewRFFT(n int) *RFFT {
	h := n / 2
	r := &RFFT{n: n, d: newDFT(h), tw: make([]complex128, h+1), buf: make([]complex128, h)}
	parallel.Dynamic(len(r.tw), parallel.ChunkGrain, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			s, c := math.Sincos(2 * math.Pi * float64(k) / float64(n))
			r.tw[k] = complex(c, -s)
		}
	})
	return r
}

// Forward computes the n/2+1 coefficients Σ_j x_j e^{−2πijk/n},
// k = 0, …, n/2, of x (length n) into dst (length n/2+1).
func (r *RFFT) Forward(dst []complex128, x []float64) {
	h := r.n / 2
	z := r.buf
	for k := range z {
		z[k] = complex(x[2*k], x[2*k+1])
	}
	r.d.forward(z)
	for k := 0; k <= h; k++ {
		zk := z[k%h]
		zc := z[(h-k)%h]
		zc = complex(real(zc), -imag(zc))
		e := (zk + zc) * 0.5
		o := (zk - zc) * complex(0, -0.5)
		dst[k] = e + r.tw[k]*o
	}
}

// Inverse computes x (length n) from its n/2+1 coefficients c, normalised
// by 1/n, as numpy's irfft. The imaginary parts of the first and last
// coefficient are ignored (and cleared in c); c is not otherwise changed.
func (r *RFFT) Inverse(x []float64, c []complex128) {
	h := r.n / 2
	c[0] = complex(real(c[0]), 0)
	c[h] = complex(real(c[h]), 0)
	z := r.buf
	for k := 0; k < h; k++ {
		xc := c[h-k]
		xc = complex(real(xc), -imag(xc))
		e := (c[k] + xc) * 0.5
		o := (c[k] - xc) * 0.5
		tw := r.tw[k]
		o *= complex(real(tw), -imag(tw))
		z[k] = e + complex(0, 1)*o
	}
	r.d.inverse(z)
	s := 1 / float64(h)
	for k, v := range z {
		x[2*k] = real(v) * s
		x[2*k+1] = imag(v) * s
	}
}

// ConvolveSame returns the linear convolution of a and b (equal lengths n)
// cropped to n values starting at index (n−1)/2, scipy's mode="same". It
// packs the two real sequences into z = a + i·b, zero-padded to a power
// of two m ≥ 2n−1, so that one transform gives both spectra,
// A_k·B_k = (Z_k² − conj(Z_{−k})²)/(4i), and one inverse the convolution.
func ConvolveSame(a, b []float64) []float64 {
	n := len(a)
	m := 2
	for m < 2*n-1 {
		m *= 2
	}
	f := newFFT2(m)
	z := make([]complex128, m)
	for j := range a {
		z[j] = complex(a[j], b[j])
	}
	f.forward(z)
	// fft2 leaves Z in bit-reversed order: Z_k at position rev(k).
	sh := uint(bits.UintSize - bits.Len(uint(m-1)))
	rev := func(k int) int { return int(bits.Reverse(uint(k)) >> sh) }
	prod := func(zk, zc complex128) complex128 {
		zc = complex(real(zc), -imag(zc))
		return (zk*zk - zc*zc) * complex(0, -0.25)
	}
	// Positions in order, each pair (Z_k, Z_{−k}) once, by its first position.
	f.butterflies(m, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			j := rev((m - rev(i)) % m)
			if j < i {
				continue
			}
			zi, zj := z[i], z[j]
			z[i] = prod(zi, zj)
			if j != i {
				z[j] = prod(zj, zi)
			}
		}
	})
	f.inverse(z)
	out := make([]float64, n)
	k0 := (n - 1) / 2
	s := 1 / float64(m)
	for j := range out {
		out[j] = real(z[k0+j]) * s
	}
	return out
}

// A RootTable holds the N-th roots of unity e^{−2πir/N} for integer r in
// [0, N) as the product of two tabulated roots, e^{−2πi(r−l)/N}·e^{−2πil/N}
// with l the low bits of r: about 2√N calls to Sincos instead of one per
// root, and an error of a few ulp.
type RootTable struct {
	bits   uint
	lo, hi []complex128
}

// NewRootTable returns the table of the n-th roots of unity, n ≥ 1.
func NewRootTable(n int) *RootTable {
	b := uint(bits.Len(uint(n))+1) / 2
	t := &RootTable{bits: b, lo: make([]complex128, 1<<b), hi: make([]complex128, n>>b+1)}
	for j := range t.lo {
		t.lo[j] = unitRoot(j, n)
	}
	for j := range t.hi {
		t.hi[j] = unitRoot(j<<b, n)
	}
	return t
}

// unitRoot returns e^{−2πir/n}, r ≥ 0, to an ulp: the angle is reduced on
// the integers to ψ ≤ π/4 in a quadrant, where Sincos is accurate and the
// rounding of ψ small, and the quadrant applied by swaps and signs.
func unitRoot(r, n int) complex128 {
	u := 4 * (int64(r) % int64(n)) // the angle in quarter turns is u/n
	q, rho := u/int64(n), u%int64(n)
	var c, s float64
	if 2*rho <= int64(n) {
		s, c = math.Sincos(math.Pi / 2 * float64(rho) / float64(n))
	} else {
		c, s = math.Sincos(math.Pi / 2 * float64(int64(n)-rho) / float64(n))
	}
	// (c, s) = (cos, sin) of the angle within its quadrant; add q·π/2.
	for ; q > 0; q-- {
		c, s = -s, c
	}
	return complex(c, -s)
}

// At returns e^{−2πir/N}, 0 ≤ r < N.
func (t *RootTable) At(r int) complex128 {
	return t.hi[r>>t.bits] * t.lo[r&(1<<t.bits-1)]
}

// MulMod returns a·b mod n in [0, n) for |a|, |b| < 2³¹ and 0 < n < 2³¹.
func MulMod(a, b, n int64) int64 {
	r := a * b % n
	if r < 0 {
		r += n
	}
	return r
}

// LowDFT sets dst[k] = Σ_l x_l e^{−2πilk/n} for k = 0, …, len(dst)−1 of the
// real sequence x of even length n that equals win on [lo, lo+len(win)) and
// vanishes elsewhere; roots is NewRootTable(n). It packs x into the complex
// sequence z_j = x_{2j} + i·x_{2j+1} of length n/2, evaluates its transform
// Z_k for −K ≤ k ≤ K (K = len(dst)−1, which must satisfy 2K < n/2) with
// Bluestein's chirp-z algorithm, and splits Z into the even and odd halves
// as RFFT does. With jk = (j² + k² − (k−j)²)/2 the chirp-z transform is a
// linear convolution of the S = len(win)/2 (about) packed samples with a
// chirp of S + 2K terms, done as a circular convolution of power-of-two
// length M ≥ S + 2K with fft2: the cost depends on the support of x and on
// K, not on n.
func LowDFT(dst []complex128, win []float64, lo, n int, roots *RootTable) {
	K := len(dst) - 1
	h := n / 2
	if n%2 != 0 || 2*K >= h {
		panic("fft: LowDFT needs an even length n and 2K < n/2")
	}
	lo0 := lo &^ 1
	j0 := lo0 / 2
	s := (lo + len(win) - lo0 + 1) / 2 // packed samples
	x := func(l int) float64 {
		if l -= lo; l >= 0 && l < len(win) {
			return win[l]
		}
		return 0
	}
	m := 2
	for m < s+2*K {
		m *= 2
	}
	f := newFFT2(m)
	a := make([]complex128, m)
	b := make([]complex128, m)
	// a_u = z_{j0+u}·W^{u²}, W = e^{−2πi/n}; b_m = W^{−m²} laid out for
	// −(s−1+K) ≤ m ≤ K, which needs m ≥ s + 2K slots.
	chirp := func(hi int, fill func(u int, w complex128)) {
		r, inc := 0, 1%n // u² and 2u+1 mod n
		for u := 0; u < hi; u++ {
			fill(u, roots.At(r))
			if r += inc; r >= n {
				r -= n
			}
			if inc += 2; inc >= n {
				inc -= n
			}
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		chirp(s+K, func(u int, w complex128) {
			w = complex(real(w), -imag(w))
			if u <= K {
				b[u] = w
			}
			if u > 0 {
				b[m-u] = w
			}
		})
		f.forward(b)
	})
	chirp(s, func(u int, w complex128) {
		l := 2 * (j0 + u)
		a[u] = complex(x(l), x(l+1)) * w
	})
	f.forward(a)
	wg.Wait()
	for i := range a {
		a[i] *= b[i]
	}
	f.inverse(a)
	// Z_k = W^{k² + 2·j0·k}·(a ⊛ b)_k / m.
	z := func(k int) complex128 {
		r := (MulMod(int64(k), int64(k), int64(n)) + MulMod(int64(2*j0), int64(k), int64(n))) % int64(n)
		return a[(k+m)%m] * roots.At(int(r)) * complex(1/float64(m), 0)
	}
	for k := 0; k <= K; k++ {
		zk := z(k)
		zc := z(-k)
		zc = complex(real(zc), -imag(zc))
		e := (zk + zc) * 0.5
		o := (zk - zc) * complex(0, -0.5)
		dst[k] = e + roots.At(k)*o
	}
}
