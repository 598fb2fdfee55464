package nn

import (
	"fmt"
	"math"

	"github.com/dpmpi/dpmpi/internal/parallel"
)

// elementwise is an activation applied to each value on its own, with a
// derivative computed from the input: f(x) and f′(x), evaluated in float64
// and rounded to F.
type elementwise[F Float] struct {
	kind string
	f    func(x float64) float64
	df   func(x float64) float64
}

func (a *elementwise[F]) Kind() string                  { return a.kind }
func (a *elementwise[F]) setup(in []int) ([]int, error) { return append([]int(nil), in...), nil }
func (a *elementwise[F]) numParams() int                { return 0 }
func (a *elementwise[F]) prepare(int)                   {}

func (a *elementwise[F]) forward(x, y []F, n int) {
	parallel.For(len(x), parallel.ElemGrain, func(lo, hi int) { a.forwardSamples(x[lo:hi], y[lo:hi], 0, 0, 0) })
}

func (a *elementwise[F]) forwardSamples(x, y []F, _, _, _ int) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = F(a.f(float64(v)))
	}
}

func (a *elementwise[F]) backward(x, y, dy, dx []F, n int) {
	if dx == nil {
		return
	}
	parallel.For(len(dy), parallel.ElemGrain, func(lo, hi int) {
		a.backwardSamples(x[lo:hi], nil, dy[lo:hi], dx[lo:hi], 0, 0, 0)
	})
}

func (a *elementwise[F]) backwardSamples(x, _, dy, dx []F, _, _, _ int) {
	x, dx = x[:len(dy)], dx[:len(dy)]
	for i, g := range dy {
		dx[i] = F(float64(g) * a.df(float64(x[i])))
	}
}

// invSqrt2 and invSqrt2Pi are 1/√2 and 1/√(2π).
const (
	invSqrt2   = 0.70710678118654752440084436210484903928483593768847
	invSqrt2Pi = 0.39894228040143267793994605993438186847585863116493
)

// GELU returns the Gaussian error linear unit x·Φ(x) = x/2·(1 + erf(x/√2)),
// PyTorch's torch.nn.GELU() (approximate="none").
func GELU[F Float]() Layer[F] {
	return &elementwise[F]{
		kind: "GELU",
		f:    func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x*invSqrt2)) },
		df: func(x float64) float64 {
			return 0.5*(1+math.Erf(x*invSqrt2)) + x*invSqrt2Pi*math.Exp(-0.5*x*x)
		},
	}
}

// SiLU returns the sigmoid linear unit x·σ(x) = x/(1 + e^(−x)), also called
// swish, PyTorch's torch.nn.SiLU().
func SiLU[F Float]() Layer[F] {
	return &elementwise[F]{
		kind: "SiLU",
		f:    func(x float64) float64 { return x * sigmoid(x) },
		df: func(x float64) float64 {
			s := sigmoid(x)
			return s * (1 + x*(1-s))
		},
	}
}

// sigmoid returns 1/(1 + e^(−x)) without overflow for large |x|.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// ELU returns the exponential linear unit x for x > 0 and α·(e^x − 1)
// otherwise, PyTorch's torch.nn.ELU(alpha). It panics unless alpha is
// positive and finite.
func ELU[F Float](alpha float64) Layer[F] {
	if !(alpha > 0) || math.IsInf(alpha, 0) {
		panic(fmt.Sprintf("nn: ELU: alpha %v must be positive and finite", alpha))
	}
	return &elementwise[F]{
		kind: fmt.Sprintf("ELU(alpha=%g)", alpha),
		f: func(x float64) float64 {
			if x > 0 {
				return x
			}
			return alpha * math.Expm1(x)
		},
		df: func(x float64) float64 {
			if x > 0 {
				return 1
			}
			return alpha * math.Exp(x)
		},
	}
}

// globalAvgPool averages each channel of a [C, H, W] input over its H×W
// positions.
type globalAvgPool[F Float] struct{ c, hw int }

// GlobalAvgPool returns a layer that averages each channel of a [C, H, W]
// sample over its positions, giving [C]: torch.nn.AdaptiveAvgPool2d(1)
// followed by torch.nn.Flatten(), which a PyTorch twin of the model holds as
// one module (nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())) so that
// the positions of later layers, and hence their state_dict names, agree.
func GlobalAvgPool[F Float]() Layer[F] { return &globalAvgPool[F]{} }

func (p *globalAvgPool[F]) Kind() string   { return "GlobalAvgPool" }
func (p *globalAvgPool[F]) numParams() int { return 0 }
func (p *globalAvgPool[F]) prepare(int)    {}

func (p *globalAvgPool[F]) setup(in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("needs input of shape [C, H, W], got %v", in)
	}
	p.c, p.hw = in[0], in[1]*in[2]
	return []int{p.c}, nil
}

func (p *globalAvgPool[F]) forward(x, y []F, n int) {
	parallel.Split(n, workers(), func(_, lo, hi int) {
		p.forwardSamples(x[lo*p.c*p.hw:hi*p.c*p.hw], y[lo*p.c:hi*p.c], lo, hi-lo, 0)
	})
}

func (p *globalAvgPool[F]) forwardSamples(x, y []F, _, n, _ int) {
	inv := F(1 / float64(p.hw))
	for j := range n * p.c {
		var s F
		for _, v := range x[j*p.hw : (j+1)*p.hw] {
			s += v
		}
		y[j] = s * inv
	}
}

func (p *globalAvgPool[F]) backward(x, y, dy, dx []F, n int) {
	if dx == nil {
		return
	}
	parallel.Split(n, workers(), func(_, lo, hi int) {
		p.backwardSamples(nil, nil, dy[lo*p.c:hi*p.c], dx[lo*p.c*p.hw:hi*p.c*p.hw], lo, hi-lo, 0)
	})
}

func (p *globalAvgPool[F]) backwardSamples(_, _, dy, dx []F, _, n, _ int) {
	inv := F(1 / float64(p.hw))
	for j := range n * p.c {
		g := dy[j] * inv
		d := dx[j*p.hw : (j+1)*p.hw]
		for i := range d {
			d[i] = g
		}
	}
}
