package audit

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mathext"
)

// OneRunPValue is the p-value of Steinke, Nasr & Jagielski (2023, "Privacy
// auditing with one (1) training run"; their main theorem for (ε, δ)-DP, in
// the form of the p-value computation published with the paper): the
// largest probability that an auditor making r guesses about m canaries,
// each included independently with probability ½, gets at least v of them
// right when the algorithm is (ε, δ)-DP:
//
//	p = P[Bin(r, p_ε) ≥ v] + 2mδ · max_{1≤i≤v} (1/i) P[v−i ≤ Bin(r, p_ε) < v],
//	p_ε = e^ε/(1+e^ε),
//
// capped at 1. The binomial tail is the regularised incomplete beta
// function I_{p_ε}(v, r−v+1); the δ term sums the binomial pmf downwards
// from v−1.
//
// It panics unless 0 ≤ v ≤ r ≤ m, ε ≥ 0 and δ in [0, 1].
func OneRunPValue(m, r, v int, eps, delta float64) float64 {
	if !(0 <= v && v <= r && r <= m) || !(eps >= 0) || !(delta >= 0 && delta <= 1) {
		panic(fmt.Sprintf("audit: OneRunPValue(m=%d, r=%d, v=%d, ε=%v, δ=%v): need 0 ≤ v ≤ r ≤ m, ε ≥ 0, δ in [0, 1]", m, r, v, eps, delta))
	}
	if v == 0 {
		return 1
	}
	p := 1 / (1 + math.Exp(-eps))
	beta := 1.0
	if p < 1 {
		beta = mathext.RegIncBeta(float64(v), float64(r-v+1), p)
	}
	alpha := 0.0
	if delta > 0 && p < 1 {
		// pmf(x) = C(r,x) p^x (1−p)^(r−x), from x = v−1 downwards.
		lg := func(x float64) float64 { l, _ := math.Lgamma(x); return l }
		x := float64(v - 1)
		rf := float64(r)
		pmf := math.Exp(lg(rf+1) - lg(x+1) - lg(rf-x+1) + x*math.Log(p) + (rf-x)*math.Log1p(-p))
		ratio := (1 - p) / p
		sum := 0.0
		for i := 1; i <= v; i++ {
			sum += pmf
			alpha = max(alpha, sum/float64(i))
			x = float64(v - i) // pmf(x−1) = pmf(x)·x/(r−x+1)·(1−p)/p
			pmf *= x / (rf - x + 1) * ratio
		}
	}
	return min(1, beta+2*float64(m)*delta*alpha)
}

// OneRunEpsilon returns the ε lower bound of Steinke, Nasr & Jagielski
// (2023) at δ and the given confidence: the largest ε ≥ 0 whose
// OneRunPValue for (m, r, v) is below 1 − confidence, found by bisection to
// 1e-6 (0 when even ε = 0 is not rejected). An algorithm that is (ε, δ)-DP
// for a smaller ε would have produced v or more correct guesses with
// probability below 1 − confidence.
//
// It panics like OneRunPValue, or if confidence is outside (0, 1).
func OneRunEpsilon(m, r, v int, delta, confidence float64) float64 {
	if !(confidence > 0 && confidence < 1) {
		panic(fmt.Sprintf("audit: OneRunEpsilon: confidence %v outside (0, 1)", confidence))
	}
	a := 1 - confidence
	if OneRunPValue(m, r, v, 0, delta) >= a {
		return 0
	}
	lo, hi := 0.0, 1.0
	for OneRunPValue(m, r, v, hi, delta) < a {
		lo, hi = hi, 2*hi
		if hi > 1e3 {
			return math.Inf(1)
		}
	}
	for hi-lo > 1e-6 {
		mid := (lo + hi) / 2
		if OneRunPValue(m, r, v, mid, delta) < a {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// OneRunBound is the outcome of a one-run audit.
type OneRunBound struct {
	// Epsilon is the lower bound, at Delta and Confidence.
	Epsilon, Delta, Confidence float64
	// Canaries is m; Guesses is r = 2·K (the K highest scores guessed in,
	// the K lowest out); Correct is v.
	Canaries, Guesses, Correct, K int
}

// String formats the bound with its counts.
func (b OneRunBound) String() string {
	return fmt.Sprintf("ε ≥ %.3f at δ=%g (%.0f%% confidence; %d of %d guesses right among %d canaries)",
		b.Epsilon, b.Delta, 100*b.Confidence, b.Correct, b.Guesses, b.Canaries)
}

// OneRun audits one training run with m = len(scores) canaries, canary i
// included when in[i], each independently with probability ½: for each K
// in ks it guesses the K highest-scored canaries in and the K lowest out,
// counts the correct guesses and applies OneRunEpsilon at confidence
// 1 − (1−confidence)/len(ks) (a Bonferroni correction over the K tried).
// It returns the largest bound.
//
// It returns an error if the lengths differ, ks is empty or a K is not in
// [1, m/2].
func OneRun(scores []float64, in []bool, ks []int, delta, confidence float64) (OneRunBound, error) {
	m := len(scores)
	if len(in) != m {
		return OneRunBound{}, fmt.Errorf("audit: OneRun: %d scores but %d inclusion flags", m, len(in))
	}
	if len(ks) == 0 {
		return OneRunBound{}, fmt.Errorf("audit: OneRun: no guess counts K given")
	}
	if !(delta >= 0 && delta < 1) || !(confidence > 0 && confidence < 1) {
		return OneRunBound{}, fmt.Errorf("audit: OneRun: δ = %v must be in [0, 1) and confidence = %v in (0, 1)", delta, confidence)
	}
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case scores[a] < scores[b]:
			return -1
		case scores[a] > scores[b]:
			return 1
		}
		return 0
	})
	conf := 1 - (1-confidence)/float64(len(ks))
	best := OneRunBound{Delta: delta, Confidence: confidence, Canaries: m}
	for _, k := range ks {
		if k < 1 || 2*k > m {
			return OneRunBound{}, fmt.Errorf("audit: OneRun: K = %d guesses per side is outside [1, %d] for %d canaries", k, m/2, m)
		}
		v := 0
		for _, i := range order[:k] {
			if !in[i] {
				v++
			}
		}
		for _, i := range order[m-k:] {
			if in[i] {
				v++
			}
		}
		if e := OneRunEpsilon(m, 2*k, v, delta, conf); e > best.Epsilon || best.K == 0 {
			best.Epsilon, best.Guesses, best.Correct, best.K = e, 2*k, v, k
		}
	}
	return best, nil
}
