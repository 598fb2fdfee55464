//go:build !dpmpi_mutant_konce

package mutant

// KAsOne is the switch of mutant konce (see the package documentation); this
// normal build leaves it off.
const KAsOne bool = false
