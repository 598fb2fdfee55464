//go:build dpmpi_mutant_noiseoverw

package mutant

// NoiseOverW is the switch of mutant noiseoverw, turned on by the build tag
// dpmpi_mutant_noiseoverw.
const NoiseOverW bool = true
