package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/dpmpi/dpmpi/optimizer"
)

// Conv2d is a two-dimensional convolution (cross-correlation, as in
// PyTorch) with square kernel, stride and zero padding, on inputs of shape
// [In, H, W]. Its weight has shape [Out, In, K, K] and is followed by a bias
// of length Out in one arena layer.
//
// It computes through im2col: each output position's receptive field is
// unrolled into a row of length In·K·K, and the convolution of a whole batch
// is one matrix product.
type Conv2d struct {
	// In and Out are the input and output channel counts, K the kernel
	// size, Stride and Pad the stride and zero padding on every side.
	In, Out, K, Stride, Pad int

	h, w, ho, wo int
	l, kk        int // output positions, In·K·K

	wt, b []float64

	u   []float64 // im2col rows, [n·L, kk]
	yt  []float64 // forward output before transpose, then dy transposed, [n·L, Out]
	du  []float64 // gradient w.r.t. u, [n·L, kk]
	n   int
	dyt []float64

	ghost    convGhost
	dense    optimizer.DenseSource
	denseBuf []float64
}

// NewConv2d returns a Conv2d layer with in input channels, out output
// channels, a k×k kernel, the given stride and zero padding pad.
func NewConv2d(in, out, k, stride, pad int) *Conv2d {
	return &Conv2d{In: in, Out: out, K: k, Stride: stride, Pad: pad}
}

// Kind returns a description such as "Conv2d(1, 16, k=8, s=2, p=3)".
func (c *Conv2d) Kind() string {
	return fmt.Sprintf("Conv2d(%d, %d, k=%d, s=%d, p=%d)", c.In, c.Out, c.K, c.Stride, c.Pad)
}

// Weight returns the weight, [Out, In, K, K] row-major, as a view of the
// arena (nil before binding).
func (c *Conv2d) Weight() []float64 { return c.wt }

// Bias returns the bias as a view of the arena (nil before binding).
func (c *Conv2d) Bias() []float64 { return c.b }

// UsesGhost reports whether Mixed mode computes this layer's per-sample
// norms in ghost form: L·(Out+K²·In) < Out·In·K², where L is the number of
// output positions. It is valid once the layer is part of a model.
func (c *Conv2d) UsesGhost() bool { return c.l*(c.Out+c.kk) < c.Out*c.kk }

func (c *Conv2d) setup(in []int) ([]int, error) {
	if c.In <= 0 || c.Out <= 0 || c.K <= 0 || c.Stride <= 0 || c.Pad < 0 {
		return nil, fmt.Errorf("channels, kernel and stride must be positive and padding non-negative")
	}
	if len(in) != 3 || in[0] != c.In {
		return nil, fmt.Errorf("needs input of shape [%d, H, W], got %v", c.In, in)
	}
	c.h, c.w = in[1], in[2]
	if c.h+2*c.Pad < c.K || c.w+2*c.Pad < c.K {
		return nil, fmt.Errorf("padded input %dx%d is smaller than the %dx%d kernel", c.h+2*c.Pad, c.w+2*c.Pad, c.K, c.K)
	}
	c.ho = (c.h+2*c.Pad-c.K)/c.Stride + 1
	c.wo = (c.w+2*c.Pad-c.K)/c.Stride + 1
	c.l = c.ho * c.wo
	c.kk = c.In * c.K * c.K
	return []int{c.Out, c.ho, c.wo}, nil
}

func (c *Conv2d) numParams() int    { return c.Out*c.kk + c.Out }
func (c *Conv2d) paramShape() []int { return []int{c.Out*c.kk + c.Out} }
func (c *Conv2d) bind(p []float64) {
	c.wt, c.b = p[:c.Out*c.kk:c.Out*c.kk], p[c.Out*c.kk:]
}
func (c *Conv2d) initParams(r *rand.Rand) { uniformInit(c.wt, c.kk, r); uniformInit(c.b, c.kk, r) }

func (c *Conv2d) grow(n int) {
	c.u = ensure(c.u, n*c.l*c.kk)
	c.yt = ensure(c.yt, n*c.l*c.Out)
	c.dyt = ensure(c.dyt, n*c.l*c.Out)
	c.du = ensure(c.du, n*c.l*c.kk)
	c.ghost.scaled = ensure(c.ghost.scaled, n*c.l*c.Out)
	if len(c.ghost.gram) < workers() {
		c.ghost.gram = make([][]float64, workers())
	}
	for i := range c.ghost.gram {
		c.ghost.gram[i] = ensure(c.ghost.gram[i], 2*c.l*c.l)
	}
}

// im2col unrolls samples [lo, hi) of x into c.u. Each kernel row of a
// receptive field is a contiguous run of the input, copied with its
// out-of-image part set to zero.
func (c *Conv2d) im2col(x []float64, lo, hi int) {
	in := c.In * c.h * c.w
	K := c.K
	for i := lo; i < hi; i++ {
		xs := x[i*in : (i+1)*in]
		rows := c.u[i*c.l*c.kk : (i+1)*c.l*c.kk]
		r := 0
		for oh := 0; oh < c.ho; oh++ {
			for ow := 0; ow < c.wo; ow++ {
				row := rows[r*c.kk : (r+1)*c.kk]
				r++
				x0 := ow*c.Stride - c.Pad
				bLo, bHi := max(0, -x0), min(K, c.w-x0)
				j := 0
				for ch := 0; ch < c.In; ch++ {
					xc := xs[ch*c.h*c.w : (ch+1)*c.h*c.w]
					for a := 0; a < K; a++ {
						seg := row[j : j+K]
						j += K
						y := oh*c.Stride - c.Pad + a
						if y < 0 || y >= c.h || bLo >= bHi {
							clear(seg)
							continue
						}
						clear(seg[:bLo])
						copy(seg[bLo:bHi], xc[y*c.w+x0+bLo:y*c.w+x0+bHi])
						clear(seg[bHi:])
					}
				}
			}
		}
	}
}

// col2im adds c.du of samples [lo, hi) into dx, which it zeroes first.
func (c *Conv2d) col2im(dx []float64, lo, hi int) {
	in := c.In * c.h * c.w
	K := c.K
	for i := lo; i < hi; i++ {
		dxs := dx[i*in : (i+1)*in]
		clear(dxs)
		rows := c.du[i*c.l*c.kk : (i+1)*c.l*c.kk]
		r := 0
		for oh := 0; oh < c.ho; oh++ {
			for ow := 0; ow < c.wo; ow++ {
				row := rows[r*c.kk : (r+1)*c.kk]
				r++
				x0 := ow*c.Stride - c.Pad
				bLo, bHi := max(0, -x0), min(K, c.w-x0)
				if bLo >= bHi {
					continue
				}
				j := 0
				for ch := 0; ch < c.In; ch++ {
					dxc := dxs[ch*c.h*c.w : (ch+1)*c.h*c.w]
					for a := 0; a < K; a++ {
						seg := row[j+bLo : j+bHi]
						j += K
						y := oh*c.Stride - c.Pad + a
						if y < 0 || y >= c.h {
							continue
						}
						dst := dxc[y*c.w+x0+bLo : y*c.w+x0+bHi]
						for b, v := range seg {
							dst[b] += v
						}
					}
				}
			}
		}
	}
}

func (c *Conv2d) forward(x, y []float64, n int) {
	if n == 0 {
		return
	}
	parallel(n, func(_, lo, hi int) { c.im2col(x, lo, hi) })
	nl := n * c.l
	gemm(blas.NoTrans, blas.Trans, 1,
		blas64.General{Rows: nl, Cols: c.kk, Stride: c.kk, Data: c.u[:nl*c.kk]},
		blas64.General{Rows: c.Out, Cols: c.kk, Stride: c.kk, Data: c.wt},
		0, blas64.General{Rows: nl, Cols: c.Out, Stride: c.Out, Data: c.yt[:nl*c.Out]})
	out := c.Out * c.l
	parallel(n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			ys := y[i*out : (i+1)*out]
			for l := 0; l < c.l; l++ {
				row := c.yt[(i*c.l+l)*c.Out : (i*c.l+l+1)*c.Out]
				for o, v := range row {
					ys[o*c.l+l] = v + c.b[o]
				}
			}
		}
	})
}

func (c *Conv2d) beginBackward(x, dy []float64, n int) {
	c.n = n
	out := c.Out * c.l
	parallel(n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			dys := dy[i*out : (i+1)*out]
			dyt := c.dyt[i*out : (i+1)*out]
			for o := 0; o < c.Out; o++ {
				for l, v := range dys[o*c.l : (o+1)*c.l] {
					dyt[l*c.Out+o] = v
				}
			}
		}
	})
}

func (c *Conv2d) backward(x, y, dy, dx []float64, n int) {
	if dx == nil || n == 0 {
		return
	}
	nl := n * c.l
	gemm(blas.NoTrans, blas.NoTrans, 1,
		blas64.General{Rows: nl, Cols: c.Out, Stride: c.Out, Data: c.dyt[:nl*c.Out]},
		blas64.General{Rows: c.Out, Cols: c.kk, Stride: c.kk, Data: c.wt},
		0, blas64.General{Rows: nl, Cols: c.kk, Stride: c.kk, Data: c.du[:nl*c.kk]})
	parallel(n, func(_, lo, hi int) { c.col2im(dx, lo, hi) })
}

// addRows adds Σ_i w_i·dyt_i into dW and db, with w nil meaning all ones.
func (c *Conv2d) addWeighted(dst, w []float64) {
	n := c.n
	if n == 0 {
		return
	}
	nl := n * c.l
	g := c.dyt[:nl*c.Out]
	if w != nil {
		s := c.ghost.scaled[:nl*c.Out]
		for i, wi := range w {
			for j, v := range g[i*c.l*c.Out : (i+1)*c.l*c.Out] {
				s[i*c.l*c.Out+j] = wi * v
			}
		}
		g = s
	}
	gemm(blas.Trans, blas.NoTrans, 1,
		blas64.General{Rows: nl, Cols: c.Out, Stride: c.Out, Data: g},
		blas64.General{Rows: nl, Cols: c.kk, Stride: c.kk, Data: c.u[:nl*c.kk]},
		1, blas64.General{Rows: c.Out, Cols: c.kk, Stride: c.kk, Data: dst[:c.Out*c.kk]})
	db := dst[c.Out*c.kk:]
	for r := 0; r < nl; r++ {
		for o, v := range g[r*c.Out : (r+1)*c.Out] {
			db[o] += v
		}
	}
}

func (c *Conv2d) accumulate(dst []float64) { c.addWeighted(dst, nil) }

func (c *Conv2d) source(mode GradMode) optimizer.GradSource {
	if mode == Ghost || (mode == Mixed && c.UsesGhost()) {
		c.ghost.c = c
		return &c.ghost
	}
	n, cols := c.n, c.numParams()
	c.denseBuf = ensure(c.denseBuf, n*cols)
	c.dense.Reset(n, cols, c.denseBuf)
	parallel(n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			row := c.denseBuf[i*cols : (i+1)*cols]
			dyt := c.dyt[i*c.l*c.Out : (i+1)*c.l*c.Out]
			gemm(blas.Trans, blas.NoTrans, 1,
				blas64.General{Rows: c.l, Cols: c.Out, Stride: c.Out, Data: dyt},
				blas64.General{Rows: c.l, Cols: c.kk, Stride: c.kk, Data: c.u[i*c.l*c.kk : (i+1)*c.l*c.kk]},
				0, blas64.General{Rows: c.Out, Cols: c.kk, Stride: c.kk, Data: row[:c.Out*c.kk]})
			db := row[c.Out*c.kk:]
			clear(db)
			for l := 0; l < c.l; l++ {
				for o, v := range dyt[l*c.Out : (l+1)*c.Out] {
					db[o] += v
				}
			}
		}
	})
	return &c.dense
}

// convGhost is the ghost per-sample gradient source of a Conv2d layer. With
// δ_s the output error and u_s the unrolled input at output position s,
// g_i = [Σ_s δ_s u_sᵀ, Σ_s δ_s], so ‖g_i‖² = Σ_{s,t} ⟨δ_s,δ_t⟩(⟨u_s,u_t⟩+1).
type convGhost struct {
	c      *Conv2d
	scaled []float64
	gram   [][]float64 // per worker, two L×L Gram matrices
}

func (g *convGhost) Samples() int { return g.c.n }
func (g *convGhost) Len() int     { return g.c.numParams() }

func (g *convGhost) Norms(dst []float64) {
	c := g.c
	if len(dst) != c.n {
		panic("nn: Norms: len(dst) != Samples()")
	}
	L := c.l
	parallel(c.n, func(wk, lo, hi int) {
		gd, gu := g.gram[wk][:L*L], g.gram[wk][L*L:2*L*L]
		for i := lo; i < hi; i++ {
			syrk(blas64.General{Rows: L, Cols: c.Out, Stride: c.Out, Data: c.dyt[i*L*c.Out : (i+1)*L*c.Out]},
				blas64.Symmetric{Uplo: blas.Upper, N: L, Stride: L, Data: gd})
			syrk(blas64.General{Rows: L, Cols: c.kk, Stride: c.kk, Data: c.u[i*L*c.kk : (i+1)*L*c.kk]},
				blas64.Symmetric{Uplo: blas.Upper, N: L, Stride: L, Data: gu})
			var diag, off float64
			for s := 0; s < L; s++ {
				diag += gd[s*L+s] * (gu[s*L+s] + 1)
				for t := s + 1; t < L; t++ {
					off += gd[s*L+t] * (gu[s*L+t] + 1)
				}
			}
			sq := diag + 2*off
			if sq < 0 { // rounding; the true value is a squared norm
				sq = 0
			}
			dst[i] = math.Sqrt(sq)
		}
	})
}

func (g *convGhost) AddWeighted(dst, w []float64) {
	c := g.c
	if len(w) != c.n || len(dst) != c.numParams() {
		panic("nn: AddWeighted: len(w) != Samples() or len(dst) != Len()")
	}
	c.addWeighted(dst, w)
}
