// Package dpmean estimates the mean of a data set's feature vectors with
// differential privacy, when the samples are spread over MPI ranks.
//
// It is the Gaussian mechanism on a sum: every sample's vector x_i is scaled
// to norm at most R (by min(1, R/(‖x_i‖₂ + 10⁻⁶)), the clipping factor of
// DP-SGD), each rank sums its own samples, rank 0 alone adds Gaussian noise
// of standard deviation σ·R to every coordinate of its partial sum, and the
// partial sums are summed over the ranks. The noisy sum is divided by N, the
// size of the whole data set, which is public (as in DP-SGD's mean
// reduction, where the expected batch size q·N is).
//
// Adding or removing one sample changes the clipped sum by a vector of norm
// at most R, so the release is the Gaussian mechanism with noise multiplier
// σ on the whole data set: for an accountant, one step at sampling rate 1
// (accountant.History{{NoiseMultiplier: σ, SampleRate: 1, Steps: 1}}), to be
// composed with the training that uses the mean (accountant.Calibration's
// Prior).
//
// A large σ costs little: with σ = 50 and δ = 10⁻⁵ the estimate alone
// spends ε = 0.115 (RDP; 0.069 PRV), and composed before 700 DP-SGD steps
// at q = 0.1365 and ε = 3 it leaves their calibrated σ at 5.508. The error of each
// coordinate is σR/N in standard deviation, plus the bias of clipping for
// samples whose norm exceeds R.
package dpmean
