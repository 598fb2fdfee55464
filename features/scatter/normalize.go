package scatter

import (
	"fmt"
	"math"
)

// ChannelNorm standardises scattering coefficients channel by channel:
// v ↦ (v − Mean[c])/Std[c] for every coefficient of channel c, as Tramèr &
// Boneh's "BN" input normalisation does with (mean, √(var + 1e-5)).
//
// The constants must not be statistics of the private training set, which
// no accountant would count. Take them from public data (for example
// coefficients of a public data set of the same domain), or from a
// differentially private estimate whose privacy cost is composed into the
// training's accounting (Tramèr & Boneh spend part of their budget on a
// noisy mean and variance of each channel). The alternative that needs no
// constants is a per-sample normalisation inside the model, such as
// GroupNorm over the 81 channels, which depends on one sample only.
type ChannelNorm struct {
	// Mean and Std hold one value per channel.
	Mean, Std []float64
}

// Check reports whether n fits channels channels: one finite mean and one
// finite, positive standard deviation each.
func (n ChannelNorm) Check(channels int) error {
	if len(n.Mean) != channels || len(n.Std) != channels {
		return fmt.Errorf("scatter: channel normalisation has %d means and %d standard deviations for %d channels; give one of each per channel", len(n.Mean), len(n.Std), channels)
	}
	for c := range channels {
		if m := n.Mean[c]; math.IsNaN(m) || math.IsInf(m, 0) {
			return fmt.Errorf("scatter: channel normalisation: mean of channel %d is %v; give finite constants", c, m)
		}
		if s := n.Std[c]; !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("scatter: channel normalisation: standard deviation of channel %d is %v; give finite positive constants", c, s)
		}
	}
	return nil
}

// Apply standardises x in place: samples of len(n.Mean) channels of size
// values each, back to back. It panics if len(x) is not a multiple of one
// sample's length; check the constants with Check first.
func (n ChannelNorm) Apply(x []float64, size int) {
	ch := len(n.Mean)
	if size <= 0 || ch == 0 || len(x)%(ch*size) != 0 {
		panic(fmt.Sprintf("scatter: ChannelNorm.Apply: len(x) = %d is not a multiple of %d channels × %d values", len(x), ch, size))
	}
	for i := 0; i < len(x); i += size {
		c := (i / size) % ch
		m, inv := n.Mean[c], 1/n.Std[c]
		for k := i; k < i+size; k++ {
			x[k] = (x[k] - m) * inv
		}
	}
}

// PerFeature expands n to one mean and one standard deviation per
// coefficient of a sample (channels × size values), the form
// data.Normalization takes, so that data.ReadNPYFiles can standardise
// features as it reads them.
func (n ChannelNorm) PerFeature(size int) (mean, std []float64) {
	ch := len(n.Mean)
	mean, std = make([]float64, ch*size), make([]float64, ch*size)
	for c := range ch {
		for k := range size {
			mean[c*size+k], std[c*size+k] = n.Mean[c], n.Std[c]
		}
	}
	return mean, std
}
