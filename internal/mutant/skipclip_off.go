//go:build !dpmpi_mutant_skipclip

package mutant

// SkipClipLayer0 is the switch of mutant skipclip (see the package documentation); this
// normal build leaves it off.
const SkipClipLayer0 bool = false
