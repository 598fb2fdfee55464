package main

import (
	"fmt"

	"gonum.org/v1/gonum/floats"

	"github.com/dpmpi/dpmpi/accountant"
	"github.com/dpmpi/dpmpi/data"
	"github.com/dpmpi/dpmpi/dpmean"
	"github.com/dpmpi/dpmpi/internal/seed"
	"github.com/dpmpi/dpmpi/optimizer"
)

// --center-norm R subtracts a private estimate of the training features'
// mean (package dpmean, noise multiplier --center-sigma) from every
// training, test and view sample before the first step. The estimate is a
// release of its own: a fresh run records it in the ledger before it is
// made, as a record at sampling rate 1 with step number 0 and tag
// centerTag, and the accountant counts it before the steps (privacy.prior;
// --target-epsilon calibrates σ for the steps that follow it). The mean is
// kept in the checkpoint, so that a resumed run subtracts the same one and
// spends nothing again.

// centerTag is the ledger tag of the mean's record.
const centerTag = "center-mean"

// centerPrior returns the history of the mean's release, nil without
// --center-norm.
func centerPrior(c *config) accountant.History {
	if c.CenterNorm == 0 {
		return nil
	}
	return accountant.History{{NoiseMultiplier: c.CenterSigma, SampleRate: 1, Steps: 1}}
}

// centerIdentity is the run identity's record of the centring settings;
// empty without.
func centerIdentity(c *config) string {
	if c.CenterNorm == 0 {
		return ""
	}
	return fmt.Sprintf("norm=%v sigma=%v", c.CenterNorm, c.CenterSigma)
}

// recordCenter writes the ledger record of the mean (rank 0) and counts it
// in the accountant (every rank), before the mean is estimated. Nothing
// for a resumed run, whose ledger already holds the record.
func (t *trainer[F]) recordCenter() error {
	if t.priv.prior == nil || t.data.mean != nil {
		return nil
	}
	e := t.priv.prior[0]
	if t.priv.ledger != nil {
		if err := t.priv.ledger.AppendRecord(accountant.LedgerRecord{NoiseMultiplier: e.NoiseMultiplier, SampleRate: e.SampleRate, Tag: centerTag}); err != nil {
			return fmt.Errorf("recording the features' mean in the ledger: %w", err)
		}
	}
	return t.priv.acct.Step(e.NoiseMultiplier, e.SampleRate)
}

// center estimates the mean on a fresh run (collective: every rank sums a
// contiguous share of the training samples) and subtracts the run's mean
// from every sample.
func (t *trainer[F]) center() error {
	if t.priv.prior == nil {
		return nil
	}
	train := t.data.train.(*data.Table) // --center-norm applies to tables (validateCenter)
	dim, n := train.Dim(), train.Len()
	if t.data.mean == nil {
		var g optimizer.Generator
		var gerr error
		if t.rank == 0 {
			g, gerr = centerNoise(t.c)
		}
		// Every rank enters Mean; without a generator rank 0 fails there,
		// and the others with it.
		lo, hi := t.rank*n/t.world, (t.rank+1)*n/t.world
		m, err := dpmean.Mean(t.comm, train.Features[lo*dim:hi*dim], dim,
			dpmean.Config{ClipNorm: t.c.CenterNorm, NoiseMultiplier: t.c.CenterSigma, N: n, Secure: t.c.Secure}, g)
		if gerr != nil {
			return fmt.Errorf("--center-norm: the mean's noise generator: %w", gerr)
		}
		if err != nil {
			return fmt.Errorf("--center-norm: estimating the training features' mean: %w", err)
		}
		t.data.mean = m
	}
	if len(t.data.mean) != dim {
		return fmt.Errorf("--resume: the checkpoint's feature mean has %d values, the data's samples %d", len(t.data.mean), dim)
	}
	for _, l := range append([]labelled{train, t.data.test}, t.data.views...) {
		subtractMean(l.(*data.Table), t.data.mean)
	}
	return nil
}

// centerNoise returns the generator of the mean's noise: a stream of its
// own, seeded from --seed, or a secure one with --secure.
func centerNoise(c *config) (optimizer.Generator, error) {
	if c.Secure {
		g, err := optimizer.NewSecureGenerator()
		if err != nil {
			return nil, err // a nil interface, not a nil *SecureGenerator
		}
		return g, nil
	}
	return optimizer.NewSeededGenerator(seed.ForRank(c.Seed, "center", 0)), nil
}

// subtractMean subtracts mean from every sample of t.
func subtractMean(t *data.Table, mean []float64) {
	d := len(mean)
	for i := range t.Len() {
		floats.Sub(t.Features[i*d:(i+1)*d], mean)
	}
}

// centerText describes the run's mean for error messages.
func centerText(prior accountant.History) string {
	if prior == nil {
		return "not estimated (no --center-norm)"
	}
	return fmt.Sprintf("σ=%v q=%v, recorded first", prior[0].NoiseMultiplier, prior[0].SampleRate)
}
