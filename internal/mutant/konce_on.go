//go:build dpmpi_mutant_konce

package mutant

// KAsOne is the switch of mutant konce, turned on by the build tag
// dpmpi_mutant_konce.
const KAsOne bool = true
