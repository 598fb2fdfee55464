// Package accountant measures the privacy spent by differentially private
// training: the RDP, PRV and GDP accountants of Opacus, with the same
// numbers, plus noise calibration, privacy curves, and a crash-safe ledger
// of steps.
//
// A run records one (σ, q·k) per logical step (σ the noise multiplier, q
// the Poisson sampling rate, k the accumulated iterations) in a History,
// whose consecutive identical steps merge into one Entry. A Mechanism turns
// a history into ε for a δ:
//
//   - RDP: Rényi DP of the subsampled Gaussian at Opacus's 151 default
//     orders (α = 11 absent), converted with Balle et al. 2020, Thm 21.
//   - PRV: the privacy random variable accountant (Gopi et al. 2021) with
//     Opacus's discretisation; Epsilon is the upper bound, Bounds gives
//     the estimate and lower bound. Histories whose mesh would be too large,
//     or whose ε is in the hundreds, get a *DomainError carrying the RDP
//     bound instead of an allocation failure or inf/NaN.
//   - GDP: the Gaussian DP (CLT) approximation, Poisson or uniform.
//
// Accountant wraps a mechanism and a history for use from an optimizer's
// step hook, and saves and restores its state as JSON:
//
//	acc, _ := accountant.New("rdp")
//	for step := range steps {
//		...
//		acc.Step(sigma, q) // in the optimizer's step hook
//	}
//	eps, _ := acc.Epsilon(1e-5)
//
// Calibrate finds σ for a target ε with Opacus's probe sequence, so the
// same σ comes out; StepsForEpochs converts epochs to steps. RDPCurve
// computes ε at every step of a history incrementally, Curve does it for
// any mechanism, and WriteCurveCSV and WriteCurveJSON write the points
// (package accountant/plot draws them). Ledger is an append-only, fsynced
// file of steps written before each update, from which OpenLedger and
// ReadLedger recover the history after a crash.
//
// Bad input (δ outside (0, 1), q outside [0, 1], σ negative or NaN,
// negative steps, an empty history, an unreachable target ε) is reported as
// an error naming the argument and its valid range; no function returns NaN
// as an answer. ε is +Inf when σ = 0 (no noise).
//
// # Implementation
//
// The numbers are Opacus's to the last digits (testdata/reference holds
// Opacus's outputs; ref_test.go, rdp_test.go and prv_test.go compare), which
// takes ports of the numerical code Opacus runs on, each in an internal
// package with its source and licence in its doc:
//
//   - internal/libm: glibc 2.36's exp, log, log1p, expm1, pow and sin,
//     which Python's math module calls (the RDP series cancels heavily, so
//     any other rounding shows in the 11th digit).
//   - internal/special: scipy's binom over Cephes's Gamma, lgam and beta,
//     log_ndtr over the Faddeeva package's erfcx and erfc, ndtr, brentq,
//     and Opacus's log-space helpers _log_add, _log_sub and _log_erfc.
//   - internal/quad: QUADPACK's dqagse as scipy.integrate.quad calls it,
//     for the mean of the PRV.
//   - internal/fft: real FFTs of any even length, scipy's convolve(mode=
//     "same") and a chirp-z transform of the lowest coefficients, for the
//     PRV compositions.
//
// Threading: a Mechanism's methods may be called concurrently (the
// mechanisms are values without state); an Accountant or a Ledger is not
// safe for concurrent use. Within one call, RDP spreads its orders over two
// goroutines pulling from a shared counter (the orders cost very different
// amounts), and PRV discretises, transforms and composes on all cores
// through internal/parallel, computing the PRV mean alongside.
package accountant
