package audit

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// Bound is an empirical lower bound on ε from membership scores: the test
// "the canary was in" when score ≥ Threshold, its errors on the evaluation
// half of the trials, and the ε they rule out at Delta with probability at
// least Confidence.
type Bound struct {
	// Epsilon is the lower bound (0 when the test separates nothing).
	Epsilon float64
	// Delta and Confidence are the δ and the confidence it holds at.
	Delta, Confidence float64
	// Threshold is the score threshold chosen on the selection half.
	Threshold float64
	// FP of NOut trials without the canary scored ≥ Threshold; FN of NIn
	// trials with it scored below (the evaluation half).
	FP, NOut, FN, NIn int
}

// String formats the bound with its counts.
func (b Bound) String() string {
	return fmt.Sprintf("ε ≥ %.3f at δ=%g (%.4g%% confidence; FP %d/%d, FN %d/%d, threshold %.4g)",
		b.Epsilon, b.Delta, 100*b.Confidence, b.FP, b.NOut, b.FN, b.NIn, b.Threshold)
}

// LowerBound returns an ε lower bound at δ, holding with probability at
// least confidence, from the scores of trials with the canary (in) and
// without it (out), where a higher score means "more likely in".
//
// The threshold is chosen on one half of the trials (even indices) and the
// bound computed on the other half (odd indices), so that the search over
// thresholds does not inflate the bound: the candidates are order
// statistics of the selection half at rates 1/n … 1/2 in both tails, and
// the one whose EpsilonLowerBound on the selection half is largest is
// evaluated once, with EpsilonLowerBound, on the evaluation half. The
// trials must be independent and identically distributed within each
// group, and in any order unrelated to their scores.
//
// It returns an error if either group has fewer than 4 trials, or δ or the
// confidence is outside (0, 1).
func LowerBound(in, out []float64, delta, confidence float64) (Bound, error) {
	if len(in) < 4 || len(out) < 4 {
		return Bound{}, fmt.Errorf("audit: LowerBound needs at least 4 trials with and 4 without the canary; got %d and %d", len(in), len(out))
	}
	if !(delta > 0 && delta < 1) || !(confidence > 0 && confidence < 1) {
		return Bound{}, fmt.Errorf("audit: LowerBound: δ = %v and confidence = %v must both be in (0, 1)", delta, confidence)
	}
	for _, s := range [][]float64{in, out} {
		for i, v := range s {
			if math.IsNaN(v) {
				return Bound{}, fmt.Errorf("audit: LowerBound: score %d is NaN", i)
			}
		}
	}
	selIn, evIn := halves(in)
	selOut, evOut := halves(out)
	best, bestEps := math.Inf(1), -1.0
	for _, t := range candidates(selIn, selOut) {
		fp, fn := errorsAt(selOut, selIn, t)
		if e := EpsilonLowerBound(fp, len(selOut), fn, len(selIn), delta, confidence); e > bestEps {
			best, bestEps = t, e
		}
	}
	fp, fn := errorsAt(evOut, evIn, best)
	return Bound{
		Epsilon: EpsilonLowerBound(fp, len(evOut), fn, len(evIn), delta, confidence),
		Delta:   delta, Confidence: confidence, Threshold: best,
		FP: fp, NOut: len(evOut), FN: fn, NIn: len(evIn),
	}, nil
}

// halves returns the sorted scores at even and at odd indices.
func halves(s []float64) (even, odd []float64) {
	even = make([]float64, 0, (len(s)+1)/2)
	odd = make([]float64, 0, len(s)/2)
	for i, v := range s {
		if i%2 == 0 {
			even = append(even, v)
		} else {
			odd = append(odd, v)
		}
	}
	slices.Sort(even)
	slices.Sort(odd)
	return even, odd
}

// candidates returns thresholds at the order statistics of the sorted
// samples at tail rates 1/n, 2/n, 4/n, … (and finer steps), in both tails.
func candidates(in, out []float64) []float64 {
	var c []float64
	for _, s := range [][]float64{in, out} {
		n := len(s)
		for f := 1.0; f <= float64(n)/2; f *= 1.25 {
			k := int(f)
			c = append(c, s[n-k], s[k]) // upper tail (just the k largest are ≥), lower tail
		}
	}
	slices.Sort(c)
	return slices.Compact(c)
}

// errorsAt counts, for sorted scores, the out-trials scored ≥ t (false
// positives) and the in-trials scored < t (false negatives).
func errorsAt(out, in []float64, t float64) (fp, fn int) {
	fp = len(out) - sort.SearchFloat64s(out, t)
	fn = sort.SearchFloat64s(in, t)
	return fp, fn
}
