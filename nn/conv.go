package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"

	"github.com/dpmpi/dpmpi/internal/l2norm"
	"github.com/dpmpi/dpmpi/internal/parallel"
	"github.com/dpmpi/dpmpi/internal/prec"
	"github.com/dpmpi/dpmpi/nn/internal/vecmath"
	"github.com/dpmpi/dpmpi/optimizer"
)

// Conv2d is a two-dimensional convolution (cross-correlation, as in
// PyTorch) with square kernel, stride and zero padding, on inputs of shape
// [In, H, W] of elements of type F (float32 or float64). Its weight has shape [Out, In, K, K] and is followed by a bias
// of length Out in one arena layer.
//
// It computes one sample at a time. With U_i the sample's receptive
// fields unrolled (im2col), one row of length In·K·K per output position
// (L rows),
//
//	Y_iᵀ = U_i·Wᵀ       [L × Out], transposed into the NCHW output plus the bias
//	G_i  = dY_i·U_i     [Out × In·K·K], sample i's weight gradient
//	dU_i = dY_iᵀ·W      [L × In·K·K], folded back into dX_i (col2im)
//
// with the bias gradient the row sums of dY_i. On amd64 with AVX2 and FMA
// the products run on package vecmath's register-tile kernels, which read
// U_i straight from the padded sample through tables of offsets
// (GemmGatherA for Y_iᵀ; GemmGather for G_i when K is 4 or 8), so that U_i
// is never written. Otherwise, or when Out or In·K·K is not a multiple of
// 8, U_i is unrolled into a worker buffer and the products go through
// BLAS. Each worker goroutine handles a contiguous range of samples with
// its own buffers, so a sample's data stay in cache.
//
// With weight standardisation (NewStdConv2d) the convolution uses, instead
// of W, Ŵ = (W − mean)/√(var + 1e-5) with the mean and the biased variance
// of each output channel's In·K·K weights (De et al. 2022; timm's
// StdConv2d with eps 1e-5). The per-sample weight gradient G_i is then
// taken with respect to Ŵ and mapped back to W, per output channel, by
//
//	g_W = (g_Ŵ − mean(g_Ŵ) − Ŵ·mean(g_Ŵ ⊙ Ŵ))/√(var + 1e-5)
//
// so such a layer's per-sample gradients are always materialised, never
// ghost (not even in Ghost mode). The arena, and the state dict, hold the
// raw W; the PyTorch twin standardises in its forward pass.
type Conv2d[F Float] struct {
	// In and Out are the input and output channel counts, K the kernel
	// size, Stride and Pad the stride and zero padding on every side.
	In, Out, K, Stride, Pad int
	// Standardize selects weight standardisation (see above); set it
	// before the layer becomes part of a model.
	Standardize bool

	h, w, ho, wo int
	l, kk        int // output positions, In·K·K

	wt, b []F

	// state of the current backward pass
	n     int
	x, dy []F
	// early reports whether the per-sample gradients of the current
	// backward pass were formed while its output errors were computed
	// (see beginEarly): as the B×n block in denseBuf, or summed per worker
	// in work[w].part.
	early earlyForm

	wT []F // the weight (Ŵ if Standardize) transposed, In·K·K × Out, refreshed by prepare
	// Standardize only: Ŵ and 1/√(var + ε) per output channel, refreshed
	// by prepare.
	what  []F
	wrstd []float64

	// Offsets into the padded input for the vecmath kernels that read U_i
	// from it: of each output position's receptive field (rowOff), of each
	// weight within a receptive field (colOff), and, for K = 4 or 8 only,
	// of each block of eight columns of U_i and of a block's second run of
	// four (blockOff, half).
	rowOff, colOff, blockOff vecmath.Offsets
	half                     int

	work     []convWork[F] // per worker
	ghost    convGhost[F]
	explicit convExplicit[F]
	dense    optimizer.DenseSource[F]
	denseBuf []F
}

// convWork is one worker's scratch space.
type convWork[F Float] struct {
	u, du  []F // L × In·K·K
	yt     []F // L × Out, one sample's output before the bias, transposed
	dys    []F // Out × L, a scaled output error
	g      []F // numParams, one sample's gradient
	part   []F // partial gradient sum, numParams
	gd, gu []F // L × L Gram matrices of dY_i and U_i
	gs     []F // numParams, one sample's gradient before it is added (Standardize)
	pad    []F // one padded input sample, In × (H+2·Pad) × (W+2·Pad)
	dpad   []F // the same for col2im; im2col needs its borders zero
}

// NewConv2d returns a Conv2d layer with in input channels, out output
// channels, a k×k kernel, the given stride and zero padding pad.
func NewConv2d[F Float](in, out, k, stride, pad int) *Conv2d[F] {
	return &Conv2d[F]{In: in, Out: out, K: k, Stride: stride, Pad: pad}
}

// NewStdConv2d returns a weight-standardised Conv2d layer (see Conv2d):
// NewConv2d's layer with Standardize set.
func NewStdConv2d[F Float](in, out, k, stride, pad int) *Conv2d[F] {
	return &Conv2d[F]{In: in, Out: out, K: k, Stride: stride, Pad: pad, Standardize: true}
}

// wsEps is the ε of weight standardisation, PyTorch's GroupNorm default.
const wsEps = 1e-5

// Kind returns a description such as "Conv2d(1, 16, k=8, s=2, p=3)", with
// ", ws" before the closing parenthesis for weight standardisation.
func (c *Conv2d[F]) Kind() string {
	ws := ""
	if c.Standardize {
		ws = ", ws"
	}
	return fmt.Sprintf("Conv2d(%d, %d, k=%d, s=%d, p=%d%s)", c.In, c.Out, c.K, c.Stride, c.Pad, ws)
}

// Weight returns the weight, [Out, In, K, K] row-major, as a view of the
// arena (nil before binding).
func (c *Conv2d[F]) Weight() []F { return c.wt }

// Bias returns the bias as a view of the arena (nil before binding).
func (c *Conv2d[F]) Bias() []F { return c.b }

// UsesGhost reports whether Mixed mode computes this layer's per-sample
// gradients in ghost form. Per-layer clipping needs both the norms and the
// weighted sum Σ_i w_i g_i, so the cost model counts both, in multiply-adds
// per sample, with L output positions and K = In·kh·kw:
//
//	materialised: L·Out·K (the product G_i = dY_i·U_i) + Out·K + Out (its norm and its share of the weighted sum)
//	ghost:        L²·(Out+K) (the Gram matrices of dY_i and U_i) + L·Out·K (the weighted product)
//
// so the layer is ghost when L²·(Out+K) < Out·K + Out. Only a layer with a
// single output position (L = 1, a fully connected layer in disguise) is
// ghost in practice. It is valid once the layer is part of a model.
// A weight-standardised layer is never ghost.
func (c *Conv2d[F]) UsesGhost() bool {
	return !c.Standardize && c.l*c.l*(c.Out+c.kk) < c.Out*c.kk+c.Out
}

func (c *Conv2d[F]) setup(in []int) ([]int, error) {
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
	c.gatherOffsets()
	return []int{c.Out, c.ho, c.wo}, nil
}

func (c *Conv2d[F]) numParams() int    { return c.Out*c.kk + c.Out }
func (c *Conv2d[F]) paramShape() []int { return []int{c.Out*c.kk + c.Out} }
func (c *Conv2d[F]) bind(p []F) {
	c.wt, c.b = p[:c.Out*c.kk:c.Out*c.kk], p[c.Out*c.kk:]
}
func (c *Conv2d[F]) initParams(r *rand.Rand) { uniformInit(c.wt, c.kk, r); uniformInit(c.b, c.kk, r) }

// gatherOffsets sets rowOff and colOff, and for 4×4 and 8×8 kernels, in
// which a block of eight columns of U_i (the weights of one input channel)
// is one kernel row of eight values or two of four, blockOff and half
// (blockOff is empty otherwise). Offsets are into the padded input.
func (c *Conv2d[F]) gatherOffsets() {
	wp := c.w + 2*c.Pad
	hwp := (c.h + 2*c.Pad) * wp
	var rows, cols, blocks []int
	for oh := 0; oh < c.ho; oh++ {
		for ow := 0; ow < c.wo; ow++ {
			rows = append(rows, oh*c.Stride*wp+ow*c.Stride)
		}
	}
	for ch := 0; ch < c.In; ch++ {
		for a := 0; a < c.K; a++ {
			for b := 0; b < c.K; b++ {
				cols = append(cols, ch*hwp+a*wp+b)
			}
		}
	}
	if c.K == 4 || c.K == 8 {
		c.half = 4
		if c.K == 4 {
			c.half = wp
		}
		kk := c.K * c.K
		for col := 0; col < c.kk; col += 8 {
			blocks = append(blocks, col/kk*hwp+col%kk/c.K*wp)
		}
	}
	c.rowOff, c.colOff, c.blockOff = vecmath.NewOffsets(rows), vecmath.NewOffsets(cols), vecmath.NewOffsets(blocks)
}

// grow sizes the per-worker scratch space; the batch size does not matter.
func (c *Conv2d[F]) grow(n int) { c.workers() }

// workers makes sure there is scratch space for every worker and returns
// it. It must be called outside parallel loops.
func (c *Conv2d[F]) workers() []convWork[F] {
	p := workers()
	if len(c.work) < p {
		c.work = append(c.work, make([]convWork[F], p-len(c.work))...)
	}
	lk, ll := c.l*c.kk, c.l*c.l
	for i := range c.work {
		wk := &c.work[i]
		wk.u = ensure(wk.u, lk)
		wk.du = ensure(wk.du, lk)
		wk.yt = ensure(wk.yt, c.l*c.Out)
		wk.dys = ensure(wk.dys, c.Out*c.l)
		wk.g = ensure(wk.g, c.numParams())
		wk.part = ensure(wk.part, c.numParams())
		wk.gd = ensure(wk.gd, ll)
		wk.gu = ensure(wk.gu, ll)
		if c.Standardize {
			wk.gs = ensure(wk.gs, c.numParams())
		}
		np := c.In * (c.h + 2*c.Pad) * (c.w + 2*c.Pad)
		wk.pad = ensure(wk.pad, np)
		wk.dpad = ensure(wk.dpad, np)
	}
	return c.work
}

// padded returns xs, one sample, as an image of (H+2·Pad)×(W+2·Pad) per
// channel with zero borders, in buf, and the padded row width. Without
// padding it returns xs itself. buf's borders are zero from its allocation
// and are never written, so only the interior is copied.
func (c *Conv2d[F]) padded(xs, buf []F) ([]F, int) {
	if c.Pad == 0 {
		return xs, c.w
	}
	P, H, W := c.Pad, c.h, c.w
	wp, hp := W+2*P, H+2*P
	for ch := 0; ch < c.In; ch++ {
		for y := 0; y < H; y++ {
			copy(buf[(ch*hp+y+P)*wp+P:(ch*hp+y+P)*wp+P+W], xs[(ch*H+y)*W:(ch*H+y+1)*W])
		}
	}
	return buf, wp
}

// im2col unrolls one sample xs into u, [L × In·K·K], through the worker's
// padding buffer pad (vecmath.Im2col: SSE2 moves for K = 4 and 8 on
// amd64).
func (c *Conv2d[F]) im2col(xs, u, pad []F) {
	xp, W := c.padded(xs, pad)
	vecmath.Im2col(u, xp, c.K, c.In, (c.h+2*c.Pad)*W, W, c.Stride, c.ho, c.wo)
}

// col2im stores in dxs, one sample's input gradient, the sum of the rows of
// du, [L × In·K·K], over the receptive fields they came from, rows in
// order (vecmath.Col2im: four values at a time with AVX for K = 4 and 8 on
// amd64, the same sums). With padding it sums into the worker's padding
// buffer pad and copies the interior out.
func (c *Conv2d[F]) col2im(du, dxs, pad []F) {
	K, P := c.K, c.Pad
	W := c.w + 2*P
	hw := (c.h + 2*P) * W
	dp := dxs
	if P > 0 {
		dp = pad[:c.In*hw]
	}
	clear(dp)
	vecmath.Col2im(dp, du, K, c.In, hw, W, c.Stride, c.ho, c.wo)
	if P == 0 {
		return
	}
	H, Wi, hp := c.h, c.w, c.h+2*P
	for ch := 0; ch < c.In; ch++ {
		for y := 0; y < H; y++ {
			copy(dxs[(ch*H+y)*Wi:(ch*H+y+1)*Wi], dp[(ch*hp+y+P)*W+P:(ch*hp+y+P)*W+P+Wi])
		}
	}
}

// prepare readies the layer for a forward pass: scratch space for every
// worker, Ŵ for weight standardisation and the transposed weight.
func (c *Conv2d[F]) prepare(int) {
	c.workers()
	if c.Standardize {
		c.standardize()
	}
	w := c.weight()
	c.wT = ensure(c.wT, c.kk*c.Out)
	for o := 0; o < c.Out; o++ {
		for k, v := range w[o*c.kk : (o+1)*c.kk] {
			c.wT[k*c.Out+o] = v
		}
	}
}

// weight returns the weight the convolution applies: Ŵ with weight
// standardisation (as of the last prepare), W otherwise.
func (c *Conv2d[F]) weight() []F {
	if c.Standardize {
		return c.what
	}
	return c.wt
}

// standardize sets Ŵ = (W − mean)/√(var + ε) and 1/√(var + ε) for each
// output channel, with the mean and biased variance of its In·K·K weights.
func (c *Conv2d[F]) standardize() {
	c.what = ensure(c.what, c.Out*c.kk)
	c.wrstd = ensure(c.wrstd, c.Out)
	m := float64(c.kk)
	for o := 0; o < c.Out; o++ {
		w, wh := c.wt[o*c.kk:(o+1)*c.kk], c.what[o*c.kk:(o+1)*c.kk]
		var mean float64
		for _, v := range w {
			mean += float64(v)
		}
		mean /= m
		var vr float64
		for _, v := range w {
			d := float64(v) - mean
			vr += d * d
		}
		r := 1 / math.Sqrt(vr/m+wsEps)
		c.wrstd[o] = r
		for j, v := range w {
			wh[j] = F((float64(v) - mean) * r)
		}
	}
}

// unstandardize maps g, one sample's weight gradient with respect to Ŵ
// (Out rows of In·K·K), in place to the gradient with respect to W:
// (g − mean(g) − Ŵ·mean(g ⊙ Ŵ))/√(var + ε) per output channel.
func (c *Conv2d[F]) unstandardize(g []F) {
	m := float64(c.kk)
	for o := 0; o < c.Out; o++ {
		gs, wh := g[o*c.kk:(o+1)*c.kk], c.what[o*c.kk:(o+1)*c.kk]
		var m1, m2 float64
		for j, v := range gs {
			m1 += float64(v)
			m2 += float64(v * wh[j])
		}
		m1 /= m
		m2 /= m
		r := c.wrstd[o]
		for j, v := range gs {
			gs[j] = F((float64(v) - m1 - float64(wh[j])*m2) * r)
		}
	}
}

func (c *Conv2d[F]) forward(x, y []F, n int) {
	c.prepare(n)
	in, out := c.In*c.h*c.w, c.Out*c.l
	parallel.Split(n, workers(), func(wk, lo, hi int) {
		c.forwardSamples(x[lo*in:hi*in], y[lo*out:hi*out], lo, hi-lo, wk)
	})
}

// forwardProduct stores Y_iᵀ = U_i·Wᵀ, [L × Out], for the sample xs in yt,
// reading U_i from the padded sample with vecmath.GemmGatherA when Out is
// a multiple of 8 (its results are those of vecmath.Gemm on the unrolled
// input, bit for bit), and otherwise unrolling it into u first.
func (c *Conv2d[F]) forwardProduct(xs, yt, u, pad []F) {
	if c.Out%8 == 0 {
		xp, _ := c.padded(xs, pad)
		vecmath.GemmGatherA(c.l, c.Out, c.kk, xp, c.rowOff, c.colOff, c.wT, c.Out, yt, c.Out, false)
		return
	}
	c.im2col(xs, u, pad)
	sampleGemm(c.l, c.Out, c.kk, u, c.kk, 1, c.wT, c.Out, yt, c.Out, false)
}

// forwardSamples computes Y_iᵀ = U_i·Wᵀ, [L × Out], so that the product's
// long dimension is its rows, and stores its transpose plus the bias in
// the NCHW output (vecmath.TransposeAddBias: 4×4 blocks in AVX2 registers
// on amd64).
func (c *Conv2d[F]) forwardSamples(x, y []F, _, n, wk int) {
	in, out := c.In*c.h*c.w, c.Out*c.l
	L, O := c.l, c.Out
	u, pad, yt := c.work[wk].u, c.work[wk].pad, c.work[wk].yt
	for i := 0; i < n; i++ {
		c.forwardProduct(x[i*in:(i+1)*in], yt, u, pad)
		vecmath.TransposeAddBias(y[i*out:(i+1)*out], yt, c.b, L, O)
	}
}

func (c *Conv2d[F]) beginBackward(x, dy []F, n int) { c.x, c.dy, c.n = x, dy, n }

func (c *Conv2d[F]) backward(x, y, dy, dx []F, n int) {
	if dx == nil {
		return
	}
	c.workers()
	in, out := c.In*c.h*c.w, c.Out*c.l
	parallel.Split(n, workers(), func(wk, lo, hi int) {
		c.backwardSamples(nil, nil, dy[lo*out:hi*out], dx[lo*in:hi*in], lo, hi-lo, wk)
	})
}

// backwardSamples computes dU_i = dY_iᵀ·W and folds it into dX_i (col2im).
func (c *Conv2d[F]) backwardSamples(_, _, dy, dx []F, _, n, wk int) {
	in, out := c.In*c.h*c.w, c.Out*c.l
	du, dpad := c.work[wk].du, c.work[wk].dpad
	for i := 0; i < n; i++ {
		// A(l, o) = dY_i[o·L + l].
		sampleGemm(c.l, c.kk, c.Out, dy[i*out:(i+1)*out], 1, c.l, c.weight(), c.kk, du, c.kk, false)
		c.col2im(du, dx[i*in:(i+1)*in], dpad)
	}
}

// sampleGrad stores in g, one row of numParams values, the gradient of
// sample i of the current backward pass scaled by w (w·G_i, then w times
// the bias gradient, the row sums of w·dY_i by vecmath.Sum), or adds it to
// g if add is set. wk is the worker's scratch space. The output error is
// scaled before the product rather than through the product's alpha, so
// that a zero weight times a non-finite gradient gives NaN, as the
// materialised form does, where BLAS would skip the product.
func (c *Conv2d[F]) sampleGrad(i int, w float64, g []F, wk *convWork[F], add bool) {
	in, out := c.In*c.h*c.w, c.Out*c.l
	c.sampleGradFrom(c.x[i*in:(i+1)*in], c.dy[i*out:(i+1)*out], w, g, wk, add)
}

// sampleGradFrom is sampleGrad for the sample with input xs and output
// error dys. With weight standardisation the gradient is formed with
// respect to Ŵ and mapped back to W (unstandardize) before it is stored
// or added.
func (c *Conv2d[F]) sampleGradFrom(xs, dys []F, w float64, g []F, wk *convWork[F], add bool) {
	if c.Standardize {
		c.rawGradFrom(xs, dys, w, wk.gs, wk, false)
		c.unstandardize(wk.gs)
		if add {
			addTo(g[:c.numParams()], wk.gs)
		} else {
			copy(g, wk.gs)
		}
		return
	}
	c.rawGradFrom(xs, dys, w, g, wk, add)
}

// rawGradFrom is sampleGradFrom's product: the gradient with respect to the
// weight the convolution applies (Ŵ with weight standardisation).
func (c *Conv2d[F]) rawGradFrom(xs, dys []F, w float64, g []F, wk *convWork[F], add bool) {
	out := c.Out * c.l
	if w != 1 {
		s := wk.dys[:out]
		f := F(w)
		for j, v := range dys {
			s[j] = f * v
		}
		dys = s
	}
	if c.blockOff.Len() > 0 { // K = 4 or 8: kk = In·K² is a multiple of 8
		xp, _ := c.padded(xs, wk.pad)
		vecmath.GemmGather(c.Out, c.kk, c.l, dys, c.l, 1, xp, c.rowOff, c.blockOff, c.half, g, c.kk, add)
	} else {
		c.im2col(xs, wk.u, wk.pad)
		sampleGemm(c.Out, c.kk, c.l, dys, c.l, 1, wk.u, c.kk, g, c.kk, add)
	}
	db := g[c.Out*c.kk : c.Out*c.kk+c.Out]
	for o := range db {
		s := vecmath.Sum(dys[o*c.l : (o+1)*c.l])
		if add {
			db[o] += s
		} else {
			db[o] = s
		}
	}
}

// addWeighted adds Σ_i w_i·g_i to dst, with w nil meaning all ones: each
// worker sums its samples into its own buffer, and the buffers are added to
// dst in worker order.
func (c *Conv2d[F]) addWeighted(dst []F, w []float64) {
	if c.n == 0 {
		return
	}
	work := c.workers()
	p := min(workers(), c.n)
	parallel.Split(c.n, workers(), func(wk, lo, hi int) {
		ws := &work[wk]
		for i := lo; i < hi; i++ {
			wi := 1.0
			if w != nil {
				wi = w[i]
			}
			c.sampleGrad(i, wi, ws.part, ws, i > lo)
		}
	})
	for wk := 0; wk < p; wk++ {
		for j, v := range work[wk].part {
			dst[j] += v
		}
	}
}

func (c *Conv2d[F]) accumulate(dst []F) {
	if c.early != earlySum {
		c.addWeighted(dst, nil)
		return
	}
	for wk := 0; wk < min(workers(), c.n); wk++ {
		addTo(dst, c.work[wk].part)
	}
}

func (c *Conv2d[F]) source(mode GradMode) optimizer.GradSource[F] {
	if !c.Standardize && (mode == Ghost || (mode == Mixed && c.UsesGhost())) {
		c.ghost.c = c
		return &c.ghost
	}
	c.explicit = convExplicit[F]{c: c, block: c.early == earlyBlock}
	return &c.explicit
}

// earlyForm is how a Conv2d formed its per-sample gradients ahead of its
// turn in the backward pass.
type earlyForm int

const (
	earlyNone  earlyForm = iota
	earlyBlock           // the B×n block, for a materialised source
	earlySum             // their sum, per worker, for accumulate
)

// beginEarly readies the layer, the first with parameters of its model, to
// form the per-sample gradients of the n samples of the backward pass about
// to run while their output errors are computed, one sample at a time by
// earlySample, so that the errors never need a batch buffer: as the B×n
// block (a convolution's per-sample gradient is smaller than its output
// error) or, with sum, added per worker for accumulate. x is the layer's
// input. It must be called outside parallel loops, before the samples are
// split over workers as parallel splits them.
func (c *Conv2d[F]) beginEarly(x []F, n int, sum bool) {
	c.workers()
	c.x, c.n = x, n
	if sum {
		c.early = earlySum
		return
	}
	cols := c.numParams()
	c.denseBuf = ensure(c.denseBuf, n*cols)
	c.dense.Reset(n, cols, c.denseBuf)
	c.early = earlyBlock
}

// earlySample forms the gradient of sample i, whose output error is dy, on
// worker wk; first reports whether i is the worker's first sample.
func (c *Conv2d[F]) earlySample(i int, first bool, dy []F, wk int) {
	in, ws := c.In*c.h*c.w, &c.work[wk]
	xs := c.x[i*in : (i+1)*in]
	if c.early == earlySum {
		c.sampleGradFrom(xs, dy, 1, ws.part, ws, !first)
		return
	}
	cols := c.numParams()
	c.sampleGradFrom(xs, dy, 1, c.denseBuf[i*cols:(i+1)*cols], ws, false)
}

// convExplicit is the materialised per-sample gradient source of a Conv2d
// layer. It forms each sample's gradient G_i = dY_i·U_i explicitly, but
// only where the consumer needs it:
//
//   - ClipAdd, the per-layer clipping path, computes G_i in the worker's
//     cache, takes its norm and clip factor and adds it to the worker's
//     partial sum at once, so the B×n block is never written;
//   - Norms writes the B×n block (as optimizer.DenseSource) so that a
//     later AddWeighted or ClipAdd reads it instead of recomputing it;
//   - AddWeighted before Norms sums w_i·G_i one sample at a time.
type convExplicit[F Float] struct {
	c     *Conv2d[F]
	block bool // the B×n block is written, in c.dense
}

func (s *convExplicit[F]) Samples() int { return s.c.n }
func (s *convExplicit[F]) Len() int     { return s.c.numParams() }

func (s *convExplicit[F]) Norms(dst []float64) {
	c := s.c
	if len(dst) != c.n {
		panic("nn: Norms: len(dst) != Samples()")
	}
	if !s.block {
		n, cols := c.n, c.numParams()
		c.denseBuf = ensure(c.denseBuf, n*cols)
		c.dense.Reset(n, cols, c.denseBuf)
		work := c.workers()
		parallel.Split(n, workers(), func(wk, lo, hi int) {
			for i := lo; i < hi; i++ {
				c.sampleGrad(i, 1, c.denseBuf[i*cols:(i+1)*cols], &work[wk], false)
			}
		})
		s.block = true
	}
	c.dense.Norms(dst)
}

func (s *convExplicit[F]) AddWeighted(dst []F, w []float64) {
	c := s.c
	if len(w) != c.n || len(dst) != c.numParams() {
		panic("nn: AddWeighted: len(w) != Samples() or len(dst) != Len()")
	}
	if s.block {
		c.dense.AddWeighted(dst, w)
		return
	}
	c.addWeighted(dst, w)
}

func (s *convExplicit[F]) ClipAdd(dst []F, maxNorm float64, norms, factors []float64) {
	c := s.c
	if len(norms) != c.n || len(factors) != c.n || len(dst) != c.numParams() {
		panic("nn: ClipAdd: len(norms) or len(factors) != Samples() or len(dst) != Len()")
	}
	if s.block {
		c.dense.ClipAdd(dst, maxNorm, norms, factors)
		return
	}
	if c.n == 0 {
		return
	}
	work := c.workers()
	p := min(workers(), c.n)
	parallel.Split(c.n, workers(), func(wk, lo, hi int) {
		ws := &work[wk]
		for i := lo; i < hi; i++ {
			c.sampleGrad(i, 1, ws.g, ws, false)
			norms[i] = norm2(ws.g)
			f := optimizer.ClipFactor(maxNorm, norms[i])
			factors[i] = f
			if i == lo {
				scaleTo(ws.part, f, ws.g)
			} else {
				vecmath.AddScaled(ws.part, F(f), ws.g)
			}
		}
	})
	for wk := 0; wk < p; wk++ {
		addTo(dst, work[wk].part)
	}
}

// norm2 returns the L2 norm of v from its sum of squares by
// vecmath.SumSquares, accumulated in float64, with internal/l2norm's
// overflow fallback for float64 (a float64 sum of float32 squares cannot
// overflow).
func norm2[F Float](v []F) float64 {
	ss := vecmath.SumSquares(v)
	if prec.Is32[F]() {
		return math.Sqrt(ss)
	}
	return l2norm.FromSumSquares(prec.As64(v), ss)
}

// uMat and yMat are sample matrices as BLAS operands: U_i, [L × In·K·K],
// and Y_i or dY_i, [Out × L].
func (c *Conv2d[F]) uMat(u []F) general[F]  { return mat(u, c.l, c.kk) }
func (c *Conv2d[F]) yMat(ys []F) general[F] { return mat(ys, c.Out, c.l) }

// convGhost is the ghost per-sample gradient source of a Conv2d layer. With
// δ_s the output error and u_s the unrolled input at output position s,
// g_i = [Σ_s δ_s u_sᵀ, Σ_s δ_s], so ‖g_i‖² = Σ_{s,t} ⟨δ_s,δ_t⟩(⟨u_s,u_t⟩+1).
type convGhost[F Float] struct {
	c *Conv2d[F]
}

func (g *convGhost[F]) Samples() int { return g.c.n }
func (g *convGhost[F]) Len() int     { return g.c.numParams() }

func (g *convGhost[F]) Norms(dst []float64) {
	c := g.c
	if len(dst) != c.n {
		panic("nn: Norms: len(dst) != Samples()")
	}
	L := c.l
	in, out := c.In*c.h*c.w, c.Out*c.l
	work := c.workers()
	parallel.Split(c.n, workers(), func(wk, lo, hi int) {
		u, gd, gu, pad := work[wk].u, work[wk].gd, work[wk].gu, work[wk].pad
		for i := lo; i < hi; i++ {
			c.im2col(c.x[i*in:(i+1)*in], u, pad)
			syrk(blas.Trans, c.yMat(c.dy[i*out:(i+1)*out]), L, gd)
			syrk(blas.NoTrans, c.uMat(u), L, gu)
			var diag, off float64
			for s := 0; s < L; s++ {
				diag += float64(gd[s*L+s]) * (float64(gu[s*L+s]) + 1)
				for t := s + 1; t < L; t++ {
					off += float64(gd[s*L+t]) * (float64(gu[s*L+t]) + 1)
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

func (g *convGhost[F]) AddWeighted(dst []F, w []float64) {
	c := g.c
	if len(w) != c.n || len(dst) != c.numParams() {
		panic("nn: AddWeighted: len(w) != Samples() or len(dst) != Len()")
	}
	c.addWeighted(dst, w)
}
