// Package accountant measures the privacy spent by differentially private
// training: the RDP, PRV and GDP accountants of Opacus, with the same
// numbers, plus noise calibration, privacy curves and plots, and a
// crash-safe ledger of steps.
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
// step hook, and saves and restores its state as JSON. Calibrate finds σ for
// a target ε with Opacus's probe sequence, so the same σ comes out.
// RDPCurve computes ε at every step of a history incrementally; Curve,
// WriteCurveCSV, WriteCurveJSON and PlotCurves draw privacy curves. Ledger
// is an append-only, fsynced file of steps written before each update.
//
// Bad input (δ outside (0, 1), q outside [0, 1], σ negative or NaN,
// negative steps, an empty history, an unreachable target ε) is reported as
// an error naming the argument and its valid range; no function returns NaN
// as an answer. ε is +Inf when σ = 0 (no noise).
package accountant
