//go:build !dpmpi_mutant_maxcl

package mutant

// MaxThreshold is the switch of mutant maxcl (see the package documentation); this
// normal build leaves it off.
const MaxThreshold bool = false
