//go:build !dpmpi_mutant_nonoise

package mutant

// NoNoise is the switch of mutant nonoise (see the package documentation); this
// normal build leaves it off.
const NoNoise bool = false
