// Package special holds the special functions of Opacus's accountants as
// scipy 1.10.1 computes them, bit for bit: the binomial coefficient Binom
// (with BinomMemo for a series of them), the log-space helpers LogAdd,
// LogSub and LogErfc of Opacus's RDP accountant, the normal distribution
// function NormCDF and the root finder Brentq. Call them where a result
// must match Opacus's to the last bit.
//
// Binom is scipy's binom (scipy/special/orthogonal_eval.pxd) over ports of
// the Cephes routines behind it: Gamma, lgam_sgn and beta. LogErfc is
// Opacus's _log_erfc over scipy's log_ndtr, which calls the real error
// functions erfcx and erfc of S. G. Johnson's Faddeeva package as built
// into scipy. scipy is built for baseline x86-64, so there are no fused
// multiply-adds; the explicit float64 conversions in the code keep Go from
// fusing. The arithmetic follows the compiled scipy code operation by
// operation, and exp, log, log1p, expm1, pow and sin are the glibc ports
// of package libm. NormCDF is scipy's ndtr over Go's math.Erf and
// math.Erfc; Brentq is scipy.optimize.brentq with its defaults.
//
// # Source
//
//   - cephes.go: Cephes (S. L. Moshier, Cephes Math Library Release 2.8)
//     as shipped in scipy 1.10.1's scipy/special/cephes (gamma.c, beta.c),
//     and scipy's binom (scipy/special/orthogonal_eval.pxd).
//   - faddeeva.go, faddeeva_tables.go: the Faddeeva package of S. G.
//     Johnson as built into scipy 1.10.1 (scipy/special/Faddeeva.cc), and
//     scipy's log_ndtr (scipy/special/_faddeeva.cxx); the Chebyshev tables
//     were read out of the installed scipy binary (Debian python3-scipy
//     1.10.1) by testdata/gen_faddeeva_tables.py.
//   - special.go: Opacus's _log_add, _log_sub and _log_erfc
//     (opacus/accountants/analysis/rdp.py), scipy's ndtr
//     (scipy/special/cephes/ndtr.c) and brentq
//     (scipy/optimize/Zeros/brentq.c).
//
// testdata/special_vectors.txt holds reference values computed on the
// reference machine (Debian 12, glibc 2.36, Python 3.11.2, scipy 1.10.1)
// by testdata/gen_special_vectors.py, for this package and package libm.
//
// # Licence
//
// Cephes: Copyright 1984, 1995, 2000 by Stephen L. Moshier; scipy
// distributes it under the 3-clause BSD licence with permission from the
// author ("This software is derived from the Cephes Math Library and is
// incorporated herein by permission of the author. All rights reserved."),
// see scipy's LICENSES_bundled.txt. Faddeeva: Copyright (c) 2012
// Massachusetts Institute of Technology, by Steven G. Johnson, under the
// MIT licence. scipy's own code (binom, log_ndtr, ndtr, brentq): 3-clause
// BSD licence, Copyright (c) 2001-2002 Enthought, Inc. and 2003-2023 SciPy
// Developers. Opacus's helpers: Apache License 2.0, Copyright Meta
// Platforms, Inc. and affiliates.
package special
