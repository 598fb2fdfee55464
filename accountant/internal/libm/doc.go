// Package libm is a port of the glibc 2.36 libm routines that Opacus's RDP
// accountant calls through Python's math module and scipy: Exp, Log,
// Log1p, Expm1, Pow and Sin, each returning the double that glibc returns
// on x86-64 with FMA and AVX2, bit for bit. Call them where a result must
// match Opacus's to the last bit; use package math everywhere else.
//
// Opacus sums thousands of signed series terms whose total cancels to a
// small fraction of the largest term, so a one-ulp difference in any
// primitive shows up in the 12th significant digit of the result. Go's
// math package is accurate to about an ulp too, but it rounds differently
// from glibc in a few percent of arguments. These ports reproduce glibc's
// arithmetic operation by operation, as glibc's x86-64 ifunc selects the
// routines on a CPU with FMA and AVX2, including the fused multiply-adds
// that GCC contracts in the FMA builds (sysdeps/x86_64/fpu/multiarch/*-fma.c):
// each math.FMA in the code stands where the compiled glibc code has one.
// The ports cover finite arguments and the special values; they do not
// raise floating-point exceptions or set errno. Sin covers |x| < 2.426265
// only (see Sin).
//
// # Source
//
// glibc 2.36 (Debian 12), sysdeps/ieee754/dbl-64:
//
//   - e_exp.c, e_log.c, e_pow.c (with their e_exp_data.c, e_log_data.c,
//     e_pow_log_data.c tables): exp, log and pow are ARM's
//     optimized-routines algorithms as shipped in glibc (MIT/LGPL).
//   - s_log1p.c, s_expm1.c: the fdlibm algorithms of Sun Microsystems.
//   - s_sin.c: the IBM Accurate Mathematical Library.
//
// The tables of libm_tables.go were extracted from the reference machine's
// libm.so.6 by testdata/gen_libm_tables.py. The ports are checked bit for
// bit against Python's math module on that machine by package special's
// TestSpecialVectors (../special/testdata/special_vectors.txt).
//
// # Licence
//
// This package is a translation of glibc code, which glibc distributes
// under the GNU Lesser General Public License, version 2.1 or later
// (LGPL-2.1+). The exp, log and pow algorithms are Copyright Arm Limited,
// also published in ARM's optimized-routines under the MIT licence (later
// MIT OR Apache-2.0 WITH LLVM-exception; the "MIT/LGPL" of the glibc
// headers); log1p and expm1 are fdlibm code,
// Copyright Sun Microsystems, Inc., "Permission to use, copy, modify, and
// distribute this software is freely granted, provided that this notice is
// preserved"; sin is Copyright IBM Corporation and the Free Software
// Foundation, LGPL-2.1+. Whoever redistributes this package should treat
// it as a derivative work of the LGPL-2.1+ sources unless and until it is
// re-derived from the MIT-licensed optimized-routines and fdlibm alone.
package libm
