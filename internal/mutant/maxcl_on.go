//go:build dpmpi_mutant_maxcl

package mutant

// MaxThreshold is the switch of mutant maxcl, turned on by the build tag
// dpmpi_mutant_maxcl.
const MaxThreshold bool = true
