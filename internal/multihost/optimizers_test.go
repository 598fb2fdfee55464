package multihost_test

import (
	"fmt"
	"testing"

	"github.com/dpmpi/dpmpi/mpi"
	"github.com/dpmpi/dpmpi/mpi/mpitest"
	"github.com/dpmpi/dpmpi/optimizer"
	"github.com/dpmpi/dpmpi/optimizer/optimizertest"
	"github.com/dpmpi/dpmpi/perlayer"
	"github.com/dpmpi/dpmpi/simple"
)

var problem = optimizertest.Problem[float64]{
	Layers: []optimizer.LayerSpec{
		{Name: "conv", Shape: []int{2, 2, 3}, Len: 12},
		{Name: "fc", Len: 8},
		{Name: "bias", Len: 3},
	},
	Seed: 91,
}

// thresholds clip some samples of every layer and leave others alone;
// flat clipping uses their L2 norm.
var thresholds = []float64{1.2, 0.9, 0.4}

const flatThreshold = 1.5

func newUpdater(t *testing.T, kind string) optimizer.Updater[float64] {
	t.Helper()
	var u optimizer.Updater[float64]
	var err error
	switch kind {
	case "sgd-momentum":
		u, err = optimizer.NewSGD[float64](0.05, 0.9, 0, 1e-3, false)
	case "adam":
		u, err = optimizer.NewAdam[float64](0.01, 0.9, 0.999, 1e-8, 0)
	default:
		t.Fatalf("unknown updater %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// distributed names the three distributed optimizers (the hook-based one
// in both progress modes) and, for each, the single-process optimizer it
// must match.
var distributed = []string{"simple", "hooks-in-step", "hooks-concurrent", "flat"}

// newOptimizer returns optimizer kind over a for rank r of comm, or its
// single-process counterpart when comm is nil. The hook-based optimizer
// gets a small bucket size, so that its eager passes reduce several
// buckets, and is told the number of passes per step.
func newOptimizer(t *testing.T, kind string, passes int, a *optimizer.Arena[float64], u optimizer.Updater[float64], cfg optimizer.Config, comm optimizer.Communicator[float64]) optimizertest.Stepper[float64] {
	t.Helper()
	var o optimizertest.Stepper[float64]
	var err error
	switch {
	case kind == "flat" && comm == nil:
		o, err = optimizer.NewDPOptimizer(a, u, flatThreshold, cfg)
	case kind == "flat":
		o, err = optimizer.NewDistributedDPOptimizer(a, u, flatThreshold, cfg, comm)
	case comm == nil:
		o, err = perlayer.NewDPPerLayerOptimizer(a, u, thresholds, cfg)
	case kind == "simple":
		o, err = simple.New(a, u, thresholds, cfg, comm)
	default:
		var h *perlayer.DistributedPerLayerOptimizer[float64]
		h, err = perlayer.NewDistributedPerLayerOptimizer(a, u, thresholds, cfg, comm)
		if err == nil {
			err = h.SetBucketBytes(8 * 10)
		}
		if err == nil {
			err = h.SetPassesPerStep(max(passes, 1))
		}
		if err == nil && kind == "hooks-concurrent" {
			err = h.SetProgress(perlayer.ReduceConcurrently)
		}
		o = h
	}
	if err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	return o
}

// run drives optimizer kind through sc as rank r of w (comm nil: the
// single-process optimizer over the whole batch) and returns the
// parameters and the optimizer.
func run(t *testing.T, sc optimizertest.Scenario[float64], kind, updater string, comm optimizer.Communicator[float64], w, r int) ([]float64, optimizertest.Stepper[float64]) {
	t.Helper()
	a := sc.Problem.Arena()
	cfg := optimizer.Config{ExpectedBatchSize: float64(sc.Batch) / float64(w), Generator: optimizer.NewSeededGenerator(1)}
	o := newOptimizer(t, kind, sc.Passes, a, newUpdater(t, updater), cfg, comm)
	if err := sc.Run(o, w, r); err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	return a.Params, o
}

// TestOptimizers: with σ = 0, every distributed optimizer at 2 hosts × 2
// ranks over TCP (each rank a shard of one global batch) ends with the
// parameters of the single-process optimizer over the whole batch, within
// 1e-12 relative, for SGD-momentum and Adam, k = 2 accumulated passes,
// virtual steps and an empty shard. The hook-based optimizer must have
// reduced its passes eagerly, bucket by bucket, after the first step.
func TestOptimizers(t *testing.T) {
	hostsUp(t)
	mpitest.Run(t, []int{np}, func(t *testing.T, comm *mpi.Comm) {
		w, r := comm.Size(), comm.Rank()
		init := problem.Arena().Params
		for _, kind := range distributed {
			for _, ns := range optimizertest.EquivalenceScenarios(problem) {
				for _, updater := range []string{"sgd-momentum", "adam"} {
					name := fmt.Sprintf("%s/%s/%s", kind, ns.Name, updater)
					want, _ := run(t, ns.Scenario, kind, updater, nil, 1, 0)
					got, o := run(t, ns.Scenario, kind, updater, comm, w, r)
					if d := optimizertest.RelDiff(got, want); d > 1e-12 {
						t.Errorf("%s rank %d of %d: relative difference %g from the single-process optimizer", name, r, w, d)
					}
					if optimizertest.RelDiff(got, init) < 1e-3 {
						t.Errorf("%s: the parameters barely moved; the test cannot tell optimizers apart", name)
					}
					if h, ok := o.(*perlayer.DistributedPerLayerOptimizer[float64]); ok && h.EagerSteps() == 0 {
						t.Errorf("%s: no step was reduced eagerly (%d buckets)", name, h.NumBuckets())
					}
				}
			}
		}
	})
}
