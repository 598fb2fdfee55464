package scatter

import "gonum.org/v1/gonum/dsp/fourier"

// fft2 computes unnormalised 2-D discrete Fourier transforms of m×n complex
// arrays held row-major, by rows then columns with gonum's 1-D CmplxFFT. The
// forward transform is X[k,l] = Σ x[a,b]·exp(−2πi(ka/m + lb/n)), NumPy's
// fft2; inverse computes the unnormalised backward transform (NumPy's
// ifft2 times m·n). An fft2 holds scratch space: one goroutine at a time.
type fft2 struct {
	m, n     int
	row, col *fourier.CmplxFFT
	buf      []complex128
}

func newFFT2(m, n int) *fft2 {
	return &fft2{m: m, n: n, row: fourier.NewCmplxFFT(n), col: fourier.NewCmplxFFT(m), buf: make([]complex128, m)}
}

// forward transforms x (m·n values) in place.
func (f *fft2) forward(x []complex128) { f.do(x, false) }

// inverse transforms x (m·n values) in place, without the 1/(m·n) factor.
func (f *fft2) inverse(x []complex128) { f.do(x, true) }

func (f *fft2) do(x []complex128, inv bool) {
	m, n := f.m, f.n
	x = x[:m*n]
	for a := range m {
		r := x[a*n : (a+1)*n]
		if inv {
			f.row.Sequence(r, r)
		} else {
			f.row.Coefficients(r, r)
		}
	}
	c := f.buf
	for b := range n {
		for a := range m {
			c[a] = x[a*n+b]
		}
		if inv {
			f.col.Sequence(c, c)
		} else {
			f.col.Coefficients(c, c)
		}
		for a := range m {
			x[a*n+b] = c[a]
		}
	}
}
