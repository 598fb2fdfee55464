//go:build !dpmpi_mutant_halfsigma

package mutant

// SigmaScale is the switch of mutant halfsigma (see the package documentation); this
// normal build leaves it off.
const SigmaScale float64 = 1
