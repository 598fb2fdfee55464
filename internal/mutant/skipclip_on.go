//go:build dpmpi_mutant_skipclip

package mutant

// SkipClipLayer0 is the switch of mutant skipclip, turned on by the build tag
// dpmpi_mutant_skipclip.
const SkipClipLayer0 bool = true
