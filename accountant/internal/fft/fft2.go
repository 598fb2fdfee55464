package fft

import (
	"math/bits"
	"math/cmplx"

	"github.com/dpmpi/dpmpi/internal/parallel"
)

// fft2 is a power-of-two complex FFT for convolutions (Bluestein's
// algorithm, chirp-z, ConvolveSame), where spectra are only multiplied
// pointwise: the forward transform is a
// decimation-in-frequency sequence of radix-4 stages (one radix-2 stage at
// the end when log₂n is odd) that leaves its output in bit-reversed order,
// and the inverse undoes it stage by stage with conjugate twiddles, taking
// bit-reversed input to natural order, so no permutation is ever done.
// Stages that fit in a block of blockSize points run block by block while
// the block is in cache. Twiddles are tabulated per stage (within 2 ulp).
// Transforms of 2^15 points or more use all cores.
type fft2 struct {
	n      int
	stages []fftStage // forward order: largest first
}

// fftStage is one DIF stage of length size: radix 4 with twiddles
// (w^k, w^2k, w^3k) for k < size/4, w = e^{−2πi/size}, interleaved; or the
// final radix-2 stage of length 2, which needs none.
type fftStage struct {
	size int
	tw   []complex128
}

const blockSize = 1 << 12

func newFFT2(n int) *fft2 {
	if bits.OnesCount(uint(n)) != 1 || n < 2 {
		panic("fft: fft2 length must be a power of two ≥ 2")
	}
	f := &fft2{n: n}
	total := 0
	for size := n; size >= 4; size /= 4 {
		total += 3 * size / 4
	}
	tw := make([]complex128, total) // all stages' twiddles
	// The first stage's twiddles w_n^{mk} (mk < 3n/4) from a RootTable,
	// within 2 ulp for about 2√n calls to Sincos; the stage of length
	// n/step needs w_n^{m·k·step}, the first stage's entry for k·step.
	if n >= 4 {
		rt := NewRootTable(n)
		top := tw[:3*n/4]
		parallel.Dynamic(n/4, parallel.ChunkGrain, func(lo, hi int) {
			for k := lo; k < hi; k++ {
				top[3*k], top[3*k+1], top[3*k+2] = rt.At(k), rt.At(2*k), rt.At(3*k)
			}
		})
	}
	size, off := n, 0
	for ; size >= 4; size /= 4 {
		q, step := size/4, n/size
		st := fftStage{size: size, tw: tw[off : off+3*q]}
		if off > 0 {
			for k := 0; k < q; k++ {
				copy(st.tw[3*k:3*k+3], tw[3*k*step:3*k*step+3])
			}
		}
		f.stages = append(f.stages, st)
		off += 3 * q
	}
	if size == 2 {
		f.stages = append(f.stages, fftStage{size: 2})
	}
	return f
}

// split returns the index of the first stage that fits in a block.
func (f *fft2) split() int {
	for i, st := range f.stages {
		if st.size <= blockSize {
			return i
		}
	}
	return len(f.stages)
}

// parallelFFT is the length from which fft2 spreads its butterflies over
// the cores: the stages larger than a block split their butterflies, the
// blocks are taken in turn.
const parallelFFT = 1 << 15

// forward computes the unnormalised DFT (e^{−2πijk/n}) of x in place, the
// result in bit-reversed order.
func (f *fft2) forward(x []complex128) {
	i0 := f.split()
	for _, st := range f.stages[:i0] {
		f.butterflies(st.size/4, func(lo, hi int) { st.dif(x, lo, hi) })
	}
	if i0 == len(f.stages) {
		return
	}
	b := f.stages[i0].size
	f.butterflies(f.n/b, func(lo, hi int) {
		for s := lo * b; s < hi*b; s += b {
			for _, st := range f.stages[i0:] {
				st.dif(x[s:s+b], 0, st.size/4)
			}
		}
	})
}

// inverse computes the unnormalised inverse DFT (e^{+2πijk/n}) of x given
// in bit-reversed order, the result in natural order.
func (f *fft2) inverse(x []complex128) {
	i0 := f.split()
	if i0 < len(f.stages) {
		b := f.stages[i0].size
		f.butterflies(f.n/b, func(lo, hi int) {
			for s := lo * b; s < hi*b; s += b {
				for i := len(f.stages) - 1; i >= i0; i-- {
					st := f.stages[i]
					st.dit(x[s:s+b], 0, st.size/4)
				}
			}
		})
	}
	for i := i0 - 1; i >= 0; i-- {
		st := f.stages[i]
		f.butterflies(st.size/4, func(lo, hi int) { st.dit(x, lo, hi) })
	}
}

// butterflies runs body on [0, n) in chunks over the cores when the
// transform is long enough to pay for it.
func (f *fft2) butterflies(n int, body func(lo, hi int)) {
	if f.n < parallelFFT {
		body(0, n)
		return
	}
	parallel.Dynamic(n, max(n/16, 1), body)
}

// dif applies the stage's butterflies k0 ≤ k < k1 (of size/4; all for the
// radix-2 stage) to every block of x.
func (st fftStage) dif(x []complex128, k0, k1 int) {
	if st.size == 2 {
		radix2(x)
		return
	}
	q := st.size / 4
	for s := 0; s < len(x); s += st.size {
		x0, x1, x2, x3 := quarters(x[s:s+st.size], q, k0, k1)
		tw := st.tw[3*k0 : 3*k1][:3*len(x0)]
		for k := range x0 {
			a, b, c, d := x0[k], x1[k], x2[k], x3[k]
			p, r := a+c, b+d
			d0, d1 := a-c, b-d
			id1 := complex(-imag(d1), real(d1)) // i·d1
			x0[k] = p + r
			x1[k] = (p - r) * tw[3*k+1]
			x2[k] = (d0 - id1) * tw[3*k]
			x3[k] = (d0 + id1) * tw[3*k+2]
		}
	}
}

// radix2 is the size-2 butterfly stage, its own inverse up to a factor 2.
func radix2(x []complex128) {
	for s := 0; s+1 < len(x); s += 2 {
		u, v := x[s], x[s+1]
		x[s], x[s+1] = u+v, u-v
	}
}

// quarters returns the butterfly inputs k0 ≤ k < k1 of one radix-4 block:
// the same index range in each quarter of block (length 4q), with the
// capacities cut so that the loops need no bounds checks.
func quarters(block []complex128, q, k0, k1 int) (x0, x1, x2, x3 []complex128) {
	x0 = block[k0:k1:k1]
	x1 = block[q+k0 : q+k1 : q+k1][:len(x0)]
	x2 = block[2*q+k0 : 2*q+k1 : 2*q+k1][:len(x0)]
	x3 = block[3*q+k0 : 3*q+k1 : 3*q+k1][:len(x0)]
	return x0, x1, x2, x3
}

// dit undoes dif (times 4, or 2 for the radix-2 stage) with conjugate
// twiddles, for the butterflies k0 ≤ k < k1.
func (st fftStage) dit(x []complex128, k0, k1 int) {
	if st.size == 2 {
		radix2(x)
		return
	}
	q := st.size / 4
	for s := 0; s < len(x); s += st.size {
		x0, x1, x2, x3 := quarters(x[s:s+st.size], q, k0, k1)
		tw := st.tw[3*k0 : 3*k1][:3*len(x0)]
		for k := range x0 {
			b1 := x1[k] * cmplx.Conj(tw[3*k+1])
			p, r := x0[k]+b1, x0[k]-b1
			e := x2[k] * cmplx.Conj(tw[3*k])
			g := x3[k] * cmplx.Conj(tw[3*k+2])
			d0 := e + g
			t := g - e // 2i·d1
			d1 := complex(imag(t), -real(t))
			x0[k], x2[k] = p+d0, p-d0
			x1[k], x3[k] = r+d1, r-d1
		}
	}
}
