//go:build dpmpi_mutant_halfsigma

package mutant

// SigmaScale is the switch of mutant halfsigma, turned on by the build tag
// dpmpi_mutant_halfsigma.
const SigmaScale float64 = 0.5
