package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/dpmpi/dpmpi/internal/parallel"
	"github.com/dpmpi/dpmpi/optimizer"
)

// normEps is PyTorch's default ε of GroupNorm and LayerNorm.
const normEps = 1e-5

// norm normalises each sample on its own, over groups of consecutive
// values: GroupNorm (a group is Channels/Groups channels, the affine
// parameters are per channel) and LayerNorm (one group, the whole sample;
// the affine parameters are per value). Unlike BatchNorm it never mixes
// samples, so a sample's gradient depends on that sample alone and
// per-sample clipping bounds its influence.
//
// Within a group of m values x, with mean μ and biased variance σ², the
// layer computes x̂ = (x − μ)/√(σ² + ε) and y = γ·x̂ + β. Its parameters are
// one arena layer, γ then β, initialised to 1 and 0 as in PyTorch. The
// per-sample gradients (dγ_i = Σ dy·x̂ over the values sharing an affine
// parameter, dβ_i = Σ dy) are as small as the parameters and are
// materialised. The mean, the variance and the sums of the backward pass
// are accumulated in float64 whatever F is.
type norm[F Float] struct {
	layerNorm bool // LayerNorm: one group, per-value affine parameters
	groups    int  // GroupNorm: the number of groups
	channels  int  // GroupNorm: the number of channels

	shape   []int // the sample shape
	size    int   // values per sample
	per     int   // values sharing one affine parameter
	affine  int   // number of γ (and of β)
	gamma   []F
	beta    []F
	xhat    []F       // n × size, from the last forward pass
	rstd    []float64 // n × groups
	n       int
	dy      []F
	dense   optimizer.DenseSource[F]
	dgrad   []F
	accRow  []F
	nGroups int // groups actually used: groups, or 1 for LayerNorm
}

// NewGroupNorm returns torch.nn.GroupNorm(groups, channels): each sample of
// shape [C, ...] (C = channels) is normalised over groups of C/groups
// channels, then scaled and shifted per channel. It needs groups to divide
// channels.
func NewGroupNorm[F Float](groups, channels int) Layer[F] {
	return &norm[F]{groups: groups, channels: channels}
}

// NewLayerNorm returns torch.nn.LayerNorm(shape) for the shape of its input
// sample: each sample is normalised over all its values, then scaled and
// shifted value by value. Its parameters have the sample's shape.
func NewLayerNorm[F Float]() Layer[F] { return &norm[F]{layerNorm: true} }

func (l *norm[F]) Kind() string {
	if l.layerNorm {
		if l.shape == nil {
			return "LayerNorm"
		}
		return fmt.Sprintf("LayerNorm(%v)", l.shape)
	}
	return fmt.Sprintf("GroupNorm(%d, %d)", l.groups, l.channels)
}

func (l *norm[F]) setup(in []int) ([]int, error) {
	l.shape = append([]int(nil), in...)
	l.size = prod(in)
	if l.layerNorm {
		l.nGroups, l.per, l.affine = 1, 1, l.size
		return append([]int(nil), in...), nil
	}
	if l.groups <= 0 || l.channels <= 0 || l.channels%l.groups != 0 {
		return nil, fmt.Errorf("groups %d must be positive and divide the %d channels", l.groups, l.channels)
	}
	if len(in) < 1 || in[0] != l.channels {
		return nil, fmt.Errorf("needs input of shape [%d, ...] (channels first), got %v", l.channels, in)
	}
	l.nGroups, l.per, l.affine = l.groups, l.size/l.channels, l.channels
	return append([]int(nil), in...), nil
}

func (l *norm[F]) numParams() int    { return 2 * l.affine }
func (l *norm[F]) paramShape() []int { return []int{2 * l.affine} }
func (l *norm[F]) bind(p []F)        { l.gamma, l.beta = p[:l.affine:l.affine], p[l.affine:] }

func (l *norm[F]) initParams(*rand.Rand) {
	for i := range l.gamma {
		l.gamma[i], l.beta[i] = 1, 0
	}
}

func (l *norm[F]) grow(n int) {
	l.xhat = ensure(l.xhat, n*l.size)
	l.rstd = ensure(l.rstd, n*l.nGroups)
}

// eachGroup runs body for every group of every sample in [0, n), in parallel
// over samples: off is the group's offset in the batch, a0 the affine index
// of its first value, r its slot in rstd.
func (l *norm[F]) eachGroup(n int, body func(off, a0, r int)) {
	gs := l.size / l.nGroups
	parallel.Split(n, workers(), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			for g := range l.nGroups {
				body(i*l.size+g*gs, g*gs/l.per, i*l.nGroups+g)
			}
		}
	})
}

func (l *norm[F]) forward(x, y []F, n int) {
	l.grow(n)
	gs := l.size / l.nGroups
	l.eachGroup(n, func(off, a0, ri int) {
		xs, xh, ys := x[off:off+gs], l.xhat[off:off+gs], y[off:off+gs]
		var mean float64
		for _, v := range xs {
			mean += float64(v)
		}
		mean /= float64(gs)
		var vr float64
		for _, v := range xs {
			d := float64(v) - mean
			vr += d * d
		}
		r := 1 / math.Sqrt(vr/float64(gs)+normEps)
		l.rstd[ri] = r
		for j, v := range xs {
			h := F((float64(v) - mean) * r)
			xh[j] = h
			a := a0 + j/l.per
			ys[j] = h*l.gamma[a] + l.beta[a]
		}
	})
}

func (l *norm[F]) beginBackward(x, dy []F, n int) { l.dy, l.n = dy, n }

func (l *norm[F]) backward(x, y, dy, dx []F, n int) {
	if dx == nil {
		return
	}
	gs := l.size / l.nGroups
	l.eachGroup(n, func(off, a0, ri int) {
		ds, xh, dxs := dy[off:off+gs], l.xhat[off:off+gs], dx[off:off+gs]
		var m1, m2 float64
		for j, d := range ds {
			dh := float64(d * l.gamma[a0+j/l.per])
			m1 += dh
			m2 += dh * float64(xh[j])
		}
		m1 /= float64(gs)
		m2 /= float64(gs)
		r := l.rstd[ri]
		for j, d := range ds {
			dh := float64(d * l.gamma[a0+j/l.per])
			dxs[j] = F(r * (dh - m1 - float64(xh[j])*m2))
		}
	})
}

// sampleGrad stores sample i's gradient [dγ, dβ] in dst (2·affine values).
func (l *norm[F]) sampleGrad(dst []F, i int) {
	dg, db := dst[:l.affine], dst[l.affine:2*l.affine]
	clear(dst[:2*l.affine])
	d := l.dy[i*l.size : (i+1)*l.size]
	h := l.xhat[i*l.size : (i+1)*l.size]
	for j, v := range d {
		a := j / l.per
		dg[a] += v * h[j]
		db[a] += v
	}
}

func (l *norm[F]) source(GradMode) optimizer.GradSource[F] {
	n, cols := l.n, l.numParams()
	l.dgrad = ensure(l.dgrad, n*cols)
	l.dense.Reset(n, cols, l.dgrad)
	parallel.Split(n, workers(), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			l.sampleGrad(l.dgrad[i*cols:(i+1)*cols], i)
		}
	})
	return &l.dense
}

func (l *norm[F]) accumulate(dst []F) {
	l.accRow = ensure(l.accRow, l.numParams())
	row := l.accRow
	for i := range l.n {
		l.sampleGrad(row, i)
		for j, v := range row {
			dst[j] += v
		}
	}
}

// state returns γ and β under PyTorch's names: per channel ([C]) for
// GroupNorm, of the sample's shape for LayerNorm.
func (l *norm[F]) state() []tensor[F] {
	shape := []int{l.channels}
	if l.layerNorm {
		shape = l.shape
	}
	return []tensor[F]{{"weight", shape, l.gamma}, {"bias", shape, l.beta}}
}
