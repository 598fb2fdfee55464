// Package scatter computes the 2-D scattering transform of images, the fixed,
// data-independent ScatterNet feature extractor with which Tramèr & Boneh
// (2021) reach their best differentially private Fashion-MNIST results.
//
// A scattering transform (Mallat 2012; Bruna & Mallat 2013) cascades wavelet
// convolutions and complex moduli, and averages each result with a low-pass
// filter φ_J over 2^J pixels:
//
//	S0 x = x ⋆ φ_J
//	S1 x = |x ⋆ ψ_{j1,θ1}| ⋆ φ_J
//	S2 x = ||x ⋆ ψ_{j1,θ1}| ⋆ ψ_{j2,θ2}| ⋆ φ_J,   j2 > j1
//
// for Morlet wavelets ψ_{j,θ} at scales j = 0..J−1 and L orientations θ. The
// coefficients are stable to small deformations, nearly invariant to
// translations below 2^J pixels, and non-expansive, and nothing in them is
// learnt: computing them once per image costs no privacy.
//
// Build a transform once and give every goroutine its own Workspace:
//
//	s, err := scatter.New(scatter.Kymatio(28, 28)) // J = 2, L = 8, order 2
//	ws := s.NewWorkspace()
//	feat := make([]float64, s.Dim())              // 81 channels × 7 × 7
//	s.Transform(feat, img, ws)                    // img: 28·28 pixels
//
// or transform many images on all cores with TransformBatch. Images are one
// channel; for C channels transform each and concatenate, which gives
// Kymatio's layout [C, 81, 7, 7] (Tramèr & Boneh view it as [81·C, 7, 7]).
//
// # Output layout
//
// For J = 2 and L = 8 each image gives 1 + J·L + L²·J(J−1)/2 = 81 channels
// of Rows/2^J × Cols/2^J values (7×7 for 28×28 images, 3,969 features),
// channel-major, row-major within a channel, in Kymatio's order: channel 0 is
// order 0; channels 1..16 are order 1 with index 1 + j1·L + θ1; channels
// 17..80 are order 2 with index 17 + θ1·L + θ2 (j1 = 0, j2 = 1). Paths lists
// every channel's (order, j1, θ1, j2, θ2) for any configuration.
//
// # Normalisation and privacy
//
// Tramèr & Boneh standardise the coefficients per channel with data
// statistics, or put a GroupNorm in the model. dpmpi never computes
// statistics of the private training set for you: ChannelNorm standardises
// with constants the caller gives, and its documentation lists the three
// sound options (GroupNorm in the model, public constants, or a
// differentially private estimate whose cost the accountant composes).
// Compress, a fixed power max(v, 0)^p of every coefficient, evens out their
// heavy tails before either.
//
// # Conventions
//
// The package follows Kymatio's Scattering2D (Andreux et al. 2020, version
// 0.2, the one Tramèr & Boneh used) step by step:
//
//   - Padding: images are reflect-padded (NumPy's mode "reflect", which does
//     not repeat the edge pixel) to 2^J·(⌊size/2^J⌋ + 2) pixels per side,
//     (pad)/2 before and the rest after: 28×28 becomes 36×36 for J = 2.
//     (Kymatio's compute_padding, ((size + 2^J) // 2^J + 1)·2^J.)
//   - Filters are built in space on the padded grid, periodised over 5×5
//     copies of it, and Fourier transformed; their Fourier transforms are
//     real and the imaginary part, zero up to rounding, is dropped.
//     Gabor: g(u) = exp(−uᵀAu + iξ·(u₀cos θ + u₁sin θ)) / (2·3.1415·σ²/s),
//     A = R(θ)·diag(1, s²)·R(θ)ᵀ/(2σ²), u₀ the row and u₁ the column
//     coordinate. Morlet: ψ = g_ξ − β·g_0 with β = Σg_ξ/Σg_0, so ψ̂(0) = 0.
//     Wavelets: σ = 0.8·2^j, ξ = (3π/4)/2^j, slant s = 4/L, angle index l
//     at θ = (⌊L/2⌋ − 1 − l)·π/L (see Angle: 3π/8, π/4, …, −π/2 for L = 8).
//     Low-pass: a Gabor with ξ = 0, θ = 0, s = 1, σ = 0.8·2^(J−1). Kymatio's
//     3.1415 (not π) in the normalisation is kept, so φ̂(0) = π/3.1415 ≈
//     1 + 2.95e-5 and the order-0 coefficient of a constant image is that
//     constant times 1.0000295.
//   - Filters at coarser resolutions are Kymatio's periodize_filter_fft:
//     frequencies beyond the coarse grid's band are masked out and the rest
//     folded onto it.
//   - FFTs follow NumPy: forward unnormalised, inverse divided by the grid
//     size. Subsampling by k is done in Fourier by averaging the k×k
//     aliases of each frequency (Kymatio's subsample_fourier); the modulus
//     is √(re² + im²); the last inverse FFT keeps the real part.
//   - Order 1 is computed at resolution j1 (subsampling by 2^j1 right after
//     the wavelet), order 2 at resolution j2, and every low-pass output is
//     subsampled to resolution J; the outer ring of the (size/2^J + 2)²
//     result is cut off (Kymatio's unpad, [1:−1, 1:−1]).
//
// Kymatio computes in single precision (its filters are complex64, its
// rotation matrix float32); this package computes in float64 throughout, so
// the two should agree to about single precision. Kymatio's pip package is
// not installable on the machines dpmpi was built on (no PyPI access), so
// that agreement has not been checked numerically; the tests check the
// mathematics instead: the filters' zero mean and DC gain, where each
// wavelet's spectrum peaks, the Littlewood–Paley sum, the exact 90° rotation
// relation between the filters of angle l and l + L/2, the exact
// transposition symmetry of the transform (angle l ↦ 2 − l mod 8), the
// approximate permutation of the first-order channels by a 90° rotation,
// constant images, linearity of order 0, the energy bound and approximate
// translation invariance.
//
// # References
//
//   - S. Mallat, "Group invariant scattering", Comm. Pure Appl. Math. 65(10),
//     2012.
//   - J. Bruna and S. Mallat, "Invariant scattering convolution networks",
//     IEEE TPAMI 35(8), 2013.
//   - M. Andreux et al., "Kymatio: scattering transforms in Python", JMLR
//     21(60), 2020.
//   - F. Tramèr and D. Boneh, "Differentially private learning needs better
//     features (or much more data)", ICLR 2021.
package scatter
