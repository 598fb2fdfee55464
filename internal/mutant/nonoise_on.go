//go:build dpmpi_mutant_nonoise

package mutant

// NoNoise is the switch of mutant nonoise, turned on by the build tag
// dpmpi_mutant_nonoise.
const NoNoise bool = true
