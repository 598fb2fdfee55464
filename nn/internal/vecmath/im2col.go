package vecmath

// Im2col unrolls one image xp of chans channels, each of row width w and
// hw values, into u for a k×k kernel at stride s with ho×wo
// output positions and no padding (pad the image first): row p = oh·wo+ow
// of u, of chans·k·k values, holds for each channel the k runs of k values
// starting at xp[c·hw + (oh·s + a)·w + ow·s], a = 0, …, k−1. Runs of 4 and
// 8 are copied with SSE2 moves on amd64. It panics if k < 1 or if u or xp
// is too short.
func Im2col[F Float](u, xp []F, k, chans, hw, w, s, ho, wo int) {
	kk, ok := checkUnrolled("Im2col", len(u), len(xp), k, chans, hw, w, s, ho, wo)
	if !ok {
		return
	}
	if is32[F]() {
		im2col32(as32(u), as32(xp), k, chans, hw, w, s, ho, wo, kk)
		return
	}
	im2col64(as64(u), as64(xp), k, chans, hw, w, s, ho, wo, kk)
}

// im2col64 and im2col32 are Im2col on checked arguments, kk = chans·k·k.
func im2col64(u, xp []float64, k, chans, hw, w, s, ho, wo, kk int) {
	for oh := 0; oh < ho; oh++ {
		for ow := 0; ow < wo; ow++ {
			r := oh*wo + ow
			gather(u[r*kk:(r+1)*kk], xp[oh*s*w+ow*s:], k, chans, w, hw)
		}
	}
}

func im2col32(u, xp []float32, k, chans, hw, w, s, ho, wo, kk int) {
	for oh := 0; oh < ho; oh++ {
		for ow := 0; ow < wo; ow++ {
			r := oh*wo + ow
			gather32(u[r*kk:(r+1)*kk], xp[oh*s*w+ow*s:], k, chans, w, hw)
		}
	}
}

// gatherGo is gather in Go: dst[(c·k + a)·k + b] = src[c·chanStride +
// a·rowStride + b] for c < chans, a, b < k.
func gatherGo[F Float](dst, src []F, k, chans, rowStride, chanStride int) {
	j := 0
	for c := 0; c < chans; c++ {
		for a := 0; a < k; a++ {
			off := c*chanStride + a*rowStride
			copy(dst[j:j+k], src[off:off+k])
			j += k
		}
	}
}

// Col2im is the adjoint of Im2col: it adds row p = oh·wo+ow of u, of
// chans·k·k values, back into the receptive field it came from, the k runs
// of k values starting at xp[c·hw + (oh·s + a)·w + ow·s], for each channel
// c and a = 0, …, k−1. The rows are added in order, each value of xp
// receiving its terms in the order of the rows, so the sums are those of a
// scalar loop over p, c, a and the run, in F, bit for bit (four float64 or
// four and eight float32 values at a time with AVX on amd64 for k = 4 and
// 8). xp is not cleared
// first. It panics if k < 1 or if u or xp is too short.
func Col2im[F Float](xp, u []F, k, chans, hw, w, s, ho, wo int) {
	kk, ok := checkUnrolled("Col2im", len(u), len(xp), k, chans, hw, w, s, ho, wo)
	if !ok {
		return
	}
	if is32[F]() {
		col2im32(as32(xp), as32(u), k, chans, hw, w, s, ho, wo, kk)
		return
	}
	col2im64(as64(xp), as64(u), k, chans, hw, w, s, ho, wo, kk)
}

// col2im64 and col2im32 are Col2im on checked arguments, kk = chans·k·k.
func col2im64(xp, u []float64, k, chans, hw, w, s, ho, wo, kk int) {
	for oh := 0; oh < ho; oh++ {
		for ow := 0; ow < wo; ow++ {
			r := oh*wo + ow
			scatter(xp[oh*s*w+ow*s:], u[r*kk:(r+1)*kk], k, chans, w, hw)
		}
	}
}

func col2im32(xp, u []float32, k, chans, hw, w, s, ho, wo, kk int) {
	for oh := 0; oh < ho; oh++ {
		for ow := 0; ow < wo; ow++ {
			r := oh*wo + ow
			scatter32(xp[oh*s*w+ow*s:], u[r*kk:(r+1)*kk], k, chans, w, hw)
		}
	}
}

// scatterGo is scatter in Go: dst[c·chanStride + a·rowStride + b] +=
// src[(c·k + a)·k + b] for c < chans, a, b < k, in that order.
func scatterGo[F Float](dst, src []F, k, chans, rowStride, chanStride int) {
	j := 0
	for c := 0; c < chans; c++ {
		for a := 0; a < k; a++ {
			off := c*chanStride + a*rowStride
			d := dst[off : off+k]
			for b, v := range src[j : j+k] {
				d[b] += v
			}
			j += k
		}
	}
}

// checkUnrolled checks the arguments of Im2col and Col2im (fn names the
// caller in the panic message, nu and nxp are the lengths of u and xp) and
// returns the row length of u, chans·k·k, and whether there is anything to
// do.
func checkUnrolled(fn string, nu, nxp int, k, chans, hw, w, s, ho, wo int) (kk int, ok bool) {
	if k < 1 {
		panic("vecmath: " + fn + ": k must be positive")
	}
	if ho <= 0 || wo <= 0 || chans <= 0 {
		return 0, false
	}
	kk = chans * k * k
	if nu < ho*wo*kk || nxp < (chans-1)*hw+((ho-1)*s+k-1)*w+(wo-1)*s+k {
		panic("vecmath: " + fn + ": slice too short")
	}
	return kk, true
}
