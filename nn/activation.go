package nn

import (
	"fmt"
	"math"

	"github.com/dpmpi/dpmpi/internal/parallel"
)

// elementwise is an activation applied to each value on its own, with a
// derivative computed from the input: f(x) and f′(x).
type elementwise struct {
	kind string
	f    func(x float64) float64
	df   func(x float64) float64
}

func (a *elementwise) Kind() string                  { return a.kind }
func (a *elementwise) setup(in []int) ([]int, error) { return append([]int(nil), in...), nil }
func (a *elementwise) numParams() int                { return 0 }
func (a *elementwise) prepare(int)                   {}

func (a *elementwise) forward(x, y []float64, n int) {
	parallel.For(len(x), parallel.ElemGrain, func(lo, hi int) { a.forwardSamples(x[lo:hi], y[lo:hi], 0, 0, 0) })
}

func (a *elementwise) forwardSamples(x, y []float64, _, _, _ int) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = a.f(v)
	}
}

func (a *elementwise) backward(x, y, dy, dx []float64, n int) {
	if dx == nil {
		return
	}
	parallel.For(len(dy), parallel.ElemGrain, func(lo, hi int) {
		a.backwardSamples(x[lo:hi], nil, dy[lo:hi], dx[lo:hi], 0, 0, 0)
	})
}

func (a *elementwise) backwardSamples(x, _, dy, dx []float64, _, _, _ int) {
	x, dx = x[:len(dy)], dx[:len(dy)]
	for i, g := range dy {
		dx[i] = g * a.df(x[i])
	}
}

// invSqrt2 and invSqrt2Pi are 1/√2 and 1/√(2π).
const (
	invSqrt2   = 0.70710678118654752440084436210484903928483593768847
	invSqrt2Pi = 0.39894228040143267793994605993438186847585863116493
)

// GELU returns the Gaussian error linear unit x·Φ(x) = x/2·(1 + erf(x/√2)),
// PyTorch's torch.nn.GELU() (approximate="none").
func GELU() Layer {
	return &elementwise{
		kind: "GELU",
		f:    func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x*invSqrt2)) },
		df: func(x float64) float64 {
			return 0.5*(1+math.Erf(x*invSqrt2)) + x*invSqrt2Pi*math.Exp(-0.5*x*x)
		},
	}
}

// SiLU returns the sigmoid linear unit x·σ(x) = x/(1 + e^(−x)), also called
// swish, PyTorch's torch.nn.SiLU().
func SiLU() Layer {
	return &elementwise{
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
func ELU(alpha float64) Layer {
	if !(alpha > 0) || math.IsInf(alpha, 0) {
		panic(fmt.Sprintf("nn: ELU: alpha %v must be positive and finite", alpha))
	}
	return &elementwise{
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
type globalAvgPool struct{ c, hw int }

// GlobalAvgPool returns a layer that averages each channel of a [C, H, W]
// sample over its positions, giving [C]: torch.nn.AdaptiveAvgPool2d(1)
// followed by torch.nn.Flatten(), which a PyTorch twin of the model holds as
// one module (nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())) so that
// the positions of later layers, and hence their state_dict names, agree.
func GlobalAvgPool() Layer { return &globalAvgPool{} }

func (p *globalAvgPool) Kind() string   { return "GlobalAvgPool" }
func (p *globalAvgPool) numParams() int { return 0 }
func (p *globalAvgPool) prepare(int)    {}

func (p *globalAvgPool) setup(in []int) ([]int, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("needs input of shape [C, H, W], got %v", in)
	}
	p.c, p.hw = in[0], in[1]*in[2]
	return []int{p.c}, nil
}

func (p *globalAvgPool) forward(x, y []float64, n int) {
	parallel.Split(n, workers(), func(_, lo, hi int) {
		p.forwardSamples(x[lo*p.c*p.hw:hi*p.c*p.hw], y[lo*p.c:hi*p.c], lo, hi-lo, 0)
	})
}

func (p *globalAvgPool) forwardSamples(x, y []float64, _, n, _ int) {
	inv := 1 / float64(p.hw)
	for j := range n * p.c {
		var s float64
		for _, v := range x[j*p.hw : (j+1)*p.hw] {
			s += v
		}
		y[j] = s * inv
	}
}

func (p *globalAvgPool) backward(x, y, dy, dx []float64, n int) {
	if dx == nil {
		return
	}
	parallel.Split(n, workers(), func(_, lo, hi int) {
		p.backwardSamples(nil, nil, dy[lo*p.c:hi*p.c], dx[lo*p.c*p.hw:hi*p.c*p.hw], lo, hi-lo, 0)
	})
}

func (p *globalAvgPool) backwardSamples(_, _, dy, dx []float64, _, n, _ int) {
	inv := 1 / float64(p.hw)
	for j := range n * p.c {
		g := dy[j] * inv
		d := dx[j*p.hw : (j+1)*p.hw]
		for i := range d {
			d[i] = g
		}
	}
}
