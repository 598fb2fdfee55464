//go:build !dpmpi_mutant_noiseoverw

package mutant

// NoiseOverW is the switch of mutant noiseoverw (see the package documentation); this
// normal build leaves it off.
const NoiseOverW bool = false
