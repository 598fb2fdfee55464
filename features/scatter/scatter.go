package scatter

import (
	"fmt"
	"math"
	"math/cmplx"

	"github.com/dpmpi/dpmpi/internal/parallel"
)

// Config describes a scattering transform: the input image size, the number
// of scales J, of angles L and the maximum order.
type Config struct {
	// Rows and Cols are the size of one input image (one channel).
	Rows, Cols int
	// J is the number of scales: wavelets at scales j = 0..J−1, averaging
	// over 2^J pixels and subsampling by 2^J. Rows and Cols must be at
	// least 2^J.
	J int
	// L is the number of wavelet orientations in [0, π).
	L int
	// MaxOrder is 1 or 2: the highest scattering order computed.
	MaxOrder int
}

// Kymatio returns the configuration of Tramèr & Boneh's ScatterNet, Kymatio's
// Scattering2D(J=2, shape=(rows, cols), L=8, max_order=2).
func Kymatio(rows, cols int) Config {
	return Config{Rows: rows, Cols: cols, J: 2, L: 8, MaxOrder: 2}
}

// Path names one output channel: its order (0, 1 or 2) and the scales and
// angle indices of the wavelets along it (J1, Theta1 for orders 1 and 2; J2,
// Theta2 for order 2; unused fields are −1).
type Path struct {
	Order                  int
	J1, Theta1, J2, Theta2 int
}

// Scattering is a 2-D scattering transform with its filter bank. It is
// immutable and safe for concurrent use; each goroutine transforming images
// needs its own Workspace.
type Scattering struct {
	cfg              Config
	padRows, padCols int
	top, left        int
	outRows, outCols int
	psi              []Filter
	phi              Filter
	paths            []Path
	chan2            []int // order-2 channel of wavelets (n1, n2) at n1·len(psi)+n2, or −1
}

// New builds the transform cfg describes and its filter bank (a few tens of
// milliseconds for 28×28 images). It returns an error naming the field that
// is out of range.
func New(cfg Config) (*Scattering, error) {
	switch {
	case cfg.J < 1:
		return nil, fmt.Errorf("scatter: J = %d; want at least 1 scale", cfg.J)
	case cfg.J > 12:
		return nil, fmt.Errorf("scatter: J = %d; want at most 12 scales", cfg.J)
	case cfg.L < 1:
		return nil, fmt.Errorf("scatter: L = %d; want at least 1 angle", cfg.L)
	case cfg.MaxOrder != 1 && cfg.MaxOrder != 2:
		return nil, fmt.Errorf("scatter: MaxOrder = %d; want 1 or 2", cfg.MaxOrder)
	case cfg.Rows < 1<<cfg.J || cfg.Cols < 1<<cfg.J:
		return nil, fmt.Errorf("scatter: images of %d×%d pixels are smaller than 2^J = %d; use a smaller J or larger images", cfg.Rows, cfg.Cols, 1<<cfg.J)
	}
	k := 1 << cfg.J
	s := &Scattering{cfg: cfg}
	// Kymatio's compute_padding: the next multiple of 2^J above size+2^J.
	s.padRows = ((cfg.Rows+k)/k + 1) * k
	s.padCols = ((cfg.Cols+k)/k + 1) * k
	s.top, s.left = (s.padRows-cfg.Rows)/2, (s.padCols-cfg.Cols)/2
	if s.top >= cfg.Rows || s.left >= cfg.Cols || s.padRows-cfg.Rows-s.top >= cfg.Rows || s.padCols-cfg.Cols-s.left >= cfg.Cols {
		return nil, fmt.Errorf("scatter: images of %d×%d pixels are too small to reflect-pad to %d×%d; use a smaller J", cfg.Rows, cfg.Cols, s.padRows, s.padCols)
	}
	s.outRows, s.outCols = s.padRows/k-2, s.padCols/k-2
	s.psi, s.phi = filterBank(s.padRows, s.padCols, cfg.J, cfg.L)
	s.paths = append(s.paths, Path{Order: 0, J1: -1, Theta1: -1, J2: -1, Theta2: -1})
	for _, p := range s.psi {
		s.paths = append(s.paths, Path{Order: 1, J1: p.J, Theta1: p.Theta, J2: -1, Theta2: -1})
	}
	if cfg.MaxOrder == 2 {
		for _, p1 := range s.psi {
			for _, p2 := range s.psi {
				if p2.J > p1.J {
					s.paths = append(s.paths, Path{Order: 2, J1: p1.J, Theta1: p1.Theta, J2: p2.J, Theta2: p2.Theta})
				}
			}
		}
	}
	s.chan2 = make([]int, len(s.psi)*len(s.psi))
	for i := range s.chan2 {
		s.chan2[i] = -1
	}
	for k, p := range s.paths {
		if p.Order == 2 {
			s.chan2[(p.J1*cfg.L+p.Theta1)*len(s.psi)+p.J2*cfg.L+p.Theta2] = k
		}
	}
	return s, nil
}

// Config returns the configuration s was built with.
func (s *Scattering) Config() Config { return s.cfg }

// Channels returns the number of output channels per input channel:
// 1 + J·L, plus L²·J(J−1)/2 for MaxOrder 2 (81 for J = 2, L = 8).
func (s *Scattering) Channels() int { return len(s.paths) }

// OutSize returns the size of each output channel, Rows/2^J × Cols/2^J
// (rounded down): 7×7 for 28×28 images and J = 2.
func (s *Scattering) OutSize() (rows, cols int) { return s.outRows, s.outCols }

// Dim returns the number of output values per input channel,
// Channels()·rows·cols of OutSize.
func (s *Scattering) Dim() int { return len(s.paths) * s.outRows * s.outCols }

// PaddedSize returns the size of the reflect-padded grid the filters live
// on: 36×36 for 28×28 images and J = 2.
func (s *Scattering) PaddedSize() (rows, cols int) { return s.padRows, s.padCols }

// Paths returns the output channels in order: order 0; then order 1 with
// (j1, θ1) in lexicographic order; then order 2 with (j1, θ1, j2, θ2) in
// lexicographic order, j2 > j1. The slice is a copy.
func (s *Scattering) Paths() []Path { return append([]Path(nil), s.paths...) }

// Wavelets returns the J·L wavelet filters ψ, scale-major then angle (the
// filter of scale j and angle index l is at j·L + l). They must not be
// modified.
func (s *Scattering) Wavelets() []Filter { return s.psi }

// LowPass returns the low-pass filter φ. It must not be modified.
func (s *Scattering) LowPass() Filter { return s.phi }

// Workspace holds the scratch space of one goroutine's transforms.
type Workspace struct {
	s     *Scattering
	ffts  []*fft2 // by resolution 0..J
	u0    []complex128
	z     []complex128 // two moduli packed as real and imaginary parts, then their spectrum
	u1    [2][]complex128
	tmp   []complex128
	ma    []float64
	mb    []float64
	small []complex128 // one channel at resolution J
}

// NewWorkspace returns scratch space for Transform.
func (s *Scattering) NewWorkspace() *Workspace {
	w := &Workspace{s: s}
	for r := 0; r <= s.cfg.J; r++ {
		w.ffts = append(w.ffts, newFFT2(s.padRows>>r, s.padCols>>r))
	}
	n := s.padRows * s.padCols
	c := func() []complex128 { return make([]complex128, n) }
	w.u0, w.z, w.u1[0], w.u1[1], w.tmp = c(), c(), c(), c(), c()
	w.ma, w.mb = make([]float64, n), make([]float64, n)
	w.small = make([]complex128, (s.padRows>>s.cfg.J)*(s.padCols>>s.cfg.J))
	return w
}

// Transform writes the scattering coefficients of the image img (Rows·Cols
// values, row-major) into dst (Dim() values: Channels() channels of OutSize,
// in the order of Paths). It panics if the lengths are wrong or ws belongs
// to another Scattering. It does not allocate.
//
// The moduli of two paths of the same scale are real, so one complex FFT
// transforms both (as real and imaginary parts), and the low-pass filter,
// real and even, keeps them apart up to the last inverse FFT.
func (s *Scattering) Transform(dst, img []float64, ws *Workspace) {
	cfg := s.cfg
	if len(img) != cfg.Rows*cfg.Cols || len(dst) != s.Dim() {
		panic(fmt.Sprintf("scatter: Transform: len(img) = %d, len(dst) = %d; want %d and %d", len(img), len(dst), cfg.Rows*cfg.Cols, s.Dim()))
	}
	if ws.s != s {
		panic("scatter: Transform: the workspace belongs to another Scattering")
	}
	m, n := s.padRows, s.padCols
	// Reflect padding (NumPy's mode "reflect", PyTorch's ReflectionPad2d).
	u0 := ws.u0[:m*n]
	for a := range m {
		ia := reflect(a-s.top, cfg.Rows)
		for b := range n {
			u0[a*n+b] = complex(img[ia*cfg.Cols+reflect(b-s.left, cfg.Cols)], 0)
		}
	}
	ws.ffts[0].forward(u0)
	// Order 0: x ⋆ φ, subsampled by 2^J.
	s.lowPass(s.channel(dst, 0), nil, u0, 0, ws)
	for a := 0; a < len(s.psi); {
		b, j1 := s.partner(a, -1), s.psi[a].J
		// U1 = |x ⋆ ψ_{j1,θ1}| at resolution j1, for a and b at once.
		z := s.pair(u0, 0, j1, a, b, 0, ws)
		var cb []float64
		if b >= 0 {
			cb = s.channel(dst, 1+b)
		}
		s.lowPass(s.channel(dst, 1+a), cb, z, j1, ws)
		if cfg.MaxOrder == 2 && j1 < cfg.J-1 {
			u1 := split(ws.u1, z, m>>j1, n>>j1, b >= 0)
			for k, n1 := range []int{a, b} {
				if n1 >= 0 {
					s.second(dst, n1, u1[k], ws)
				}
			}
		}
		a += 1 + min(b+1, 1)
		if b >= 0 {
			a = b + 1
		}
	}
}

// partner returns the wavelet after a of the same scale, or −1. With
// after ≥ 0 it returns the next wavelet of scale greater than after's.
func (s *Scattering) partner(a, after int) int {
	if b := a + 1; b < len(s.psi) && s.psi[b].J == s.psi[a].J {
		return b
	}
	return -1
}

// second computes the order-2 channels of path n1 from u1, the Fourier
// transform of U1 at resolution j1.
func (s *Scattering) second(dst []float64, n1 int, u1 []complex128, ws *Workspace) {
	j1 := s.psi[n1].J
	for a := 0; a < len(s.psi); {
		if s.psi[a].J <= j1 {
			a++
			continue
		}
		b, j2 := s.partner(a, -1), s.psi[a].J
		z := s.pair(u1, j1, j2, a, b, j1, ws)
		var cb []float64
		if b >= 0 {
			cb = s.channel(dst, s.chan2[n1*len(s.psi)+b])
		}
		s.lowPass(s.channel(dst, s.chan2[n1*len(s.psi)+a]), cb, z, j2, ws)
		a++
		if b >= 0 {
			a = b + 1
		}
	}
}

// channel returns channel k of dst.
func (s *Scattering) channel(dst []float64, k int) []float64 {
	size := s.outRows * s.outCols
	return dst[k*size : (k+1)*size]
}

// pair returns, in ws.z, the Fourier transform at resolution to of
// |u ⋆ ψ_a| + i·|u ⋆ ψ_b| (|u ⋆ ψ_a| alone when b < 0), for the Fourier
// transform u at resolution from and the wavelets' filters at level lv.
func (s *Scattering) pair(u []complex128, from, to, a, b, lv int, ws *Workspace) []complex128 {
	s.modulus(ws.ma, u, from, to, s.psi[a].Levels[lv], ws)
	mt, nt := s.padRows>>to, s.padCols>>to
	z := ws.z[:mt*nt]
	if b >= 0 {
		s.modulus(ws.mb, u, from, to, s.psi[b].Levels[lv], ws)
		for i := range z {
			z[i] = complex(ws.ma[i], ws.mb[i])
		}
	} else {
		for i := range z {
			z[i] = complex(ws.ma[i], 0)
		}
	}
	ws.ffts[to].forward(z)
	return z
}

// modulus writes |u ⋆ ψ| subsampled to resolution to into dst, for the
// Fourier transform u at resolution from and the filter psi at that
// resolution.
func (s *Scattering) modulus(dst []float64, u []complex128, from, to int, psi []float64, ws *Workspace) {
	mf, nf := s.padRows>>from, s.padCols>>from
	mt, nt := s.padRows>>to, s.padCols>>to
	d := ws.tmp[:mt*nt]
	if to == from {
		for i, v := range u[:mf*nf] {
			d[i] = v * complex(psi[i], 0)
		}
	} else {
		subsampleProduct(d, u, psi, mf, nf, 1<<(to-from))
	}
	ws.ffts[to].inverse(d)
	scale := 1 / float64(mt*nt)
	for i, v := range d {
		re, im := real(v), imag(v)
		dst[i] = math.Sqrt(re*re+im*im) * scale
	}
}

// split separates the Fourier transforms A and B of two real signals from
// the transform z of a + i·b on an m×n grid, into dst[0] and dst[1]:
// A(k) = (z(k) + z̄(−k))/2, B(k) = (z(k) − z̄(−k))/(2i). With two false,
// z is A and is returned as it is.
func split(dst [2][]complex128, z []complex128, m, n int, two bool) [2][]complex128 {
	if !two {
		return [2][]complex128{z}
	}
	a, b := dst[0][:m*n], dst[1][:m*n]
	for k0 := range m {
		r := ((m - k0) % m) * n
		for k1 := range n {
			zk := z[k0*n+k1]
			zm := cmplx.Conj(z[r+(n-k1)%n])
			a[k0*n+k1] = (zk + zm) / 2
			d := zk - zm
			b[k0*n+k1] = complex(imag(d)/2, -real(d)/2)
		}
	}
	return [2][]complex128{a, b}
}

// lowPass writes the unpadded real part of (u ⋆ φ) subsampled from
// resolution res to resolution J into ca, and its imaginary part into cb
// unless cb is nil, for the Fourier transform u at resolution res.
func (s *Scattering) lowPass(ca, cb []float64, u []complex128, res int, ws *Workspace) {
	J := s.cfg.J
	mf, nf := s.padRows>>res, s.padCols>>res
	phi := s.phi.Levels[res]
	mt, nt := s.padRows>>J, s.padCols>>J
	d := ws.small
	if res == J {
		for i, v := range u[:mf*nf] {
			d[i] = v * complex(phi[i], 0)
		}
	} else {
		subsampleProduct(d, u, phi, mf, nf, 1<<(J-res))
	}
	ws.ffts[J].inverse(d)
	scale := 1 / float64(mt*nt)
	for a := range s.outRows {
		for b := range s.outCols {
			v := d[(a+1)*nt+b+1]
			ca[a*s.outCols+b] = real(v) * scale
			if cb != nil {
				cb[a*s.outCols+b] = imag(v) * scale
			}
		}
	}
}

// subsampleProduct writes into dst ((m/k)×(n/k) values) the Fourier
// transform of the spatial subsampling by k of the signal whose m×n Fourier
// transform is x·h: the mean of the k×k aliases of every frequency
// (Kymatio's subsample_fourier of the filtered signal).
func subsampleProduct(dst, x []complex128, h []float64, m, n, k int) {
	mk, nk := m/k, n/k
	scale := complex(1/float64(k*k), 0)
	for a := range mk {
		for b := range nk {
			var sum complex128
			for i := range k {
				o := (a+i*mk)*n + b
				for j := range k {
					sum += x[o+j*nk] * complex(h[o+j*nk], 0)
				}
			}
			dst[a*nk+b] = sum * scale
		}
	}
}

// reflect maps an index of the padded grid to the image's index, mirroring
// about the first and last pixels without repeating them.
func reflect(i, n int) int {
	if i < 0 {
		return -i
	}
	if i >= n {
		return 2*(n-1) - i
	}
	return i
}

// TransformBatch transforms count images held back to back in imgs
// (count·Rows·Cols values) into dst (count·Dim() values), on up to
// GOMAXPROCS goroutines, each with a Workspace of its own. Image i's
// coefficients do not depend on how the batch is split.
func (s *Scattering) TransformBatch(dst, imgs []float64, count int) {
	in, out := s.cfg.Rows*s.cfg.Cols, s.Dim()
	if len(imgs) != count*in || len(dst) != count*out {
		panic(fmt.Sprintf("scatter: TransformBatch: len(imgs) = %d, len(dst) = %d for %d images; want %d and %d", len(imgs), len(dst), count, count*in, count*out))
	}
	parallel.Split(count, parallel.Workers(count, 1), func(_, lo, hi int) {
		ws := s.NewWorkspace()
		for i := lo; i < hi; i++ {
			s.Transform(dst[i*out:(i+1)*out], imgs[i*in:(i+1)*in], ws)
		}
	})
}
