package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/dpmpi/dpmpi/internal/parallel"
	"github.com/dpmpi/dpmpi/internal/prec"
	"github.com/dpmpi/dpmpi/nn/internal/vecmath"
	"github.com/dpmpi/dpmpi/optimizer"
)

// Layer is one stage of a Sequential model over elements of type F
// (float32 or float64): its input, output and parameters are []F. The
// layers of this package are
// the only implementations: a Layer is built with NewLinear, NewConv2d,
// NewStdConv2d, NewConv1d, NewEmbedding, NewGroupNorm, NewLayerNorm, Residual, ReLU, Tanh,
// GELU, SiLU, ELU, Dropout, NewMaxPool2d, NewAvgPool2d, GlobalAvgPool or Flatten (or
// from a Spec) and handed to NewSequential, which owns its buffers from then
// on. A Layer value must not
// be shared between models.
type Layer[F Float] interface {
	// Kind returns a short description of the layer, for example
	// "Linear(784, 512)".
	Kind() string

	// setup checks the per-sample input shape and returns the output shape.
	setup(in []int) (out []int, err error)
	// numParams returns the layer's parameter count; 0 for parameter-free
	// layers.
	numParams() int
	// forward computes y from x for n samples.
	forward(x, y []F, n int)
	// backward computes dx from dy (dx may be nil when not needed). x and y
	// are the layer's input and output from the last forward pass.
	backward(x, y, dy, dx []F, n int)
}

// sampleLayer is a layer whose forward pass treats every sample on its
// own, so that Sequential can run a chain of them over one sample at a time
// on each worker while the sample's activations are in cache.
type sampleLayer[F Float] interface {
	Layer[F]
	// prepare readies the layer for forwardSamples on a batch of n
	// samples; it is called outside parallel loops.
	prepare(n int)
	// forwardSamples computes y from x for the n samples first, …,
	// first+n−1 of the batch, which x and y hold (and only those), on
	// worker wk.
	forwardSamples(x, y []F, first, n, wk int)
	// backwardSamples computes dx from dy for the n samples first, …,
	// first+n−1 of the batch, which x, y, dy and dx hold (and only those),
	// on worker wk, after a forward pass over the whole batch.
	backwardSamples(x, y, dy, dx []F, first, n, wk int)
}

// paramLayer is a layer with parameters: a weight followed by a bias in one
// arena layer.
type paramLayer[F Float] interface {
	Layer[F]
	paramShape() []int
	bind(p []F)
	initParams(rng *rand.Rand)
	// grow sizes per-batch buffers for at least n samples.
	grow(n int)
	// beginBackward records the layer input x and output error dy of the
	// current backward pass; it precedes source, accumulate and backward.
	beginBackward(x, dy []F, n int)
	// source returns the per-sample gradient source of the current
	// backward pass in the given form (Mixed resolved by the layer).
	source(mode GradMode) optimizer.GradSource[F]
	// accumulate adds Σ_i g_i to dst, the layer's gradient slice.
	accumulate(dst []F)
}

// prod returns the product of the elements of s.
func prod(s []int) int {
	p := 1
	for _, v := range s {
		p *= v
	}
	return p
}

// uniformInit fills p with draws from U(-bound, bound), bound = 1/√fanIn,
// which is PyTorch's default initialisation of both weight
// (kaiming_uniform with a = √5) and bias of Linear and Conv2d layers. The
// draws are made in float64 and rounded to F, so that a float32 model
// starts at the float32 rounding of the float64 model of the same seed.
func uniformInit[F Float](p []F, fanIn int, rng *rand.Rand) {
	bound := 1 / math.Sqrt(float64(fanIn))
	for i := range p {
		p[i] = F((2*rng.Float64() - 1) * bound)
	}
}

// relu is the rectified linear unit, max(0, x).
type relu[F Float] struct{}

// ReLU returns a layer computing max(0, x) element-wise; a NaN input gives
// NaN (as in PyTorch) and its gradient is 0.
func ReLU[F Float]() Layer[F] { return relu[F]{} }

func (relu[F]) Kind() string                  { return "ReLU" }
func (relu[F]) setup(in []int) ([]int, error) { return append([]int(nil), in...), nil }
func (relu[F]) numParams() int                { return 0 }
func (relu[F]) forward(x, y []F, n int) {
	parallel.For(len(x), parallel.ElemGrain, func(lo, hi int) { reluSlice(y[lo:hi], x[lo:hi]) })
}
func (relu[F]) prepare(int)                          {}
func (relu[F]) forwardSamples(x, y []F, _, _, _ int) { reluSlice(y, x) }

// reluSlice stores max(0, x[i]) in y[i], and NaN for a NaN, as PyTorch
// does, so that a NaN reaching the layer is not silently turned into a
// finite activation. The selection is made on bit patterns, which compiles
// to a conditional move: activations are positive or not at random, and a
// branch would mispredict on half of them.
func reluSlice[F Float](y, x []F) {
	if prec.Is32[F]() {
		reluSlice32(prec.As32(y), prec.As32(x))
		return
	}
	reluSlice64(prec.As64(y), prec.As64(x))
}

func reluSlice32(y, x []float32) {
	y = y[:len(x)]
	for i, v := range x {
		b := math.Float32bits(v)
		if v <= 0 {
			b = 0
		}
		y[i] = math.Float32frombits(b)
	}
}

func reluSlice64(y, x []float64) {
	y = y[:len(x)]
	for i, v := range x {
		b := math.Float64bits(v)
		if v <= 0 {
			b = 0
		}
		y[i] = math.Float64frombits(b)
	}
}
func (relu[F]) backward(x, y, dy, dx []F, n int) {
	if dx == nil {
		return
	}
	parallel.For(len(dy), parallel.ElemGrain, func(lo, hi int) { reluGradSlice(dx[lo:hi], y[lo:hi], dy[lo:hi]) })
}
func (relu[F]) backwardSamples(x, y, dy, dx []F, _, _, _ int) { reluGradSlice(dx, y, dy) }

// reluGradSlice stores in dx[i] dy[i] where y[i] > 0 and 0 elsewhere.
func reluGradSlice[F Float](dx, y, dy []F) {
	if prec.Is32[F]() {
		reluGradSlice32(prec.As32(dx), prec.As32(y), prec.As32(dy))
		return
	}
	reluGradSlice64(prec.As64(dx), prec.As64(y), prec.As64(dy))
}

func reluGradSlice32(dx, y, dy []float32) {
	dx, y = dx[:len(dy)], y[:len(dy)]
	for i, g := range dy {
		b := math.Float32bits(g)
		if !(y[i] > 0) {
			b = 0
		}
		dx[i] = math.Float32frombits(b)
	}
}

func reluGradSlice64(dx, y, dy []float64) {
	dx, y = dx[:len(dy)], y[:len(dy)]
	for i, g := range dy {
		b := math.Float64bits(g)
		if !(y[i] > 0) {
			b = 0
		}
		dx[i] = math.Float64frombits(b)
	}
}

// tanh is the hyperbolic tangent.
type tanh[F Float] struct{}

// Tanh returns a layer computing tanh(x) element-wise, within a few ulp of
// the correctly rounded result in F.
func Tanh[F Float]() Layer[F] { return tanh[F]{} }

func (tanh[F]) Kind() string                  { return "Tanh" }
func (tanh[F]) setup(in []int) ([]int, error) { return append([]int(nil), in...), nil }
func (tanh[F]) numParams() int                { return 0 }
func (tanh[F]) forward(x, y []F, n int) {
	parallel.For(len(x), parallel.ElemGrain, func(lo, hi int) { tanhSlice(y[lo:hi], x[lo:hi]) })
}
func (tanh[F]) prepare(int)                          {}
func (tanh[F]) forwardSamples(x, y []F, _, _, _ int) { tanhSlice(y, x) }
func (tanh[F]) backward(x, y, dy, dx []F, n int) {
	if dx == nil {
		return
	}
	parallel.For(len(dy), parallel.ElemGrain, func(lo, hi int) { tanhGradSlice(dx[lo:hi], y[lo:hi], dy[lo:hi]) })
}
func (tanh[F]) backwardSamples(x, y, dy, dx []F, _, _, _ int) { tanhGradSlice(dx, y, dy) }

// tanhGradSlice stores in dx[i] the gradient through tanh dy[i]·(1 − y[i]²),
// four at a time with AVX2 where available (vecmath.TanhGrad); the vector
// form rounds as g − (g·y)·y, within an ulp or two of this.
func tanhGradSlice[F Float](dx, y, dy []F) { vecmath.TanhGrad(dx, y, dy) }

// flatten reshapes each sample to a vector.
type flatten[F Float] struct{}

// Flatten returns a layer that reshapes each sample to one dimension, as
// torch.nn.Flatten does; the values are copied unchanged (row-major order).
func Flatten[F Float]() Layer[F] { return flatten[F]{} }

func (flatten[F]) Kind() string                  { return "Flatten" }
func (flatten[F]) setup(in []int) ([]int, error) { return []int{prod(in)}, nil }
func (flatten[F]) numParams() int                { return 0 }
func (flatten[F]) forward(x, y []F, n int)       { copy(y, x) }
func (flatten[F]) prepare(int)                   {}
func (flatten[F]) forwardSamples(x, y []F, _, _, _ int) {
	copy(y, x)
}
func (flatten[F]) backward(x, y, dy, dx []F, n int) {
	if dx != nil {
		copy(dx, dy)
	}
}
func (flatten[F]) backwardSamples(x, y, dy, dx []F, _, _, _ int) { copy(dx, dy) }

// pool2d is a max or average pooling layer without padding.
type pool2d[F Float] struct {
	max       bool
	k, stride int
	c, h, w   int
	ho, wo    int
	arg       []int32 // argmax offsets within a sample, max pooling only
	tmp       [][]F   // one sample's output size per worker, for backwardTanhSamples
}

// NewMaxPool2d returns a max-pooling layer with a k×k window and the given
// stride, without padding, on inputs of shape [C, H, W].
func NewMaxPool2d[F Float](k, stride int) Layer[F] {
	return &pool2d[F]{max: true, k: k, stride: stride}
}

// NewAvgPool2d returns an average-pooling layer with a k×k window and the
// given stride, without padding, on inputs of shape [C, H, W].
func NewAvgPool2d[F Float](k, stride int) Layer[F] { return &pool2d[F]{k: k, stride: stride} }

func (p *pool2d[F]) Kind() string {
	if p.max {
		return fmt.Sprintf("MaxPool2d(%d, stride=%d)", p.k, p.stride)
	}
	return fmt.Sprintf("AvgPool2d(%d, stride=%d)", p.k, p.stride)
}

func (p *pool2d[F]) numParams() int { return 0 }

func (p *pool2d[F]) setup(in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("needs input of shape [C, H, W], got %v", in)
	}
	if p.k <= 0 || p.stride <= 0 {
		return nil, fmt.Errorf("window %d and stride %d must be positive", p.k, p.stride)
	}
	p.c, p.h, p.w = in[0], in[1], in[2]
	if p.h < p.k || p.w < p.k {
		return nil, fmt.Errorf("input %dx%d is smaller than the %dx%d window", p.h, p.w, p.k, p.k)
	}
	p.ho = (p.h-p.k)/p.stride + 1
	p.wo = (p.w-p.k)/p.stride + 1
	return []int{p.c, p.ho, p.wo}, nil
}

func (p *pool2d[F]) prepare(n int) {
	out := p.c * p.ho * p.wo
	if p.max && len(p.arg) < n*out {
		p.arg = make([]int32, n*out)
	}
	for len(p.tmp) < workers() {
		p.tmp = append(p.tmp, make([]F, out))
	}
}

func (p *pool2d[F]) forward(x, y []F, n int) {
	p.prepare(n)
	in, out := p.c*p.h*p.w, p.c*p.ho*p.wo
	parallel.Split(n, workers(), func(wk, lo, hi int) {
		p.forwardSamples(x[lo*in:hi*in], y[lo*out:hi*out], lo, hi-lo, wk)
	})
}

func (p *pool2d[F]) forwardSamples(x, y []F, first, n, _ int) {
	C, H, W, K, S, Ho, Wo := p.c, p.h, p.w, p.k, p.stride, p.ho, p.wo
	in, out := C*H*W, C*Ho*Wo
	inv := F(1 / float64(K*K))
	for i := 0; i < n; i++ {
		xs, ys := x[i*in:(i+1)*in], y[i*out:(i+1)*out]
		if p.max {
			arg := p.arg[(first+i)*out : (first+i+1)*out]
			if K == 2 && vecmath.MaxPool2(ys, arg, xs, C, H, W, S) {
				continue
			}
			// A NaN in the sample, or a window other than 2×2.
			o := 0
			for c := 0; c < C; c++ {
				base := c * H * W
				for oh := 0; oh < Ho; oh++ {
					for ow := 0; ow < Wo; ow++ {
						ys[o], arg[o] = windowMax(xs, base+oh*S*W+ow*S, W, K)
						o++
					}
				}
			}
			continue
		}
		o := 0
		for c := 0; c < C; c++ {
			xc := xs[c*H*W : (c+1)*H*W]
			for oh := 0; oh < Ho; oh++ {
				for ow := 0; ow < Wo; ow++ {
					r0, c0 := oh*S, ow*S
					var s F
					for a := 0; a < K; a++ {
						off := (r0+a)*W + c0
						for _, v := range xc[off : off+K] {
							s += v
						}
					}
					ys[o] = s * inv
					o++
				}
			}
		}
	}
}

// windowMax returns the maximum of the K×K window of xs starting at start
// (row stride w) and the offset of its first occurrence; a NaN in the
// window is the maximum, and with several the last one in row-major order
// is taken, as PyTorch's CPU kernel does (a value replaces the maximum if
// it is larger or NaN).
func windowMax[F Float](xs []F, start, w, K int) (F, int32) {
	best, bi := xs[start], start
	for a := 0; a < K; a++ {
		off := start + a*w
		for b, v := range xs[off : off+K] {
			if v > best || v != v {
				best, bi = v, off+b
			}
		}
	}
	return best, int32(bi)
}

func (p *pool2d[F]) backward(x, y, dy, dx []F, n int) {
	if dx == nil {
		return
	}
	in, out := p.c*p.h*p.w, p.c*p.ho*p.wo
	parallel.Split(n, workers(), func(wk, lo, hi int) {
		p.backwardSamples(nil, nil, dy[lo*out:hi*out], dx[lo*in:hi*in], lo, hi-lo, wk)
	})
}

// backwardTanhSamples back-propagates max pooling and the Tanh before it
// for the n samples first, …, first+n−1, which y (this layer's output), dy
// and dx (the gradient with respect to the Tanh's input) hold: the output
// error of window o reaches the Tanh input at its argmax times 1 − y_o²,
// since the window's maximum y_o is the Tanh output there. It does not
// need the Tanh's output, and multiplies only where a gradient arrives. A
// position that is the maximum of several windows receives the sum of
// their products rather than the product of their sum: the same up to
// rounding.
func (p *pool2d[F]) backwardTanhSamples(y, dy, dx []F, first, n, wk int) {
	in, out := p.c*p.h*p.w, p.c*p.ho*p.wo
	clear(dx[:n*in])
	t := p.tmp[wk][:out]
	for i := 0; i < n; i++ {
		dxs := dx[i*in : (i+1)*in]
		tanhGradSlice(t, y[i*out:(i+1)*out], dy[i*out:(i+1)*out])
		arg := p.arg[(first+i)*out : (first+i+1)*out]
		for o, g := range t {
			dxs[arg[o]] += g
		}
	}
}

func (p *pool2d[F]) backwardSamples(_, _, dy, dx []F, first, n, _ int) {
	in, out := p.c*p.h*p.w, p.c*p.ho*p.wo
	clear(dx[:n*in])
	inv := F(1 / float64(p.k*p.k))
	for i := 0; i < n; i++ {
		dxs, dys := dx[i*in:(i+1)*in], dy[i*out:(i+1)*out]
		if p.max {
			arg := p.arg[(first+i)*out : (first+i+1)*out]
			for o, g := range dys {
				dxs[arg[o]] += g
			}
			continue
		}
		o := 0
		for c := 0; c < p.c; c++ {
			dxc := dxs[c*p.h*p.w:]
			for oh := 0; oh < p.ho; oh++ {
				for ow := 0; ow < p.wo; ow++ {
					g := dys[o] * inv
					r0, c0 := oh*p.stride, ow*p.stride
					for a := 0; a < p.k; a++ {
						row := dxc[(r0+a)*p.w+c0 : (r0+a)*p.w+c0+p.k]
						for b := range row {
							row[b] += g
						}
					}
					o++
				}
			}
		}
	}
}
