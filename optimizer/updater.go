package optimizer

import (
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/dpmpi/dpmpi/internal/parallel"
)

// Updater is the wrapped (non-private) optimizer: it turns the final
// gradient into a parameter update. It works on the arena's flat buffers,
// so one call updates the whole model.
//
// An Updater sizes its state on the first Update; later calls must pass
// slices of that same length. Its state (step count, momentum and moment
// buffers) can be saved with MarshalBinary and restored with
// UnmarshalBinary into an Updater of the same kind and hyper-parameters.
//
// The learning rate may change between updates (a schedule):
// SetLearningRate sets the rate the next Update uses and LearningRate
// returns it. The saved state does not include it, so a resumed run sets it
// again from its schedule.
type Updater[F Float] interface {
	// Update applies one step to params given grads. It panics if
	// len(params) != len(grads) or the length differs from earlier calls.
	Update(params, grads []F)
	// SetLearningRate sets the learning rate of the following updates.
	// It panics if lr is negative or not finite (a programmer error: the
	// constructors return errors for such values).
	SetLearningRate(lr float64)
	// LearningRate returns the learning rate the next update uses.
	LearningRate() float64
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

// SGD is stochastic gradient descent with PyTorch's torch.optim.SGD update
// (maximize=false): with g = grad + WeightDecay·p,
//
//	b ← g                               (first step)
//	b ← Momentum·b + (1−Dampening)·g     (later steps)
//	g ← g + Momentum·b if Nesterov, else g ← b   (when Momentum ≠ 0)
//	p ← p − LR·g
//
// For F = float32 the hyper-parameters are rounded to float32 and the
// update is computed in float32, as PyTorch does for float32 parameters.
type SGD[F Float] struct {
	LR, Momentum, Dampening, WeightDecay float64
	Nesterov                             bool

	steps int64
	buf   []F
}

// NewSGD returns an SGD updater. It returns an error if a hyper-parameter
// is negative or not finite, or if Nesterov is asked for without momentum
// or with dampening (as PyTorch does).
func NewSGD[F Float](lr, momentum, dampening, weightDecay float64, nesterov bool) (*SGD[F], error) {
	for _, h := range []struct {
		name string
		v    float64
	}{{"learning rate", lr}, {"momentum", momentum}, {"dampening", dampening}, {"weight decay", weightDecay}} {
		if h.v < 0 || math.IsInf(h.v, 0) || math.IsNaN(h.v) {
			return nil, fmt.Errorf("optimizer: SGD %s is %v; it must be finite and ≥ 0", h.name, h.v)
		}
	}
	if nesterov && (momentum <= 0 || dampening != 0) {
		return nil, fmt.Errorf("optimizer: SGD Nesterov momentum needs momentum > 0 and dampening 0 (got momentum %v, dampening %v)", momentum, dampening)
	}
	return &SGD[F]{LR: lr, Momentum: momentum, Dampening: dampening, WeightDecay: weightDecay, Nesterov: nesterov}, nil
}

// Update applies one SGD step.
func (o *SGD[F]) Update(params, grads []F) {
	checkLens("SGD", params, grads, o.steps, len(o.buf))
	mu := o.Momentum
	if mu != 0 && o.buf == nil {
		o.buf = make([]F, len(params))
	}
	first := o.steps == 0
	if parallel.Workers(len(params), parallel.ElemGrain) == 1 {
		o.update(params, grads, o.buf, 0, first)
	} else {
		parallel.For(len(params), parallel.ElemGrain, func(lo, hi int) { o.update(params[lo:hi], grads[lo:hi], o.buf, lo, first) })
	}
	o.steps++
}

// update is Update on params[i], grads[i] with momentum buffer buf[off+i].
// The common configurations get loops without per-element branches.
func (o *SGD[F]) update(params, grads, buf []F, off int, first bool) {
	mu, lr, wd, damp := F(o.Momentum), F(o.LR), F(o.WeightDecay), F(1-o.Dampening)
	switch {
	case mu == 0 && o.WeightDecay == 0:
		for i, g := range grads[:len(params)] {
			params[i] -= lr * g
		}
		return
	case mu != 0 && !first && o.WeightDecay == 0 && !o.Nesterov:
		b := buf[off : off+len(params)]
		for i, g := range grads[:len(params)] {
			v := mu*b[i] + damp*g
			b[i] = v
			params[i] -= lr * v
		}
		return
	}
	for i, p := range params {
		g := grads[i]
		if o.WeightDecay != 0 {
			g += wd * p
		}
		if mu != 0 {
			b := g
			if !first {
				b = mu*buf[off+i] + damp*g
			}
			buf[off+i] = b
			if o.Nesterov {
				g += mu * b
			} else {
				g = b
			}
		}
		params[i] = p - lr*g
	}
}

// SetLearningRate sets LR. It panics if lr is negative or not finite.
func (o *SGD[F]) SetLearningRate(lr float64) { o.LR = checkLR("SGD", lr) }

// LearningRate returns LR.
func (o *SGD[F]) LearningRate() float64 { return o.LR }

// MarshalBinary encodes the step count and the momentum buffer.
func (o *SGD[F]) MarshalBinary() ([]byte, error) {
	return marshalState("SGD", o.steps, o.buf), nil
}

// UnmarshalBinary restores state written by MarshalBinary.
func (o *SGD[F]) UnmarshalBinary(data []byte) error {
	steps, bufs, err := unmarshalState[F]("SGD", data, 1)
	if err != nil {
		return err
	}
	o.steps, o.buf = steps, bufs[0]
	return nil
}

// Adam is the Adam optimizer with PyTorch's torch.optim.Adam update
// (amsgrad=false, maximize=false). At step t, with g = grad +
// WeightDecay·p (L2 penalty, Adam only; AdamW decays the parameter
// instead, see NewAdamW):
//
//	m ← m + (1−β₁)(g − m)               (torch.lerp, also its β₁ ≤ 0.5 branch)
//	v ← β₂·v + (1−β₂)·g²
//	p ← p − (LR/(1−β₁ᵗ)) · m / (√v/√(1−β₂ᵗ) + Eps)
//
// For F = float32 the moments are float32 and the update is computed in
// float32 from the step's float64 constants rounded once, as PyTorch does
// for float32 parameters.
type Adam[F Float] struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	// Decoupled selects AdamW: p ← p·(1 − LR·WeightDecay) before the Adam
	// step, and no L2 term in g.
	Decoupled bool

	steps int64
	m, v  []F
}

// NewAdam returns an Adam updater (PyTorch defaults: lr 1e-3, betas 0.9 and
// 0.999, eps 1e-8, weight decay 0).
func NewAdam[F Float](lr, beta1, beta2, eps, weightDecay float64) (*Adam[F], error) {
	return newAdam[F](lr, beta1, beta2, eps, weightDecay, false)
}

// NewAdamW returns an Adam updater with decoupled weight decay, PyTorch's
// torch.optim.AdamW (PyTorch's default weight decay there is 1e-2).
func NewAdamW[F Float](lr, beta1, beta2, eps, weightDecay float64) (*Adam[F], error) {
	return newAdam[F](lr, beta1, beta2, eps, weightDecay, true)
}

func newAdam[F Float](lr, beta1, beta2, eps, wd float64, decoupled bool) (*Adam[F], error) {
	name := "Adam"
	if decoupled {
		name = "AdamW"
	}
	for _, h := range []struct {
		name string
		v    float64
	}{{"learning rate", lr}, {"epsilon", eps}, {"weight decay", wd}} {
		if h.v < 0 || math.IsInf(h.v, 0) || math.IsNaN(h.v) {
			return nil, fmt.Errorf("optimizer: %s %s is %v; it must be finite and ≥ 0", name, h.name, h.v)
		}
	}
	for _, b := range []float64{beta1, beta2} {
		if !(b >= 0 && b < 1) {
			return nil, fmt.Errorf("optimizer: %s betas are (%v, %v); each must be in [0, 1)", name, beta1, beta2)
		}
	}
	return &Adam[F]{LR: lr, Beta1: beta1, Beta2: beta2, Eps: eps, WeightDecay: wd, Decoupled: decoupled}, nil
}

func (o *Adam[F]) kind() string {
	if o.Decoupled {
		return "AdamW"
	}
	return "Adam"
}

// Update applies one Adam (or AdamW) step.
func (o *Adam[F]) Update(params, grads []F) {
	checkLens(o.kind(), params, grads, o.steps, len(o.m))
	if o.m == nil {
		o.m = make([]F, len(params))
		o.v = make([]F, len(params))
	}
	o.steps++
	t := float64(o.steps)
	bc1 := 1 - math.Pow(o.Beta1, t)
	bc2sqrt := math.Sqrt(1 - math.Pow(o.Beta2, t))
	stepSize := o.LR / bc1
	b1, b2 := o.Beta1, o.Beta2
	decay := 1 - o.LR*o.WeightDecay
	l2 := 0.0
	if !o.Decoupled {
		l2 = o.WeightDecay
	}
	k := adamStep[F]{decoupled: o.Decoupled, decay: F(decay), l2: F(l2), w: F(1 - b1), lerpLow: 1-b1 < 0.5, b2: F(b2), c2: F(1 - b2), stepSize: F(stepSize), bc2sqrt: F(bc2sqrt), eps: F(o.Eps)}
	m, v := o.m[:len(params)], o.v[:len(params)]
	if parallel.Workers(len(params), parallel.ElemGrain) == 1 {
		k.update(params, grads, m, v)
		return
	}
	parallel.For(len(params), parallel.ElemGrain, func(lo, hi int) { k.update(params[lo:hi], grads[lo:hi], m[lo:hi], v[lo:hi]) })
}

// adamStep holds the constants of one Adam step.
type adamStep[F Float] struct {
	decoupled, lerpLow bool // lerpLow: 1−β₁ < 0.5, torch.lerp's first branch
	// w = 1−β₁ and c2 = 1−β₂, computed in float64 and rounded once
	decay, l2, w, b2, c2, stepSize, bc2sqrt, eps F
}

// update applies the step to params[i] with gradient grads[i] and moments
// m[i], v[i].
func (k adamStep[F]) update(params, grads, m, v []F) {
	grads, m, v = grads[:len(params)], m[:len(params)], v[:len(params)]
	for i, p := range params {
		if k.decoupled {
			p *= k.decay
		}
		g := grads[i] + k.l2*p
		if k.lerpLow { // torch.lerp's two branches
			m[i] += k.w * (g - m[i])
		} else {
			m[i] = g - (g-m[i])*(1-k.w)
		}
		v[i] = k.b2*v[i] + k.c2*g*g
		params[i] = p - k.stepSize*m[i]/(F(math.Sqrt(float64(v[i])))/k.bc2sqrt+k.eps)
	}
}

// SetLearningRate sets LR. It panics if lr is negative or not finite.
func (o *Adam[F]) SetLearningRate(lr float64) { o.LR = checkLR(o.kind(), lr) }

// LearningRate returns LR.
func (o *Adam[F]) LearningRate() float64 { return o.LR }

// MarshalBinary encodes the step count and both moment buffers.
func (o *Adam[F]) MarshalBinary() ([]byte, error) {
	return marshalState(o.kind(), o.steps, o.m, o.v), nil
}

// UnmarshalBinary restores state written by MarshalBinary.
func (o *Adam[F]) UnmarshalBinary(data []byte) error {
	steps, bufs, err := unmarshalState[F](o.kind(), data, 2)
	if err != nil {
		return err
	}
	o.steps, o.m, o.v = steps, bufs[0], bufs[1]
	return nil
}

// checkLR returns lr, panicking if it is negative or not finite.
func checkLR(name string, lr float64) float64 {
	if !(lr >= 0) || math.IsInf(lr, 1) {
		panic(fmt.Sprintf("optimizer: %s.SetLearningRate(%v): the learning rate must be finite and ≥ 0", name, lr))
	}
	return lr
}

func checkLens[F Float](name string, params, grads []F, steps int64, stateLen int) {
	if len(params) != len(grads) {
		panic(fmt.Sprintf("optimizer: %s.Update: %d parameters but %d gradients", name, len(params), len(grads)))
	}
	if stateLen != 0 && stateLen != len(params) {
		panic(fmt.Sprintf("optimizer: %s.Update: %d parameters but the state (after %d steps) holds %d", name, len(params), steps, stateLen))
	}
}

// State format: magic "dpmpiopt", kind name length and bytes, step count,
// number of buffers, then per buffer its length and its values as float64
// (a float32 state converts exactly both ways), all little-endian. The
// format does not record F: checkpoints record the precision and refuse a
// mismatch before any state is restored.
const stateMagic = "dpmpiopt"

func marshalState[F Float](kind string, steps int64, bufs ...[]F) []byte {
	size := len(stateMagic) + 1 + len(kind) + 8 + 1
	for _, b := range bufs {
		size += 8 + 8*len(b)
	}
	out := make([]byte, 0, size)
	out = append(out, stateMagic...)
	out = append(out, byte(len(kind)))
	out = append(out, kind...)
	out = binary.LittleEndian.AppendUint64(out, uint64(steps))
	out = append(out, byte(len(bufs)))
	for _, b := range bufs {
		out = binary.LittleEndian.AppendUint64(out, uint64(len(b)))
		for _, x := range b {
			out = binary.LittleEndian.AppendUint64(out, math.Float64bits(float64(x)))
		}
	}
	return out
}

var errShortState = errors.New("state is truncated")

func unmarshalState[F Float](kind string, data []byte, nbuf int) (int64, [][]F, error) {
	fail := func(err error) (int64, [][]F, error) {
		return 0, nil, fmt.Errorf("optimizer: restoring %s state: %w", kind, err)
	}
	if len(data) < len(stateMagic)+1 || string(data[:len(stateMagic)]) != stateMagic {
		return fail(errors.New("not a dpmpi optimizer state (bad magic)"))
	}
	data = data[len(stateMagic):]
	kl := int(data[0])
	if len(data) < 1+kl+9 {
		return fail(errShortState)
	}
	if got := string(data[1 : 1+kl]); got != kind {
		return fail(fmt.Errorf("the state was saved by %s", got))
	}
	data = data[1+kl:]
	steps := int64(binary.LittleEndian.Uint64(data))
	if got := int(data[8]); got != nbuf {
		return fail(fmt.Errorf("%d buffers, want %d", got, nbuf))
	}
	data = data[9:]
	bufs := make([][]F, nbuf)
	for k := range bufs {
		if len(data) < 8 {
			return fail(errShortState)
		}
		n := binary.LittleEndian.Uint64(data)
		data = data[8:]
		if n > uint64(len(data)/8) {
			return fail(errShortState)
		}
		if n > 0 {
			bufs[k] = make([]F, n)
			for i := range bufs[k] {
				bufs[k][i] = F(math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:])))
			}
		}
		data = data[8*n:]
	}
	if len(data) != 0 {
		return fail(fmt.Errorf("%d trailing bytes", len(data)))
	}
	return steps, bufs, nil
}
