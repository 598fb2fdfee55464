package optimizer_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/mpi"
	"github.com/dpmpi/dpmpi/mpi/mpitest"
	"github.com/dpmpi/dpmpi/optimizer"
	"github.com/dpmpi/dpmpi/optimizer/optimizertest"
)

func TestMain(m *testing.M) { mpitest.Main(m) }

// With σ = 0, DistributedDPOptimizer over real MPI at W = 1..4 (each rank a
// shard of one global batch) matches the single-process DPOptimizer within
// 1e-12 relative, with SGD-momentum and Adam, with k = 2, virtual steps and
// an empty shard; the float32 optimizers over MPI_FLOAT reductions stay
// within f32Tol of it.
func TestDistributedEquivalenceMPI(t *testing.T) {
	mpitest.Run(t, []int{1, 2, 3, 4}, func(t *testing.T, comm *mpi.Comm) {
		checkEquivalence(t, comm, comm.Size(), comm.Rank())
		checkEquivalence32(t, mpi.For[float32](comm), comm.Size(), comm.Rank())
	})
}

// Under real MPI: the noise of the reduced gradient has std σC/(B_w·k·W)
// (rank 0 only), seeded runs reproduce bit for bit, a non-finite gradient
// on rank 1 is an error on every rank, and a σ that differs between ranks
// is reported on every rank. None of these may hang.
func TestDistributedRobustnessMPI(t *testing.T) {
	mpitest.Run(t, []int{2, 3}, func(t *testing.T, comm *mpi.Comm) {
		w, r := comm.Size(), comm.Rank()
		const sigma, c, bw = 1.5, 2.0, 4.0
		noisy := func(seed uint64) []float64 {
			a := oneLayer(t, noiseN)
			cfg := optimizer.Config{NoiseMultiplier: sigma, ExpectedBatchSize: bw, Generator: optimizer.NewSeededGenerator(seed + uint64(r))}
			o, err := optimizer.NewDistributedDPOptimizer(a, mustSGD(t, 0), c, cfg, comm)
			if err != nil {
				t.Fatal(err)
			}
			if err := o.AddBackward([]optimizer.GradSource[float64]{optimizer.NewDenseSource[float64](0, noiseN, nil)}); err != nil {
				t.Fatal(err)
			}
			if _, err := o.Step(); err != nil {
				t.Fatal(err)
			}
			return a.Grads
		}
		g1, g2 := noisy(5), noisy(5)
		if optimizertest.RelDiff(g1, g2) != 0 {
			t.Error("two runs with the same seed differ")
		}
		want := sigma * c / (bw * float64(w))
		if _, s := meanStd(g1); math.Abs(s/want-1) > noiseTol {
			t.Errorf("W=%d: noise std %v, want %v (ratio %v)", w, s, want, s/want)
		}

		// Non-finite gradient on rank 1.
		a := eqProblem.Arena()
		o, err := optimizer.NewDistributedDPOptimizer(a, newUpdater("adam"), 1, optimizer.Config{ExpectedBatchSize: 4}, comm)
		if err != nil {
			t.Fatal(err)
		}
		srcs := eqProblem.Sources(0, 0, 4*w, 4*r, 4*r+4)
		if r == 1 {
			srcs[0].(*optimizer.DenseSource[float64]).Row(2)[0] = math.NaN()
		}
		if err := o.AddBackward(srcs); err != nil {
			t.Fatal(err)
		}
		var nf *optimizer.NonFiniteError
		if _, err := o.Step(); !errors.As(err, &nf) || nf.Rank != 1 || nf.Sample != 2 || nf.Layer != "fc1" {
			t.Errorf("rank %d: Step = %v, want a non-finite error for rank 1, sample 2, layer fc1", r, err)
		}

		// σ differs on the last rank.
		cfg := optimizer.Config{ExpectedBatchSize: 4}
		if r == w-1 {
			cfg.NoiseMultiplier = 0.5
		}
		o, err = optimizer.NewDistributedDPOptimizer(eqProblem.Arena(), mustSGD(t, 1), 1, cfg, comm)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.AddBackward(eqProblem.Sources(0, 0, 4*w, 4*r, 4*r+4)); err != nil {
			t.Fatal(err)
		}
		if _, err := o.Step(); err == nil || !strings.Contains(err.Error(), "disagree on the noise multiplier") {
			t.Errorf("rank %d: Step = %v, want a disagreement on the noise multiplier", r, err)
		}
	})
}

// Ranks that build their optimizers in different precisions (rank 0 in
// float32, the others in float64) would reduce gradient buffers of
// different types and byte counts; the first step's status reduction,
// which is float64 on every rank, reports the disagreement on every rank
// before any gradient is reduced, instead of corrupting or hanging.
func TestMixedPrecisionMPI(t *testing.T) {
	mpitest.Run(t, []int{2, 3}, func(t *testing.T, comm *mpi.Comm) {
		r := comm.Rank()
		cfg := optimizer.Config{ExpectedBatchSize: 4}
		var err error
		if r == 0 {
			err = mixedStep(optimizertest.Problem[float32]{Layers: eqProblem.Layers, Seed: 1}, mpi.For[float32](comm), cfg, comm.Size(), r)
		} else {
			err = mixedStep(optimizertest.Problem[float64]{Layers: eqProblem.Layers, Seed: 1}, comm, cfg, comm.Size(), r)
		}
		if err == nil || !strings.Contains(err.Error(), "disagree on the precision") {
			t.Errorf("rank %d: Step = %v, want a disagreement on the precision", r, err)
		}
	})
}

// mixedStep runs one step of a DistributedDPOptimizer in precision F.
func mixedStep[F optimizer.Float](p optimizertest.Problem[F], comm optimizer.Communicator[F], cfg optimizer.Config, w, r int) error {
	o, err := optimizer.NewDistributedDPOptimizer(p.Arena(), newUpdaterOf[F]("adam"), 1, cfg, comm)
	if err != nil {
		return err
	}
	if err := o.AddBackward(p.Sources(0, 0, 4*w, 4*r, 4*r+4)); err != nil {
		return err
	}
	_, err = o.Step()
	return err
}

// Under real MPI at W = 1..4, with noise (rank 0's count noise, a different
// generator and different norms on every rank), adaptive thresholds stay
// bit for bit the same on every rank, and they move.
func TestAdaptiveIdenticalMPI(t *testing.T) {
	mpitest.Run(t, []int{1, 2, 3, 4}, func(t *testing.T, comm *mpi.Comm) {
		w, r := comm.Size(), comm.Rank()
		a, err := optimizer.NewArena[float64](optimizer.LayerSpec{Name: "a", Len: 1}, optimizer.LayerSpec{Name: "b", Len: 1}, optimizer.LayerSpec{Name: "c", Len: 1})
		if err != nil {
			t.Fatal(err)
		}
		cfg := optimizer.Config{NoiseMultiplier: 1, ExpectedBatchSize: 16, Generator: optimizer.NewSeededGenerator(uint64(9 + r)),
			Adaptive: &optimizer.QuantileClipping{TargetQuantile: 0.6, LearningRate: 0.2, CountNoiseStd: 4}}
		e, err := optimizer.NewEngine(a, mustSGD(t, 0.1), optimizer.PerLayerClipping([]float64{1, 1, 1}), cfg, comm)
		if err != nil {
			t.Fatal(err)
		}
		gen := optimizer.NewSeededGenerator(uint64(100 + r))
		for s := range 20 {
			srcs := make([]optimizer.GradSource[float64], 3)
			for l := range srcs {
				rows := make([]float64, 8+r+s%3) // ranks hold different numbers of samples
				for i := range rows {
					rows[i] = float64(l+1) * gen.NormFloat64()
				}
				srcs[l] = optimizer.NewDenseSource(len(rows), 1, rows)
			}
			stepOnce(t, e, srcs)
		}
		th := e.Clipping().Thresholds()
		all := make([]float64, 3*w) // every rank's thresholds, gathered by a sum
		copy(all[3*r:], th)
		if err := comm.AllreduceSum(all); err != nil {
			t.Fatal(err)
		}
		for q := range w {
			for l := range 3 {
				if all[3*q+l] != th[l] {
					t.Errorf("rank %d: rank %d's threshold %d is %v, this rank's %v", r, q, l, all[3*q+l], th[l])
				}
			}
		}
		if th[0] == 1 || th[1] == 1 || th[2] == 1 {
			t.Errorf("thresholds %v did not move", th)
		}
	})
}
