package perlayer

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/dpmpi/dpmpi/mpi"
	"github.com/dpmpi/dpmpi/mpi/mpitest"
	"github.com/dpmpi/dpmpi/nn"
	"github.com/dpmpi/dpmpi/optimizer"
	"github.com/dpmpi/dpmpi/optimizer/optimizertest"
	"github.com/dpmpi/dpmpi/simple"
	"gonum.org/v1/gonum/floats"
)

// Multi-rank benchmarks. Run them with a fixed iteration count, for example
//
//	go test -c -o /tmp/perlayer.test ./perlayer
//	DPMPI_MPITEST_CHILD=1 mpirun --allow-run-as-root -np 2 /tmp/perlayer.test \
//	    -test.run='^$' -test.bench='Communication|Overlap' -test.benchtime=20x
//
// Without a launcher they skip.

// nopUpdater leaves the parameters alone, so that a step's time is the
// optimizer's own work: scaling and communication.
type nopUpdater struct{}

func (nopUpdater) Update(params, grads []float64)    {}
func (nopUpdater) SetLearningRate(float64)           {}
func (nopUpdater) LearningRate() float64             { return 0 }
func (nopUpdater) MarshalBinary() ([]byte, error)    { return nil, nil }
func (nopUpdater) UnmarshalBinary(data []byte) error { return nil }

// benchModel returns an arena of four equal layers holding params values
// in total, and for each layer a source of zero samples (so that clipping
// costs nothing and a step measures noise-free scaling and reduction).
func benchModel(b *testing.B, params int) (*optimizer.Arena[float64], []optimizer.GradSource[float64], []float64) {
	specs := make([]optimizer.LayerSpec, 4)
	srcs := make([]optimizer.GradSource[float64], 4)
	for l := range specs {
		specs[l] = optimizer.LayerSpec{Name: fmt.Sprint("layer", l), Len: params / 4}
		srcs[l] = optimizer.NewDenseSource[float64](0, params/4, nil)
	}
	a, err := optimizer.NewArena[float64](specs...)
	if err != nil {
		b.Fatal(err)
	}
	return a, srcs, []float64{1, 1, 1, 1}
}

func barrier(b *testing.B, c *mpi.Comm) {
	if err := c.Barrier(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCommunication measures, in the same run and interleaved
// iteration by iteration, a raw AllreduceSum of a model-sized buffer (four
// layers), a step of SimpleDistributedPerLayerOptimizer and the signals
// plus step of DistributedPerLayerOptimizer (dist: ReduceInStep, conc:
// ReduceConcurrently with the default bucket size) on the same bytes (empty
// batches, σ = 0, an update that does nothing). It reports the times and
// their ratios to the raw reduction (medians over the iterations), and the
// time of one scaling pass over the buffer (scale-µs), which both
// optimizers must make (×1/(B_w·k·W)) and the raw reduction does not.
func BenchmarkCommunication(b *testing.B) {
	for _, params := range []int{1 << 19, 1 << 20, 4 << 20} {
		b.Run(fmt.Sprintf("params=%d", params), func(b *testing.B) {
			c := mpitest.BenchWorld(b)
			cfg := optimizer.Config{ExpectedBatchSize: 8, Generator: optimizer.NewSeededGenerator(1)}
			sa, srcs, cs := benchModel(b, params)
			sim, err := simple.New(sa, nopUpdater{}, cs, cfg, c)
			if err != nil {
				b.Fatal(err)
			}
			da, _, _ := benchModel(b, params)
			dist, err := NewDistributedPerLayerOptimizer(da, nopUpdater{}, cs, cfg, c)
			if err != nil {
				b.Fatal(err)
			}
			ca, _, _ := benchModel(b, params)
			conc, err := NewDistributedPerLayerOptimizer(ca, nopUpdater{}, cs, cfg, c)
			if err != nil {
				b.Fatal(err)
			}
			if err := conc.SetProgress(ReduceConcurrently); err != nil {
				b.Fatal(err)
			}
			raw := make([]float64, params)
			var tRaw, tSim, tDist, tConc, tScale []time.Duration
			iter := func(count bool) {
				barrier(b, c)
				t0 := time.Now()
				if err := c.AllreduceSum(raw); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				floats.Scale(0.5, raw)
				t1s := time.Now()

				if err := sim.AddBackward(srcs); err != nil {
					b.Fatal(err)
				}
				barrier(b, c)
				t2 := time.Now()
				if _, err := sim.Step(); err != nil {
					b.Fatal(err)
				}
				t3 := time.Now()
				sim.ZeroGrad()

				barrier(b, c)
				t4 := time.Now()
				for l := len(srcs) - 1; l >= 0; l-- {
					if err := dist.LayerReady(l, srcs[l]); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := dist.Step(); err != nil {
					b.Fatal(err)
				}
				t5 := time.Now()
				dist.ZeroGrad()

				barrier(b, c)
				t6 := time.Now()
				for l := len(srcs) - 1; l >= 0; l-- {
					if err := conc.LayerReady(l, srcs[l]); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := conc.Step(); err != nil {
					b.Fatal(err)
				}
				t7 := time.Now()
				conc.ZeroGrad()
				if count {
					tConc = append(tConc, t7.Sub(t6))
					tRaw = append(tRaw, t1.Sub(t0))
					tScale = append(tScale, t1s.Sub(t1))
					tSim = append(tSim, t3.Sub(t2))
					tDist = append(tDist, t5.Sub(t4))
				}
			}
			iter(false) // the first (checked) step is not eager
			iter(false)
			b.SetBytes(int64(8 * params))
			b.ResetTimer()
			for range b.N {
				iter(true)
			}
			b.StopTimer()
			if dist.EagerSteps() != b.N+1 || conc.EagerSteps() != b.N+1 {
				b.Fatalf("%d and %d eager steps, want %d", dist.EagerSteps(), conc.EagerSteps(), b.N+1)
			}
			r, sm, d := median(tRaw), median(tSim), median(tDist)
			b.ReportMetric(float64(r.Microseconds()), "raw-µs")
			b.ReportMetric(float64(sm.Microseconds()), "simple-µs")
			b.ReportMetric(float64(d.Microseconds()), "dist-µs")
			b.ReportMetric(float64(median(tScale).Microseconds()), "scale-µs")
			b.ReportMetric(float64(sm)/float64(r), "simple/raw")
			b.ReportMetric(float64(d)/float64(r), "dist/raw")
			cc := median(tConc)
			b.ReportMetric(float64(cc.Microseconds()), "conc-µs")
			b.ReportMetric(float64(cc)/float64(r), "conc/raw")
			b.ReportMetric(float64(slices.Min(tDist))/float64(slices.Min(tRaw)), "dist/raw-min")
			b.ReportMetric(float64(slices.Min(tSim))/float64(slices.Min(tRaw)), "simple/raw-min")
		})
	}
}

// median returns the median of ts (reordering ts). Medians rather than
// means keep the numbers usable on a machine shared with other jobs.
func median(ts []time.Duration) time.Duration {
	slices.Sort(ts)
	return ts[len(ts)/2]
}

// spin is a fixed amount of floating-point work that touches no memory:
// the simulated backward computation of one layer.
func spin(n int) float64 {
	x := 1.0
	for range n {
		x = x*0.9999999 + 1e-7
	}
	return x
}

// overlapBench holds a simulated backward pass: four layers, each taking a
// fixed amount of computation comparable to its reduction.
type overlapBench struct {
	c     *mpi.Comm
	a     *optimizer.Arena[float64]
	srcs  []optimizer.GradSource[float64]
	work  int
	bsink float64
}

// calibrate sets o.work so that one layer's computation takes about as
// long as the AllreduceSum of one layer, averaged over the ranks so that
// every rank computes the same amount.
func (o *overlapBench) calibrate(b *testing.B) {
	layer := o.a.Grad(0)
	ts := make([]time.Duration, 9)
	for i := range ts {
		barrier(b, o.c)
		t0 := time.Now()
		if err := o.c.AllreduceSum(layer); err != nil {
			b.Fatal(err)
		}
		ts[i] = time.Since(t0)
	}
	red := median(ts)
	const probe = 1 << 22
	t0 := time.Now()
	o.bsink += spin(probe)
	perIter := float64(time.Since(t0)) / probe
	w := []float64{float64(red) / perIter}
	if err := o.c.AllreduceSum(w); err != nil {
		b.Fatal(err)
	}
	o.work = int(w[0] / float64(o.c.Size()))
}

// backward runs the simulated backward pass, with work iterations of
// computation per layer, calling ready (if not nil) after each layer.
func (o *overlapBench) backward(b *testing.B, work int, ready func(l int) error) {
	for l := len(o.srcs) - 1; l >= 0; l-- {
		o.bsink += spin(work)
		if ready != nil {
			if err := ready(l); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkOverlap measures how much of the gradient reduction a strategy
// hides behind a simulated backward pass (1 Mi parameters in four layers,
// one bucket per layer, per layer a busy loop as long as the layer's
// AllreduceSum). For each strategy, in the same run and iteration by
// iteration, it times the backward computation alone (T_b), the reduction
// alone (T_r: signals and Step without computation, or the raw requests)
// and both together (T_o), and reports hidden = (T_b + T_r − T_o)/T_r.
//
// Strategies: "in-step" is DistributedPerLayerOptimizer with ReduceInStep
// (noise and scale per bucket during the pass, one AllreduceSum in Step);
// "goroutine" is ReduceConcurrently (a communication goroutine running
// blocking AllreduceSum per bucket); "iallreduce-test"
// starts MPI_Iallreduce per layer and calls MPI_Test on the outstanding
// requests at every later layer boundary, then waits; "iallreduce-wait"
// starts MPI_Iallreduce per layer and only waits at the end.
func BenchmarkOverlap(b *testing.B) {
	const params = 1 << 20
	for _, strategy := range []string{"in-step", "goroutine", "iallreduce-test", "iallreduce-wait"} {
		b.Run("progress="+strategy, func(b *testing.B) {
			c := mpitest.BenchWorld(b)
			a, srcs, cs := benchModel(b, params)
			o := &overlapBench{c: c, a: a, srcs: srcs}
			o.calibrate(b)
			dist, err := NewDistributedPerLayerOptimizer(a, nopUpdater{}, cs, optimizer.Config{ExpectedBatchSize: 8, Generator: optimizer.NewSeededGenerator(1)}, c)
			if err != nil {
				b.Fatal(err)
			}
			if err := dist.SetBucketBytes(8 * params / 4); err != nil {
				b.Fatal(err)
			}
			if strategy == "goroutine" {
				if err := dist.SetProgress(ReduceConcurrently); err != nil {
					b.Fatal(err)
				}
			}
			reqs := make([]*mpi.Request, 0, 4)
			var reduce func(l int) error
			var finish func() error
			switch strategy {
			case "in-step", "goroutine":
				reduce = func(l int) error { return dist.LayerReady(l, srcs[l]) }
				finish = func() error {
					_, err := dist.Step()
					dist.ZeroGrad()
					return err
				}
			default:
				test := strategy == "iallreduce-test"
				reduce = func(l int) error {
					if test {
						for _, r := range reqs {
							if _, err := r.Test(); err != nil {
								return err
							}
						}
					}
					r, err := c.Iallreduce(a.Grad(l))
					reqs = append(reqs, r)
					return err
				}
				finish = func() error {
					for _, r := range reqs {
						if err := r.Wait(); err != nil {
							return err
						}
					}
					reqs = reqs[:0]
					return nil
				}
			}
			tb, tr, to := make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N), make([]time.Duration, 0, b.N)
			iter := func(count bool) {
				barrier(b, c)
				t0 := time.Now()
				o.backward(b, o.work, nil)
				t1 := time.Now()

				barrier(b, c)
				t2 := time.Now()
				o.backward(b, 0, reduce)
				if err := finish(); err != nil {
					b.Fatal(err)
				}
				t3 := time.Now()

				barrier(b, c)
				t4 := time.Now()
				o.backward(b, o.work, reduce)
				if err := finish(); err != nil {
					b.Fatal(err)
				}
				t5 := time.Now()
				if count {
					tb = append(tb, t1.Sub(t0))
					tr = append(tr, t3.Sub(t2))
					to = append(to, t5.Sub(t4))
				}
			}
			iter(false) // the first (checked) step is not eager
			iter(false)
			b.ResetTimer()
			for range b.N {
				iter(true)
			}
			b.StopTimer()
			if (strategy == "goroutine" || strategy == "in-step") && dist.EagerSteps() != 2*b.N+3 {
				b.Fatalf("%d eager steps, want %d", dist.EagerSteps(), 2*b.N+3)
			}
			if o.bsink == 0 {
				b.Log("unreachable: keeps the computation alive")
			}
			mb, mr, mo := median(tb), median(tr), median(to)
			b.ReportMetric(float64(mb.Microseconds()), "backward-µs")
			b.ReportMetric(float64(mr.Microseconds()), "reduce-µs")
			b.ReportMetric(float64(mo.Microseconds()), "overlapped-µs")
			b.ReportMetric(100*float64(mb+mr-mo)/float64(mr), "hidden-%")
			// The minima estimate the times on an otherwise idle machine.
			nb, nr, no := slices.Min(tb), slices.Min(tr), slices.Min(to)
			b.ReportMetric(100*float64(nb+nr-no)/float64(nr), "hidden-min-%")
		})
	}
}

// BenchmarkFoldedStep measures one folded step of DistributedPerLayerOptimizer
// in one process (a world of one in-memory rank): a pass that starts from a
// zero buffer, so the scale 1/(B_w·k·W) is folded into the clip weights,
// over four equal layers of dense per-sample gradients (block noise; σ = 0
// isolates the clipping), then Step. The per-sample blocks (batch × params values) are larger than
// the last-level cache for the larger size, where reading them once
// (ClipAdd) instead of twice (Norms, then AddWeighted) shows.
func BenchmarkFoldedStep(b *testing.B) {
	for _, sz := range []struct {
		batch, params int
		sigma         float64
	}{{32, 1 << 14, 1}, {32, 1 << 18, 0}, {32, 1 << 18, 1}} {
		b.Run(fmt.Sprintf("batch=%d/params=%d/sigma=%g", sz.batch, sz.params, sz.sigma), func(b *testing.B) {
			n := sz.params / 4
			specs := make([]optimizer.LayerSpec, 4)
			srcs := make([]optimizer.GradSource[float64], 4)
			for l := range specs {
				specs[l] = optimizer.LayerSpec{Name: fmt.Sprint("layer", l), Len: n}
				data := make([]float64, sz.batch*n)
				for i := range data {
					data[i] = float64((i*7919+l)%1000)/500 - 1
				}
				srcs[l] = optimizer.NewDenseSource(sz.batch, n, data)
			}
			a, err := optimizer.NewArena[float64](specs...)
			if err != nil {
				b.Fatal(err)
			}
			cfg := optimizer.Config{NoiseMultiplier: sz.sigma, ExpectedBatchSize: float64(sz.batch), Generator: optimizer.NewBlockGenerator(1)}
			o, err := NewDistributedPerLayerOptimizer(a, nopUpdater{}, []float64{1, 1, 1, 1}, cfg, optimizertest.NewWorld[float64](1).Comm(0))
			if err != nil {
				b.Fatal(err)
			}
			step := func() {
				if err := o.AddBackward(srcs); err != nil {
					b.Fatal(err)
				}
				if _, err := o.Step(); err != nil {
					b.Fatal(err)
				}
				o.ZeroGrad()
			}
			step() // the first (checked) step is not eager
			step()
			b.SetBytes(int64(8 * sz.batch * sz.params))
			b.ResetTimer()
			for range b.N {
				step()
			}
			b.StopTimer()
			if o.EagerSteps() != b.N+1 {
				b.Fatalf("%d eager steps, want %d", o.EagerSteps(), b.N+1)
			}
		})
	}
}

// BenchmarkFoldedStepCNN is BenchmarkFoldedStep through a real model: the
// MNIST-sized CNN of nn's benchmarks (two convolutions, 26,010 parameters),
// a batch of 64, forward, loss and backward with LayerReady as the ready
// hook, then Step (σ = 1). Its convolutions' sources implement ClipAdder,
// which clips without materialising the per-sample gradients.
func BenchmarkFoldedStepCNN(b *testing.B) {
	const n = 64
	m, err := nn.NewSequential[float64]([]int{1, 28, 28},
		nn.NewConv2d[float64](1, 16, 8, 2, 3), nn.Tanh[float64](), nn.NewMaxPool2d[float64](2, 1),
		nn.NewConv2d[float64](16, 32, 4, 2, 0), nn.Tanh[float64](), nn.NewMaxPool2d[float64](2, 1),
		nn.Flatten[float64](), nn.NewLinear[float64](32*4*4, 32), nn.Tanh[float64](), nn.NewLinear[float64](32, 10))
	if err != nil {
		b.Fatal(err)
	}
	a, err := m.NewArena(1)
	if err != nil {
		b.Fatal(err)
	}
	cs := make([]float64, m.NumLayers())
	for i := range cs {
		cs[i] = 1
	}
	cfg := optimizer.Config{NoiseMultiplier: 1, ExpectedBatchSize: n, Generator: optimizer.NewBlockGenerator(1)}
	o, err := NewDistributedPerLayerOptimizer(a, nopUpdater{}, cs, cfg, optimizertest.NewWorld[float64](1).Comm(0))
	if err != nil {
		b.Fatal(err)
	}
	x := make([]float64, n*784)
	for i := range x {
		x[i] = math.Sin(float64(i))
	}
	y := make([]int, n)
	for i := range y {
		y[i] = i % 10
	}
	d := make([]float64, n*10)
	step := func() {
		out := m.Forward(x, n)
		if err := nn.SoftmaxCrossEntropy(out, y, 10, nil, d); err != nil {
			b.Fatal(err)
		}
		if err := m.Backward(d, o.LayerReady); err != nil {
			b.Fatal(err)
		}
		if _, err := o.Step(); err != nil {
			b.Fatal(err)
		}
		o.ZeroGrad()
	}
	step() // the first (checked) step is not eager
	step()
	b.ResetTimer()
	for range b.N {
		step()
	}
	b.StopTimer()
	if o.EagerSteps() != b.N+1 {
		b.Fatalf("%d eager steps, want %d", o.EagerSteps(), b.N+1)
	}
}

// timedComm is a Communicator that adds the wall time spent in its
// blocking AllreduceSum to spent.
type timedComm struct {
	optimizer.Communicator[float64]
	spent time.Duration
}

func (c *timedComm) AllreduceSum(buf []float64) error {
	t0 := time.Now()
	err := c.Communicator.AllreduceSum(buf)
	c.spent += time.Since(t0)
	return err
}

// BenchmarkNoiseMode compares rank-0 noise with sharded noise under mpirun
// (W = 2..4), for Simple and the hook-based optimizer (ReduceInStep), on an
// MLP-sized arena (535,818 parameters: 784-512-256-10) and a 10,485,760-
// parameter one: each step is an empty batch, σ = 1 block noise, the
// scaling, the sum-Allreduce and an update that does nothing, so the step
// is the optimizer's own work. ms/op is the whole step (the reduction
// synchronises the ranks); r0-work-ms is rank 0's step minus its time in
// the reduction, which is what the other ranks wait for; wait-ms is the
// largest time another rank spends in the reduction, per step.
func BenchmarkNoiseMode(b *testing.B) {
	w := mpitest.World()
	if w == nil {
		b.Skip("a multi-rank benchmark: run it under mpirun (see scripts/bench.sh noise)")
	}
	for _, model := range []struct {
		name   string
		params int
	}{{"mlp", 535_818}, {"10M", 10 << 20}} {
		for _, opt := range []string{"simple", "hooks"} {
			for _, mode := range []optimizer.NoiseMode{optimizer.RankZeroNoise, optimizer.ShardedNoise} {
				b.Run(fmt.Sprintf("model=%s/opt=%s/noise=%s/W=%d", model.name, opt, mode, w.Size()), func(b *testing.B) {
					benchNoiseMode(b, mpitest.BenchWorld(b), model.params, opt, mode)
				})
			}
		}
	}
}

func benchNoiseMode(b *testing.B, world *mpi.Comm, params int, opt string, mode optimizer.NoiseMode) {
	a, srcs, cs := benchModel(b, params)
	comm := &timedComm{Communicator: world}
	cfg := optimizer.Config{NoiseMultiplier: 1, ExpectedBatchSize: 16, NoiseMode: mode,
		Generator: optimizer.NewBlockGenerator(uint64(world.Rank()) + 1)}
	var step func() error
	if opt == "simple" {
		o, err := simple.New(a, nopUpdater{}, cs, cfg, comm)
		if err != nil {
			b.Fatal(err)
		}
		step = func() error {
			if err := o.AddBackward(srcs); err != nil {
				return err
			}
			_, err := o.Step()
			o.ZeroGrad()
			return err
		}
	} else {
		o, err := NewDistributedPerLayerOptimizer(a, nopUpdater{}, cs, cfg, comm)
		if err != nil {
			b.Fatal(err)
		}
		defer o.Close()
		step = func() error {
			if err := o.AddBackward(srcs); err != nil {
				return err
			}
			_, err := o.Step()
			o.ZeroGrad()
			return err
		}
	}
	for range 2 { // the checked first step, then a warm one
		if err := step(); err != nil {
			b.Fatal(err)
		}
	}
	barrier(b, world)
	comm.spent = 0
	b.ResetTimer()
	t0 := time.Now()
	for range b.N {
		if err := step(); err != nil {
			b.Fatal(err)
		}
	}
	total := time.Since(t0)
	b.StopTimer()
	// Every rank's time in the reduction, in its own slot.
	spent := make([]float64, world.Size())
	spent[world.Rank()] = comm.spent.Seconds()
	if err := world.AllreduceSum(spent); err != nil {
		b.Fatal(err)
	}
	n := float64(b.N)
	b.ReportMetric((total.Seconds()-spent[0])/n*1e3, "r0-work-ms")
	b.ReportMetric(slices.Max(spent[1:])/n*1e3, "wait-ms")
}
