// Package mutant holds the switches of the deliberate bugs (mutants) that
// package audit must catch. Every switch is a constant that is false (or
// neutral) in a normal build; a build with the tag dpmpi_mutant_NAME turns on
// mutant NAME. The packages that implement the mechanism consult a switch at
// the one line where the behaviour happens, so a normal build compiles the
// same code as if the switch were not there. Being internal, the package
// cannot be imported from outside the module: no user can turn a mutant on.
//
// The mutants, by build tag:
//
//	dpmpi_mutant_nonoise     no rank adds the Gaussian noise
//	dpmpi_mutant_halfsigma   the noise std uses σ/2 (the accountant still gets σ)
//	dpmpi_mutant_noiseoverw  the noise std is divided by the world size W once more
//	dpmpi_mutant_skipclip    layer 0 is never clipped
//	dpmpi_mutant_maxcl       the noise std uses max_l C_l instead of ‖(C_1..C_L)‖₂
//	dpmpi_mutant_everyother  the step hook (the accountant) fires on every other step only
//	dpmpi_mutant_konce       the step hook is given k = 1 accumulated passes whatever k is
//
// scripts/audit.sh builds and audits each of them.
package mutant
