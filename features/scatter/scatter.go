package scatter

import (
	"fmt"
	"math"

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
	s               *Scattering
	ffts            []*fft2 // by resolution 0..J
	u0, u1, u2, tmp []complex128
	small           []complex128 // one channel at resolution J
}

// NewWorkspace returns scratch space for Transform.
func (s *Scattering) NewWorkspace() *Workspace {
	w := &Workspace{s: s}
	for r := 0; r <= s.cfg.J; r++ {
		w.ffts = append(w.ffts, newFFT2(s.padRows>>r, s.padCols>>r))
	}
	n := s.padRows * s.padCols
	w.u0, w.u1, w.u2, w.tmp = make([]complex128, n), make([]complex128, n), make([]complex128, n), make([]complex128, n)
	w.small = make([]complex128, (s.padRows>>s.cfg.J)*(s.padCols>>s.cfg.J))
	return w
}

// Transform writes the scattering coefficients of the image img (Rows·Cols
// values, row-major) into dst (Dim() values: Channels() channels of OutSize,
// in the order of Paths). It panics if the lengths are wrong or ws belongs
// to another Scattering. It does not allocate.
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
	out := dst
	next := func() []float64 {
		c := out[:s.outRows*s.outCols]
		out = out[len(c):]
		return c
	}
	// Order 0: x ⋆ φ, subsampled by 2^J.
	s.lowPass(next(), u0, 0, ws)
	if len(s.psi) == 0 {
		return
	}
	rest := len(s.psi)
	second := out[rest*s.outRows*s.outCols:]
	for _, p1 := range s.psi {
		j1 := p1.J
		// U1 = |x ⋆ ψ_{j1,θ1}| at resolution j1, back in Fourier.
		u1 := s.bandPass(ws.u1, u0, 0, j1, p1.Levels[0], ws)
		s.lowPass(next(), u1, j1, ws)
		if cfg.MaxOrder < 2 {
			continue
		}
		for _, p2 := range s.psi {
			j2 := p2.J
			if j2 <= j1 {
				continue
			}
			u2 := s.bandPass(ws.u2, u1, j1, j2, p2.Levels[j1], ws)
			c := second[:s.outRows*s.outCols]
			second = second[len(c):]
			s.lowPass(c, u2, j2, ws)
		}
	}
}

// bandPass computes the Fourier transform of |u ⋆ ψ| subsampled to
// resolution to, into dst, from the Fourier transform u at resolution from
// and the filter psi at that resolution. It returns dst's used part.
func (s *Scattering) bandPass(dst, u []complex128, from, to int, psi []float64, ws *Workspace) []complex128 {
	mf, nf := s.padRows>>from, s.padCols>>from
	t := ws.tmp[:mf*nf]
	for i, v := range u[:mf*nf] {
		t[i] = v * complex(psi[i], 0)
	}
	mt, nt := s.padRows>>to, s.padCols>>to
	d := dst[:mt*nt]
	subsample(d, t, mf, nf, 1<<(to-from))
	ws.ffts[to].inverse(d)
	scale := 1 / float64(mt*nt)
	for i, v := range d {
		re, im := real(v), imag(v)
		d[i] = complex(math.Sqrt(re*re+im*im)*scale, 0)
	}
	ws.ffts[to].forward(d)
	return d
}

// lowPass writes the unpadded real part of (u ⋆ φ) subsampled from
// resolution res to resolution J into c, for the Fourier transform u at
// resolution res.
func (s *Scattering) lowPass(c []float64, u []complex128, res int, ws *Workspace) {
	J := s.cfg.J
	mf, nf := s.padRows>>res, s.padCols>>res
	phi := s.phi.Levels[res]
	t := ws.tmp[:mf*nf]
	for i, v := range u[:mf*nf] {
		t[i] = v * complex(phi[i], 0)
	}
	mt, nt := s.padRows>>J, s.padCols>>J
	d := ws.small
	if res == J {
		copy(d, t)
	} else {
		subsample(d, t, mf, nf, 1<<(J-res))
	}
	ws.ffts[J].inverse(d)
	scale := 1 / float64(mt*nt)
	for a := range s.outRows {
		for b := range s.outCols {
			c[a*s.outCols+b] = real(d[(a+1)*nt+b+1]) * scale
		}
	}
}

// subsample writes into dst ((m/k)×(n/k) values) the Fourier transform of
// the spatial subsampling by k of the signal whose m×n Fourier transform is
// x: the mean of the k×k aliases of every frequency (Kymatio's
// subsample_fourier).
func subsample(dst, x []complex128, m, n, k int) {
	mk, nk := m/k, n/k
	scale := complex(1/float64(k*k), 0)
	for a := range mk {
		for b := range nk {
			var sum complex128
			for i := range k {
				row := x[(a+i*mk)*n:]
				for j := range k {
					sum += row[b+j*nk]
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
