package perlayer_test

import (
	"fmt"
	"math"
	"sync"

	"github.com/dpmpi/dpmpi/nn"
	"github.com/dpmpi/dpmpi/optimizer"
	"github.com/dpmpi/dpmpi/optimizer/optimizertest"
	"github.com/dpmpi/dpmpi/perlayer"
)

// This example trains a small model on two ranks (simulated here by
// goroutines with an in-memory communicator; under mpirun pass the world
// *mpi.Comm instead). The model's backward pass hands each layer to the
// optimizer's LayerReady hook as soon as its per-sample gradients exist.
// With σ = 0 the result equals the single-process per-layer optimizer on
// the whole batch.
func ExampleDistributedPerLayerOptimizer() {
	const (
		n, features, classes, steps = 8, 4, 3, 5
		world                       = 2
	)
	x := make([]float64, n*features)
	labels := make([]int, n)
	for i := range x {
		x[i] = math.Sin(float64(i))
	}
	for i := range labels {
		labels[i] = i % classes
	}
	newModel := func() (*nn.Sequential[float64], *optimizer.Arena[float64]) {
		m, err := nn.NewSequential[float64]([]int{features}, nn.NewLinear[float64](features, 6), nn.Tanh[float64](), nn.NewLinear[float64](6, classes))
		if err != nil {
			panic(err)
		}
		a, err := m.NewArena(1) // the same seed on every rank
		if err != nil {
			panic(err)
		}
		return m, a
	}
	thresholds := []float64{1, 0.5}
	// One training step of samples [lo, hi) through the ready hook.
	backward := func(m *nn.Sequential[float64], lo, hi int, ready func(int, optimizer.GradSource[float64]) error) error {
		logits := m.Forward(x[lo*features:hi*features], hi-lo)
		dlogits := make([]float64, len(logits))
		if err := nn.SoftmaxCrossEntropy(logits, labels[lo:hi], classes, nil, dlogits); err != nil {
			return err
		}
		return m.Backward(dlogits, ready)
	}

	// Reference: one process, whole batch.
	refModel, refArena := newModel()
	sgd, _ := optimizer.NewSGD[float64](0.5, 0.9, 0, 0, false)
	ref, err := perlayer.NewDPPerLayerOptimizer(refArena, sgd, thresholds, optimizer.Config{ExpectedBatchSize: n})
	if err != nil {
		panic(err)
	}
	for range steps {
		srcs := make([]optimizer.GradSource[float64], 2)
		if err := backward(refModel, 0, n, func(l int, s optimizer.GradSource[float64]) error { srcs[l] = s; return nil }); err != nil {
			panic(err)
		}
		if err := ref.AddBackward(srcs); err != nil {
			panic(err)
		}
		if _, err := ref.Step(); err != nil {
			panic(err)
		}
		ref.ZeroGrad()
	}

	var mu sync.Mutex
	w := optimizertest.NewWorld[float64](world)
	errs := w.Run(func(rank int, comm *optimizertest.Comm[float64]) error {
		m, a := newModel()
		sgd, _ := optimizer.NewSGD[float64](0.5, 0.9, 0, 0, false)
		o, err := perlayer.NewDistributedPerLayerOptimizer(a, sgd, thresholds,
			optimizer.Config{ExpectedBatchSize: n / world, Generator: optimizer.NewSeededGenerator(7)}, comm)
		if err != nil {
			return err
		}
		if err := o.SetBucketBytes(1); err != nil { // one bucket per layer
			return err
		}
		lo, hi := optimizertest.Shard(n, world, rank)
		for range steps {
			if err := backward(m, lo, hi, o.LayerReady); err != nil {
				return err
			}
			if _, err := o.Step(); err != nil {
				return err
			}
			o.ZeroGrad()
		}
		if err := o.Close(); err != nil { // ends the optimizer's use (and its goroutine, if any)
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf("rank %d: %d steps (%d reduced during the backward pass), matches one process: %v\n",
			rank, o.Steps(), o.EagerSteps(), optimizertest.RelDiff(a.Params, refArena.Params) < 1e-12)
		return nil
	})
	for _, err := range errs {
		if err != nil {
			fmt.Println(err)
		}
	}
	// Unordered output:
	// rank 0: 5 steps (4 reduced during the backward pass), matches one process: true
	// rank 1: 5 steps (4 reduced during the backward pass), matches one process: true
}
