package scatter

import (
	"fmt"
	"math"
)

// Compress raises every coefficient of x, in place, to the power p after
// clamping it at zero: v ↦ max(v, 0)^p. Like the transform it is fixed and
// sees one coefficient at a time, so it costs no privacy.
//
// Scattering coefficients are heavy-tailed and each order is about ten
// times smaller than the one before (on Fashion-MNIST the medians of orders
// 0, 1 and 2 are about 0.2, 0.017 and 0.0023); a power p < 1 (0.5: the
// square root) evens out both, as the logarithm or a root of a spectrogram
// does for audio, and a linear model on the compressed coefficients is more
// accurate under differential privacy (docs/dptrain.md has the
// measurements). The clamp is needed because the coefficients are computed
// through the FFT: the ones that should be exactly zero, where an image is
// blank, come out as rounding noise of either sign (down to about −3e-4
// on Fashion-MNIST), which a fractional power would turn into NaN.
//
// Compress panics if p is not finite and positive; check a p given by a
// user with CheckPower first.
func Compress(x []float64, p float64) {
	if err := CheckPower(p); err != nil {
		panic(err)
	}
	switch p {
	case 1:
		for i, v := range x {
			x[i] = max(v, 0)
		}
	case 0.5:
		for i, v := range x {
			x[i] = math.Sqrt(max(v, 0))
		}
	default:
		for i, v := range x {
			x[i] = math.Pow(max(v, 0), p)
		}
	}
}

// CheckPower reports whether p is a power Compress accepts: finite and
// positive.
func CheckPower(p float64) error {
	if !(p > 0) || math.IsInf(p, 0) {
		return fmt.Errorf("scatter: compression power %v; want a finite power > 0 (0.5 for the square root)", p)
	}
	return nil
}
