package audit

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// ClopperPearson returns the two-sided Clopper–Pearson (exact binomial)
// confidence interval at the given confidence (0.95 for 95%) for the
// success probability of a binomial of n trials with k successes: lo is
// the α/2 quantile of Beta(k, n−k+1) (0 when k = 0) and hi the 1−α/2
// quantile of Beta(k+1, n−k) (1 when k = n), with α = 1 − confidence. Each
// end alone is a one-sided bound at confidence 1 − α/2.
//
// It panics if n < 1, k is outside [0, n] or confidence is outside (0, 1).
func ClopperPearson(k, n int, confidence float64) (lo, hi float64) {
	if n < 1 || k < 0 || k > n || !(confidence > 0 && confidence < 1) {
		panic(fmt.Sprintf("audit: ClopperPearson(%d, %d, %v): need 0 ≤ k ≤ n, n ≥ 1 and confidence in (0, 1)", k, n, confidence))
	}
	alpha := 1 - confidence
	lo, hi = 0, 1
	if k > 0 {
		lo = distuv.Beta{Alpha: float64(k), Beta: float64(n - k + 1)}.Quantile(alpha / 2)
	}
	if k < n {
		hi = distuv.Beta{Alpha: float64(k + 1), Beta: float64(n - k)}.Quantile(1 - alpha/2)
	}
	return lo, hi
}

// EpsilonFromRates returns the ε that a test with false-positive rate fpr
// and false-negative rate fnr rules out for a mechanism claiming (ε, δ)-DP:
// such a mechanism satisfies fpr + e^ε·fnr ≥ 1 − δ and fnr + e^ε·fpr ≥ 1 − δ
// for every test (Kairouz, Oh & Viswanath 2015), so
//
//	ε ≥ max(log((1−δ−fnr)/fpr), log((1−δ−fpr)/fnr), 0).
//
// A zero rate with a positive numerator gives +Inf. Pass upper confidence
// bounds on the rates (see EpsilonLowerBound) to turn it into a statistical
// lower bound.
func EpsilonFromRates(fpr, fnr, delta float64) float64 {
	eps := 0.0
	for _, r := range [2][2]float64{{fpr, fnr}, {fnr, fpr}} {
		num := 1 - delta - r[1]
		if num <= 0 {
			continue
		}
		eps = max(eps, math.Log(num/r[0])) // r[0] = 0 gives +Inf
	}
	return eps
}

// EpsilonLowerBound returns a lower bound, holding with probability at
// least confidence, on the ε of a mechanism that claims (ε, δ)-DP, from a
// membership test that made fp false positives among nOut trials without
// the canary and fn false negatives among nIn trials with it (Jagielski,
// Ullman & Oprea 2020; Nasr et al. 2021). Both error rates are replaced by
// their Clopper–Pearson upper ends at the given confidence (each then fails
// with probability at most (1−confidence)/2, so both hold together with
// probability confidence) and passed to EpsilonFromRates.
//
// It panics on counts outside [0, n] or n < 1, like ClopperPearson.
func EpsilonLowerBound(fp, nOut, fn, nIn int, delta, confidence float64) float64 {
	_, fprHi := ClopperPearson(fp, nOut, confidence)
	_, fnrHi := ClopperPearson(fn, nIn, confidence)
	return EpsilonFromRates(fprHi, fnrHi, delta)
}
