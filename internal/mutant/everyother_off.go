//go:build !dpmpi_mutant_everyother

package mutant

// HookEveryOther is the switch of mutant everyother (see the package documentation); this
// normal build leaves it off.
const HookEveryOther bool = false
