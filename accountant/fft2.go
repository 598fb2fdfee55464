package accountant

import (
	"math"
	"math/bits"
)

// fft2 is a power-of-two complex FFT used inside Bluestein's algorithm,
// where spectra are only multiplied pointwise: the forward transform is a
// decimation-in-frequency pass sequence that leaves its output in
// bit-reversed order, and the inverse a decimation-in-time sequence that
// takes bit-reversed input, so no permutation is ever done. Passes whose
// butterflies fit in a block of blockSize points run block by block while
// the block is in cache. Twiddles are tabulated with Sincos, so the
// transform is as accurate as FFTPACK's.
type fft2 struct {
	n int
	// tw[s] holds e^{−2πik/size} for k < size/2, size = 2^s: each stage
	// reads its twiddles contiguously.
	tw [][]complex128
}

const blockSize = 1 << 12

func newFFT2(n int) *fft2 {
	if bits.OnesCount(uint(n)) != 1 || n < 2 {
		panic("accountant: fft2 length must be a power of two ≥ 2")
	}
	l := bits.Len(uint(n)) - 1
	f := &fft2{n: n, tw: make([][]complex128, l+1)}
	top := make([]complex128, n/2)
	parallelFor(len(top), func(lo, hi int) {
		for k := lo; k < hi; k++ {
			s, c := math.Sincos(2 * math.Pi * float64(k) / float64(n))
			top[k] = complex(c, -s)
		}
	})
	f.tw[l] = top
	for s := l - 1; s >= 1; s-- {
		t := make([]complex128, 1<<(s-1))
		for k := range t {
			t[k] = top[k<<(l-s)]
		}
		f.tw[s] = t
	}
	return f
}

// difPass runs the DIF butterflies of one stage of length size on x.
func (f *fft2) difPass(x []complex128, size int) {
	half := size / 2
	tw := f.tw[bits.Len(uint(size))-1][:half]
	for s := 0; s < len(x); s += size {
		a := x[s : s+half : s+half]
		b := x[s+half : s+size : s+size]
		b = b[:len(a)]
		for k, w := range tw {
			u, v := a[k], b[k]
			a[k] = u + v
			b[k] = (u - v) * w
		}
	}
}

// ditPass runs the inverse DIT butterflies of one stage (conjugate twiddles).
func (f *fft2) ditPass(x []complex128, size int) {
	half := size / 2
	tw := f.tw[bits.Len(uint(size))-1][:half]
	for s := 0; s < len(x); s += size {
		a := x[s : s+half : s+half]
		b := x[s+half : s+size : s+size]
		b = b[:len(a)]
		for k, w := range tw {
			v := b[k] * complex(real(w), -imag(w))
			u := a[k]
			a[k] = u + v
			b[k] = u - v
		}
	}
}

// forward computes the unnormalised DFT (e^{−2πijk/n}) of x in place, the
// result in bit-reversed order.
func (f *fft2) forward(x []complex128) {
	size := f.n
	for ; size > blockSize; size /= 2 {
		f.difPass(x, size)
	}
	for s := 0; s < f.n; s += size {
		blk := x[s : s+size]
		for sz := size; sz >= 2; sz /= 2 {
			f.difPass(blk, sz)
		}
	}
}

// inverse computes the unnormalised inverse DFT (e^{+2πijk/n}) of x given
// in bit-reversed order, the result in natural order.
func (f *fft2) inverse(x []complex128) {
	b := min(blockSize, f.n)
	for s := 0; s < f.n; s += b {
		blk := x[s : s+b]
		for sz := 2; sz <= b; sz *= 2 {
			f.ditPass(blk, sz)
		}
	}
	for size := 2 * b; size <= f.n; size *= 2 {
		f.ditPass(x, size)
	}
}
