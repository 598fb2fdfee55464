package main

import (
	"fmt"
	"math"
	"slices"

	"github.com/dpmpi/dpmpi/accountant"
)

// The budget guard (--max-epsilon, or --target-epsilon) stops training
// before any step that would make ε exceed the budget. planBudget finds,
// before the first step, the largest number of steps the budget allows
// after the run's prior (the features' mean of --center-norm); the loop
// then stops when the accountant would record more (rank 0 decides, every
// rank stops at the same step through stepFlags).

// epsFor returns ε of the prior followed by n steps of the run's (σ, q)
// with the given mechanism.
func epsFor(m accountant.Mechanism, prior accountant.History, sigma, q float64, n int, delta float64) (float64, error) {
	h := slices.Clone(prior)
	if n > 0 {
		h = h.Add(sigma, q, n)
	}
	if len(h) == 0 {
		return 0, nil
	}
	return m.Epsilon(h, delta)
}

// stepsRecorded returns the number of steps the accountant holds, the
// prior's release left out (recorded first, or not yet: planBudget runs
// before a fresh run records it).
func (p *privacy) stepsRecorded() int {
	return max(0, p.acct.History().Steps()-p.prior.Steps())
}

// planBudget sets maxSteps, the most steps the budget allows, searching up
// to the number the run would reach. It fails if the budget is already
// spent and steps remain.
func (t *trainer[F]) planBudget() error {
	p := &t.priv
	p.maxSteps = -1
	b := t.c.budget()
	if b == 0 {
		return nil
	}
	have := p.stepsRecorded()
	want := have + (t.plan.total - t.step)
	m := p.acct.Mechanism()
	ok := func(n int) (bool, error) {
		e, err := epsFor(m, p.prior, p.sigma, p.q, n, t.c.Delta)
		return e <= b, err
	}
	if p.sigma == 0 {
		p.maxSteps = 0
	} else if fine, err := ok(want); err != nil {
		return err
	} else if fine {
		p.maxSteps = want
	} else {
		lo, hi := 0, want // ok(lo) or lo == 0; !ok(hi)
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			f, err := ok(mid)
			if err != nil {
				return err
			}
			if f {
				lo = mid
			} else {
				hi = mid
			}
		}
		p.maxSteps = lo
	}
	if t.step < t.plan.total && p.maxSteps <= have {
		spent, _ := epsFor(m, p.prior, p.sigma, p.q, have, t.c.Delta)
		next, _ := epsFor(m, p.prior, p.sigma, p.q, have+1, t.c.Delta)
		return fmt.Errorf("privacy budget ε=%v (δ=%g, %s) is already exhausted at step %d: %d recorded steps%s spend ε=%.4g and one more step would reach ε=%.4g (σ=%v, q=%.6g); raise the budget, raise --sigma, or stop here",
			b, t.c.Delta, t.c.Accountant, t.step, have, priorText(p.prior), spent, next, p.sigma, p.q)
	}
	return nil
}

// priorText names the prior in messages about the budget.
func priorText(prior accountant.History) string {
	if prior == nil {
		return ""
	}
	return " and the features' mean"
}

// overBudget tells whether one more step would exceed the number of steps
// the budget allows.
func (p *privacy) overBudget() bool {
	return p.maxSteps >= 0 && p.stepsRecorded()+1 > p.maxSteps
}

// stopsEarly tells whether the budget guard will stop the run before its
// remaining steps are done.
func (t *trainer[F]) stopsEarly() bool {
	p := &t.priv
	return p.maxSteps >= 0 && p.maxSteps < p.stepsRecorded()+(t.plan.total-t.step)
}

// epsilon returns ε spent so far by the run's accountant (NaN if it cannot
// tell).
func (t *trainer[F]) epsilon() float64 {
	if t.priv.acct.History().Steps() == 0 {
		return 0
	}
	e, err := t.priv.acct.Epsilon(t.c.Delta)
	if err != nil {
		return math.NaN()
	}
	return e
}
