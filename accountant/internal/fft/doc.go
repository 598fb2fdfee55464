// Package fft holds the Fourier transforms of the PRV accountant: RFFT, a
// real transform of any even length with numpy's rfft/irfft conventions;
// ConvolveSame, scipy's convolve(a, b, mode="same") of two real sequences;
// and LowDFT, the lowest coefficients of the transform of a real sequence
// with a short support, with its RootTable of roots of unity. Results
// agree with numpy and scipy to a few ulp per coefficient, not bit for
// bit; the accountant's reference vectors hold with them.
//
// An RFFT is not safe for concurrent use (it has buffers); a RootTable is
// read-only once built; ConvolveSame and LowDFT allocate their own work
// space. Transforms of 2^15 points or more, and the tables of NewRFFT, use
// all cores through internal/parallel.
//
// # Implementation
//
// Every transform ends in fft2, a power-of-two complex FFT for
// convolutions, where spectra are only multiplied pointwise: radix-4
// decimation-in-frequency stages forward that leave the output in
// bit-reversed order and decimation-in-time stages back, so no permutation
// is ever done, blocked for the cache. Lengths that are not powers of two
// go through Bluestein's chirp-z algorithm on fft2; RFFT packs a real
// sequence of length n into a complex one of length n/2; LowDFT is a
// chirp-z transform whose cost depends on the support of the sequence and
// the number of coefficients, not on n.
//
// The transforms are Bluestein's algorithm and chirp-z transforms on
// fft2; gonum's dsp/fourier (FFTPACK, fast for lengths with small prime
// factors) was measured against it on a 2-core machine, forward + inverse,
// noisy shared load:
//
//	complex, 65,536 points      fft2 3.1 ms       gonum 18–21 ms
//	complex, 2^20 points        fft2 40–54 ms     gonum 390–460 ms
//	complex, 777,600 = 2^7·3^5·5^2               gonum 320–340 ms
//	real N = 776,726 (N/2 prime), Bluestein on fft2 2^20: 153–160 ms
//	real N = 777,600: gonum's real FFT 135–160 ms, gonum complex N/2 159–163 ms
//
// PRV domains have arbitrary even sizes (the reference rows' N/2 have
// prime factors 3733, 17971, 313, 139, 388,363, 1283, 73, 163 and 43),
// where FFTPACK falls back to a general radix pass costing p operations
// per point for a prime factor p; where it applies directly it is no
// faster than Bluestein on fft2, which also uses both cores.
//
// # Source and licence
//
// This package's own code, written for dpmpi from the published
// algorithms (L. I. Bluestein, 1970; L. R. Rabiner, R. W. Schafer and C. M.
// Rader, the chirp-z transform, 1969; the radix-4 Cooley–Tukey FFT), not a
// port of another library; it is under dpmpi's licence.
package fft
