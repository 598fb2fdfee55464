// Package quad integrates a function over a finite interval as
// scipy.integrate.quad does, bit for bit: Workspace.QAGS is QUADPACK's
// adaptive Gauss–Kronrod routine dqagse. Make one Workspace with
// NewWorkspace and call its QAGS for each integral.
//
// The port follows dqagse statement by statement, with 1-based tables as
// in the Fortran, and its helpers dqk21 (the 21-point Gauss–Kronrod rule),
// dqpsrt (the error-ordered list of subintervals) and dqelg (Wynn's epsilon
// extrapolation). The Kronrod nodes and weights were computed for this
// package with 60-digit arithmetic.
//
// # Source
//
// QUADPACK (R. Piessens, E. de Doncker-Kapenga, C. W. Überhuber and D. K.
// Kahaner, 1983), files dqagse.f, dqk21.f, dqpsrt.f and dqelg.f, as
// bundled in scipy 1.10.1 (scipy/integrate/quadpack) and on netlib.
//
// # Licence
//
// QUADPACK is in the public domain.
package quad
