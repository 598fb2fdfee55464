//go:build dpmpi_mutant_everyother

package mutant

// HookEveryOther is the switch of mutant everyother, turned on by the build tag
// dpmpi_mutant_everyother.
const HookEveryOther bool = true
