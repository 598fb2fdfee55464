package nn

import (
	"fmt"

	"github.com/dpmpi/dpmpi/internal/parallel"
	"github.com/dpmpi/dpmpi/internal/seed"
)

// dropout is inverted dropout: in training mode each value is kept with
// probability 1 − p and scaled by 1/(1 − p), or zeroed; in evaluation mode
// it is the identity. The mask is a function of the model's dropout keys
// (see Sequential.SetDropoutKeys), the layer's position and the value's
// offset within the sample, never of the data or of the batch's layout.
type dropout[F Float] struct {
	p     float64
	thr   uint64 // a value is kept when its 53-bit draw is ≥ thr
	scale F      // 1/(1 − p), rounded to F
	salt  uint64 // the layer's position in the model, set by NewSequential
	ctx   *dropoutCtx
	size  int
	keep  []uint8 // n × size, the mask of the last training forward pass
}

// dropoutCtx is what a model's Dropout layers read at each pass: whether
// the pass trains, and which keys the samples of the batch have.
type dropoutCtx struct {
	training bool // the mode set by SetTraining
	active   bool // the mode of the last Forward, which its backward pass uses
	seed     uint64
	step     uint64
	ids      []uint64
}

// Dropout returns an inverted dropout layer, torch.nn.Dropout(p): in
// training mode (Sequential.SetTraining(true)) it zeroes each value with
// probability p and scales the others by 1/(1 − p); in evaluation mode,
// the default, it is the identity. The masks come from the keys given to
// Sequential.SetDropoutKeys, so they depend only on a seed, the step and
// each sample's identity. It panics unless 0 ≤ p < 1.
func Dropout[F Float](p float64) Layer[F] {
	if !(p >= 0 && p < 1) {
		panic(fmt.Sprintf("nn: Dropout: p = %v must be in [0, 1)", p))
	}
	return &dropout[F]{p: p, thr: uint64(p * (1 << 53)), scale: F(1 / (1 - p))}
}

func (d *dropout[F]) Kind() string   { return fmt.Sprintf("Dropout(p=%g)", d.p) }
func (d *dropout[F]) numParams() int { return 0 }

func (d *dropout[F]) setup(in []int) ([]int, error) {
	d.size = prod(in)
	return append([]int(nil), in...), nil
}

// on reports whether the current pass drops values.
func (d *dropout[F]) on() bool { return d.ctx != nil && d.ctx.active && d.p > 0 }

func (d *dropout[F]) prepare(n int) {
	if d.on() {
		d.keep = ensure(d.keep, n*d.size)
	}
}

func (d *dropout[F]) forward(x, y []F, n int) {
	d.prepare(n)
	parallel.Split(n, workers(), func(wk, lo, hi int) {
		d.forwardSamples(x[lo*d.size:hi*d.size], y[lo*d.size:hi*d.size], lo, hi-lo, wk)
	})
}

func (d *dropout[F]) forwardSamples(x, y []F, first, n, _ int) {
	if !d.on() {
		copy(y[:n*d.size], x[:n*d.size])
		return
	}
	for i := range n {
		keep := d.keep[(first+i)*d.size : (first+i+1)*d.size]
		d.ctx.mask(keep, d.salt, first+i, d.thr)
		xs, ys := x[i*d.size:(i+1)*d.size], y[i*d.size:(i+1)*d.size]
		for j, k := range keep {
			// x·0 rather than 0, so that a NaN stays NaN, as in PyTorch.
			ys[j] = xs[j] * (F(k) * d.scale)
		}
	}
}

func (d *dropout[F]) backward(x, y, dy, dx []F, n int) {
	if dx == nil {
		return
	}
	parallel.Split(n, workers(), func(wk, lo, hi int) {
		d.backwardSamples(nil, nil, dy[lo*d.size:hi*d.size], dx[lo*d.size:hi*d.size], lo, hi-lo, wk)
	})
}

func (d *dropout[F]) backwardSamples(_, _, dy, dx []F, first, n, _ int) {
	if !d.on() {
		copy(dx[:n*d.size], dy[:n*d.size])
		return
	}
	keep := d.keep[first*d.size : (first+n)*d.size]
	for j, k := range keep {
		dx[j] = dy[j] * (F(k) * d.scale)
	}
}

// mask fills keep (one sample's values) with the mask of sample i of the
// batch for the layer with the given salt: 1 where the value's 53-bit draw
// is at least thr, 0 elsewhere. The draw of value j is a SplitMix64 hash of
// (seed, step, the sample's key, salt, j), so it does not depend on where
// the sample sits in the batch, nor on the number of ranks or workers.
func (c *dropoutCtx) mask(keep []uint8, salt uint64, i int, thr uint64) {
	base := seed.Finalise(seed.Finalise(seed.Finalise(seed.Finalise(c.seed)^c.step)^c.ids[i]) ^ salt)
	for j := range keep {
		h := seed.Finalise(base+uint64(j+1)*0x9e3779b97f4a7c15) >> 11
		var k uint8
		if h >= thr {
			k = 1
		}
		keep[j] = k
	}
}
