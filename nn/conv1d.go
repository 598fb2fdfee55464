package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"

	"github.com/dpmpi/dpmpi/internal/parallel"
	"github.com/dpmpi/dpmpi/optimizer"
)

// Conv1d is a one-dimensional convolution over inputs of shape [In, L]
// (channels, length) of elements of type F (float32 or float64), torch.nn.Conv1d(In, Out, K, stride, padding): weight
// [Out, In, K] and bias [Out], one arena layer, weight then bias. Output
// position t of channel o is b_o + Σ_c Σ_j W[o, c, j]·x[c, t·Stride + j −
// Pad], zero outside the input.
//
// Per sample it unrolls the input into U_i (Lo × In·K, the receptive field
// of each output position) so that Y_i = W·U_iᵀ and the per-sample weight
// gradient is G_i = dY_i·U_i. The ghost norm ‖G_i‖² = ⟨dY_iᵀdY_i, U_iU_iᵀ⟩
// needs two Lo×Lo Gram matrices instead of the Out×In·K product; Mixed mode
// takes it when Lo² < Out·In·K.
type Conv1d[F Float] struct {
	// In and Out are the channel counts, K the kernel size, Stride and Pad
	// the stride and the zero padding at each end.
	In, Out, K, Stride, Pad int

	l, lo, kk int // input and output lengths, In·K
	w, b      []F

	n     int
	x, dy []F

	work  []conv1dWork[F]
	dense optimizer.DenseSource[F]
	gbuf  []F
	ghost conv1dGhost[F]
	mode  GradMode
}

// conv1dWork is one worker's scratch.
type conv1dWork[F Float] struct {
	u, du  []F // Lo × In·K
	ga, gb []F // Lo × Lo Gram matrices
	part   []F // the worker's share of Σ_i w_i·g_i
}

// NewConv1d returns a Conv1d layer.
func NewConv1d[F Float](in, out, k, stride, pad int) *Conv1d[F] {
	return &Conv1d[F]{In: in, Out: out, K: k, Stride: stride, Pad: pad}
}

// Kind returns "Conv1d(in, out, k=K, s=S, p=P)".
func (c *Conv1d[F]) Kind() string {
	return fmt.Sprintf("Conv1d(%d, %d, k=%d, s=%d, p=%d)", c.In, c.Out, c.K, c.Stride, c.Pad)
}

// Weight returns the weight, [Out, In, K] row-major, as a view of the arena.
func (c *Conv1d[F]) Weight() []F { return c.w }

// Bias returns the bias as a view of the arena.
func (c *Conv1d[F]) Bias() []F { return c.b }

func (c *Conv1d[F]) setup(in []int) ([]int, error) {
	if c.In <= 0 || c.Out <= 0 || c.K <= 0 || c.Stride <= 0 || c.Pad < 0 {
		return nil, fmt.Errorf("channels, kernel and stride must be positive and padding non-negative")
	}
	if len(in) != 2 || in[0] != c.In {
		return nil, fmt.Errorf("needs input of shape [%d, L], got %v", c.In, in)
	}
	c.l = in[1]
	if c.l+2*c.Pad < c.K {
		return nil, fmt.Errorf("padded input length %d is shorter than the kernel %d", c.l+2*c.Pad, c.K)
	}
	c.lo = (c.l+2*c.Pad-c.K)/c.Stride + 1
	c.kk = c.In * c.K
	return []int{c.Out, c.lo}, nil
}

func (c *Conv1d[F]) numParams() int    { return c.Out*c.kk + c.Out }
func (c *Conv1d[F]) paramShape() []int { return []int{c.numParams()} }
func (c *Conv1d[F]) bind(p []F)        { c.w, c.b = p[:c.Out*c.kk:c.Out*c.kk], p[c.Out*c.kk:] }
func (c *Conv1d[F]) initParams(r *rand.Rand) {
	uniformInit(c.w, c.kk, r)
	uniformInit(c.b, c.kk, r)
}

func (c *Conv1d[F]) grow(int) {
	for len(c.work) < workers() {
		c.work = append(c.work, conv1dWork[F]{
			u: make([]F, c.lo*c.kk), du: make([]F, c.lo*c.kk),
			ga: make([]F, c.lo*c.lo), gb: make([]F, c.lo*c.lo),
			part: make([]F, c.numParams()),
		})
	}
}

// unroll writes sample x's receptive fields into u (Lo × In·K).
func (c *Conv1d[F]) unroll(x, u []F) {
	for t := range c.lo {
		row := u[t*c.kk : (t+1)*c.kk]
		for ch := range c.In {
			xs := x[ch*c.l : (ch+1)*c.l]
			for j := range c.K {
				p := t*c.Stride + j - c.Pad
				var v F
				if p >= 0 && p < c.l {
					v = xs[p]
				}
				row[ch*c.K+j] = v
			}
		}
	}
}

// fold adds the unrolled gradient du back onto dx, the inverse of unroll.
func (c *Conv1d[F]) fold(du, dx []F) {
	clear(dx[:c.In*c.l])
	for t := range c.lo {
		row := du[t*c.kk : (t+1)*c.kk]
		for ch := range c.In {
			for j := range c.K {
				if p := t*c.Stride + j - c.Pad; p >= 0 && p < c.l {
					dx[ch*c.l+p] += row[ch*c.K+j]
				}
			}
		}
	}
}

func (c *Conv1d[F]) mat(data []F, r, cols int) general[F] { return mat(data, r, cols) }

func (c *Conv1d[F]) forward(x, y []F, n int) {
	c.grow(n)
	in, out := c.In*c.l, c.Out*c.lo
	parallel.Split(n, workers(), func(wk, lo, hi int) {
		u := c.work[wk].u
		for i := lo; i < hi; i++ {
			c.unroll(x[i*in:(i+1)*in], u)
			ys := y[i*out : (i+1)*out]
			for o := range c.Out {
				for t := range c.lo {
					ys[o*c.lo+t] = c.b[o]
				}
			}
			// Y_i (Out × Lo) += W (Out × In·K) · U_iᵀ
			gemmTile(blas.NoTrans, blas.Trans, 1, c.mat(c.w, c.Out, c.kk), c.mat(u, c.lo, c.kk), 1, c.mat(ys, c.Out, c.lo))
		}
	})
}

func (c *Conv1d[F]) beginBackward(x, dy []F, n int) { c.x, c.dy, c.n = x, dy, n }

func (c *Conv1d[F]) backward(x, y, dy, dx []F, n int) {
	if dx == nil {
		return
	}
	in, out := c.In*c.l, c.Out*c.lo
	parallel.Split(n, workers(), func(wk, lo, hi int) {
		du := c.work[wk].du
		for i := lo; i < hi; i++ {
			// dU_i (Lo × In·K) = dY_iᵀ · W
			gemmTile(blas.Trans, blas.NoTrans, 1, c.mat(dy[i*out:(i+1)*out], c.Out, c.lo), c.mat(c.w, c.Out, c.kk), 0, c.mat(du, c.lo, c.kk))
			c.fold(du, dx[i*in:(i+1)*in])
		}
	})
}

// sampleGrad stores sample i's gradient [G_i, row sums of dY_i] in g, with
// u as scratch.
func (c *Conv1d[F]) sampleGrad(g, u []F, i int) {
	in, out := c.In*c.l, c.Out*c.lo
	c.unroll(c.x[i*in:(i+1)*in], u)
	dy := c.dy[i*out : (i+1)*out]
	gemmTile(blas.NoTrans, blas.NoTrans, 1, c.mat(dy, c.Out, c.lo), c.mat(u, c.lo, c.kk), 0, c.mat(g, c.Out, c.kk))
	gb := g[c.Out*c.kk:]
	for o := range c.Out {
		var s F
		for _, v := range dy[o*c.lo : (o+1)*c.lo] {
			s += v
		}
		gb[o] = s
	}
}

// UsesGhost reports whether Mixed mode computes this layer's norms from
// Gram matrices rather than from materialised gradients.
func (c *Conv1d[F]) UsesGhost() bool { return c.lo*c.lo < c.Out*c.kk }

func (c *Conv1d[F]) source(mode GradMode) optimizer.GradSource[F] {
	if mode == Ghost || mode == Mixed && c.UsesGhost() {
		c.ghost.c = c
		return &c.ghost
	}
	n, cols := c.n, c.numParams()
	c.gbuf = ensure(c.gbuf, n*cols)
	c.dense.Reset(n, cols, c.gbuf)
	parallel.Split(n, workers(), func(wk, lo, hi int) {
		for i := lo; i < hi; i++ {
			c.sampleGrad(c.gbuf[i*cols:(i+1)*cols], c.work[wk].u, i)
		}
	})
	return &c.dense
}

// addWeighted adds Σ_i w_i·g_i (w nil: all 1) to dst, summed per worker and
// then in worker order.
func (c *Conv1d[F]) addWeighted(dst []F, w []float64) {
	n := c.n
	if n == 0 {
		return
	}
	in, out := c.In*c.l, c.Out*c.lo
	p := min(workers(), n)
	parallel.Split(n, p, func(wk, lo, hi int) {
		wb := &c.work[wk]
		clear(wb.part)
		for i := lo; i < hi; i++ {
			wi := 1.0
			if w != nil {
				wi = w[i]
			}
			if wi == 0 {
				continue
			}
			c.unroll(c.x[i*in:(i+1)*in], wb.u)
			dy := c.dy[i*out : (i+1)*out]
			f := F(wi)
			gemmTile(blas.NoTrans, blas.NoTrans, f, c.mat(dy, c.Out, c.lo), c.mat(wb.u, c.lo, c.kk), 1, c.mat(wb.part, c.Out, c.kk))
			gb := wb.part[c.Out*c.kk:]
			for o := range c.Out {
				for _, v := range dy[o*c.lo : (o+1)*c.lo] {
					gb[o] += f * v
				}
			}
		}
	})
	for wk := range p {
		for j, v := range c.work[wk].part {
			dst[j] += v
		}
	}
}

func (c *Conv1d[F]) accumulate(dst []F) { c.addWeighted(dst, nil) }

// state returns the weight [Out, In, K] and the bias [Out], the layout of
// torch.nn.Conv1d.
func (c *Conv1d[F]) state() []tensor[F] {
	return []tensor[F]{{"weight", []int{c.Out, c.In, c.K}, c.w}, {"bias", []int{c.Out}, c.b}}
}

// conv1dGhost is Conv1d's ghost source: norms from Gram matrices, the
// weighted sum from per-sample products.
type conv1dGhost[F Float] struct{ c *Conv1d[F] }

func (g *conv1dGhost[F]) Samples() int { return g.c.n }
func (g *conv1dGhost[F]) Len() int     { return g.c.numParams() }

func (g *conv1dGhost[F]) Norms(dst []float64) {
	c := g.c
	if len(dst) != c.n {
		panic("nn: Norms: len(dst) != Samples()")
	}
	in, out := c.In*c.l, c.Out*c.lo
	parallel.Split(c.n, workers(), func(wk, lo, hi int) {
		wb := &c.work[wk]
		for i := lo; i < hi; i++ {
			c.unroll(c.x[i*in:(i+1)*in], wb.u)
			dy := c.dy[i*out : (i+1)*out]
			// A = U_i U_iᵀ, B = dY_iᵀ dY_i (Lo × Lo); ‖G_i‖² = Σ A∘B.
			gemmTile(blas.NoTrans, blas.Trans, 1, c.mat(wb.u, c.lo, c.kk), c.mat(wb.u, c.lo, c.kk), 0, c.mat(wb.ga, c.lo, c.lo))
			gemmTile(blas.Trans, blas.NoTrans, 1, c.mat(dy, c.Out, c.lo), c.mat(dy, c.Out, c.lo), 0, c.mat(wb.gb, c.lo, c.lo))
			var ss float64
			for j, a := range wb.ga[:c.lo*c.lo] {
				ss += float64(a) * float64(wb.gb[j])
			}
			for o := range c.Out {
				var s float64
				for _, v := range dy[o*c.lo : (o+1)*c.lo] {
					s += float64(v)
				}
				ss += s * s
			}
			dst[i] = math.Sqrt(max(ss, 0))
		}
	})
}

func (g *conv1dGhost[F]) AddWeighted(dst []F, w []float64) {
	if len(w) != g.c.n || len(dst) != g.c.numParams() {
		panic("nn: AddWeighted: len(w) != Samples() or len(dst) != Len()")
	}
	g.c.addWeighted(dst, w)
}
