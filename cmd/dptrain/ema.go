package main

import "gonum.org/v1/gonum/floats"

// average is an exponential moving average of the parameters (--ema; De et
// al. 2022), the weights that evaluation and the final weight files use. It
// is a function of the parameters after each step only, which are the same
// on every rank, so every rank keeps the same average without
// communicating, and it costs no privacy.
//
// After logical step t (counted from 1) it folds in the parameters p with
// decay d_t = min(decay, (1+t)/(w+t)), with w = 10 (--ema-warmup) the
// warm-up of TensorFlow's ExponentialMovingAverage: early steps, whose
// parameters are far from the later ones, are forgotten quickly. Without
// the decay bound, step s of T weighs about (s/T)^(w−1) in the average,
// so a run averages over about min(1/(1−decay), T/(w−1)) of its last steps.
type average struct {
	decay  float64
	warmup float64
	avg    []float64
	raw    []float64 // the training parameters while the average stands in for them
}

// newAverage starts an average of the parameters p with the given decay in
// (0, 1) and warm-up w > 1.
func newAverage(decay, warmup float64, p []float64) *average {
	return &average{decay: decay, warmup: warmup, avg: append([]float64(nil), p...), raw: make([]float64, len(p))}
}

// update folds in the parameters p after logical step t ≥ 1.
func (a *average) update(p []float64, t int) {
	d := min(a.decay, (1+float64(t))/(a.warmup+float64(t)))
	floats.Scale(d, a.avg)
	floats.AddScaled(a.avg, 1-d, p)
}

// with runs f with the average in place of the parameters p, which it
// restores afterwards. A nil average runs f on p as they are.
func (a *average) with(p []float64, f func() error) error {
	if a == nil {
		return f()
	}
	copy(a.raw, p)
	copy(p, a.avg)
	defer copy(p, a.raw)
	return f()
}
