package multihost_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/dpmpi/dpmpi/mpi/mpitest"
	"github.com/dpmpi/dpmpi/nn"
	"github.com/dpmpi/dpmpi/optimizer"
	"github.com/dpmpi/dpmpi/perlayer"
)

// Multi-rank benchmarks: run them across the hosts with a fixed iteration
// count, one rank per host, as scripts/scaling.sh does:
//
//	go test -c -o /tmp/multihost.test ./internal/multihost
//	DPMPI_MPITEST_CHILD=1 scripts/netns-mpirun.sh -np 2 --map-by node /tmp/multihost.test \
//	    -test.run='^$' -test.bench=OverlapModel -test.benchtime=30x

// nopUpdater leaves the parameters alone, so that every iteration runs the
// same computation.
type nopUpdater struct{}

func (nopUpdater) Update(params, grads []float64)    {}
func (nopUpdater) MarshalBinary() ([]byte, error)    { return nil, nil }
func (nopUpdater) UnmarshalBinary(data []byte) error { return nil }
func (nopUpdater) SetLearningRate(float64)           {}
func (nopUpdater) LearningRate() float64             { return 0 }

// silentComm is a communicator of the real rank and size that moves no
// data: the optimizer over it does every computation of a distributed step
// (clipping, rank 0's noise, scaling) and no communication. While warming
// is set its reductions return size times the buffer, what a real one
// returns when every rank holds the same values, so that the optimizer's
// first step, where the ranks check that they agree, passes.
type silentComm struct {
	rank, size int
	warming    bool
}

func (c *silentComm) Rank() int { return c.rank }
func (c *silentComm) Size() int { return c.size }
func (c *silentComm) AllreduceSum(buf []float64) error {
	if c.warming {
		for i := range buf {
			buf[i] *= float64(c.size)
		}
	}
	return nil
}
func (c *silentComm) AllreduceSumFloat64(buf []float64) error { return c.AllreduceSum(buf) }
func (c *silentComm) IallreduceSum(buf []float64) (func() error, error) {
	err := c.AllreduceSum(buf)
	return func() error { return err }, nil
}

// benchModels are the models of the overlap benchmark: dptrain's MLP, the
// deeper MLP of nn's optimizer benchmarks, and dptrain's CNN.
var benchModels = []struct {
	name  string
	build func() (*nn.Sequential[float64], error)
}{
	{"mlp", func() (*nn.Sequential[float64], error) {
		return nn.NewSequential[float64]([]int{784}, nn.NewLinear[float64](784, 128), nn.ReLU[float64](), nn.NewLinear[float64](128, 10))
	}},
	{"mlp3", func() (*nn.Sequential[float64], error) {
		return nn.NewSequential[float64]([]int{784}, nn.NewLinear[float64](784, 512), nn.ReLU[float64](), nn.NewLinear[float64](512, 256), nn.ReLU[float64](), nn.NewLinear[float64](256, 10))
	}},
	{"cnn", func() (*nn.Sequential[float64], error) {
		return nn.NewSequential[float64]([]int{1, 28, 28},
			nn.NewConv2d[float64](1, 16, 8, 2, 3), nn.Tanh[float64](), nn.NewMaxPool2d[float64](2, 1),
			nn.NewConv2d[float64](16, 32, 4, 2, 0), nn.Tanh[float64](), nn.NewMaxPool2d[float64](2, 1),
			nn.Flatten[float64](), nn.NewLinear[float64](32*4*4, 32), nn.Tanh[float64](), nn.NewLinear[float64](32, 10))
	}},
}

// BenchmarkOverlapModel measures the share of the gradient reduction that
// the hook-based optimizer hides behind a real backward pass with per-layer
// clipping (σ = 1), for each model, local batch (32: compute about as long
// as the MLP's reduction over the links here; 256), bucket layout
// (the default 4 MiB buckets, or one bucket per layer) and progress mode.
// In the same run and iteration by iteration it times
//
//	T_b: the step over a communicator that moves nothing (forward,
//	     backward with clipping, noise, scaling: all the computation),
//	T_r: the bucket reductions alone (blocking AllreduceSum of each bucket,
//	     in the optimizer's order),
//	T_o: the real step, computation and reduction together,
//
// and reports hidden = (T_b + T_r − T_o)/T_r from the medians (and from
// the minima), step-µs (T_o), the gradient's size and hideable-%, the
// share of the gradient outside the bucket that completes last (the one
// holding layer 0, ready only when the backward pass ends): no schedule can
// hide more than that. When T_r is much
// smaller than T_b the share is dominated by the noise of T_b on a shared
// machine: read it at the batch where the two are comparable.
func BenchmarkOverlapModel(b *testing.B) {
	for _, m := range benchModels {
		for _, batch := range []int{32, 256} {
			for _, buckets := range []string{"default", "layer"} {
				for _, prog := range []perlayer.Progress{perlayer.ReduceInStep, perlayer.ReduceConcurrently} {
					b.Run(fmt.Sprintf("model=%s/batch=%d/buckets=%s/progress=%v", m.name, batch, buckets, prog), func(b *testing.B) {
						overlapModel(b, m.build, batch, buckets == "layer", prog)
					})
				}
			}
		}
	}
}

func overlapModel(b *testing.B, build func() (*nn.Sequential[float64], error), n int, perLayer bool, prog perlayer.Progress) {
	c := mpitest.BenchWorld(b)
	model, err := build()
	if err != nil {
		b.Fatal(err)
	}
	arena, err := model.NewArena(1)
	if err != nil {
		b.Fatal(err)
	}
	clips := make([]float64, model.NumLayers())
	for i := range clips {
		clips[i] = 1
	}
	newOpt := func(comm optimizer.Communicator[float64]) *perlayer.DistributedPerLayerOptimizer[float64] {
		cfg := optimizer.Config{NoiseMultiplier: 1, ExpectedBatchSize: float64(n), Generator: optimizer.NewBlockGenerator(uint64(1 + c.Rank()))}
		o, err := perlayer.NewDistributedPerLayerOptimizer(arena, nopUpdater{}, clips, cfg, comm)
		if err != nil {
			b.Fatal(err)
		}
		if perLayer {
			if err := o.SetBucketBytes(8); err != nil {
				b.Fatal(err)
			}
		}
		if err := o.SetProgress(prog); err != nil {
			b.Fatal(err)
		}
		return o
	}
	sc := &silentComm{rank: c.Rank(), size: c.Size(), warming: true}
	real, silent := newOpt(c), newOpt(sc)
	r := rand.New(rand.NewPCG(1, uint64(c.Rank())))
	in := 1
	for _, d := range model.InShape() {
		in *= d
	}
	x := make([]float64, n*in)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	y := make([]int, n)
	for i := range y {
		y[i] = r.IntN(10)
	}
	d := make([]float64, n*10)
	step := func(o *perlayer.DistributedPerLayerOptimizer[float64]) {
		out := model.Forward(x, n)
		if err := nn.SoftmaxCrossEntropy(out, y, 10, nil, d); err != nil {
			b.Fatal(err)
		}
		if err := model.Backward(d, o.LayerReady); err != nil {
			b.Fatal(err)
		}
		if _, err := o.Step(); err != nil {
			b.Fatal(err)
		}
		o.ZeroGrad()
	}
	// The bucket slices of the gradient, in the order they are reduced.
	var bufs [][]float64
	for k := range real.NumBuckets() {
		lo, hi := real.Bucket(k)
		first, last := arena.Layers[lo], arena.Layers[hi-1]
		bufs = append(bufs, arena.Grads[first.Offset:last.Offset+last.Len])
	}
	if prog == perlayer.ReduceInStep {
		bufs = [][]float64{arena.Grads}
	}
	reduce := func() {
		for _, buf := range bufs {
			if err := c.AllreduceSum(buf); err != nil {
				b.Fatal(err)
			}
		}
	}
	barrier := func() {
		if err := c.Barrier(); err != nil {
			b.Fatal(err)
		}
	}
	var tb, tr, to []time.Duration
	iter := func(count bool) {
		barrier()
		t0 := time.Now()
		step(silent)
		t1 := time.Now()
		barrier()
		t2 := time.Now()
		reduce()
		t3 := time.Now()
		barrier()
		t4 := time.Now()
		step(real)
		t5 := time.Now()
		if count {
			tb, tr, to = append(tb, t1.Sub(t0)), append(tr, t3.Sub(t2)), append(to, t5.Sub(t4))
		}
	}
	iter(false) // the first (checked) step is not eager
	sc.warming = false
	iter(false)
	b.ResetTimer()
	for range b.N {
		iter(true)
	}
	b.StopTimer()
	if real.EagerSteps() != b.N+1 {
		b.Fatalf("%d eager steps, want %d", real.EagerSteps(), b.N+1)
	}
	med := func(ts []time.Duration) time.Duration { slices.Sort(ts); return ts[len(ts)/2] }
	mb, mr, mo := med(tb), med(tr), med(to)
	b.ReportMetric(float64(len(arena.Grads)), "params")
	b.ReportMetric(float64(real.NumBuckets()), "buckets")
	// The bucket that completes last (it holds layer 0) is ready only when
	// the backward pass ends: at most the other buckets can be hidden.
	hideable := 0.0
	if prog == perlayer.ReduceConcurrently {
		lo, hi := real.Bucket(real.NumBuckets() - 1)
		last := arena.Layers[hi-1].Offset + arena.Layers[hi-1].Len - arena.Layers[lo].Offset
		hideable = 100 * (1 - float64(last)/float64(len(arena.Grads)))
	}
	b.ReportMetric(hideable, "hideable-%")
	b.ReportMetric(float64(mb.Microseconds()), "compute-µs")
	b.ReportMetric(float64(mr.Microseconds()), "reduce-µs")
	b.ReportMetric(float64(mo.Microseconds()), "step-µs")
	b.ReportMetric(100*float64(mb+mr-mo)/float64(mr), "hidden-%")
	nb, nr, no := slices.Min(tb), slices.Min(tr), slices.Min(to)
	b.ReportMetric(100*float64(nb+nr-no)/float64(nr), "hidden-min-%")
}

// BenchmarkModelStep times one rank's whole DP step with per-layer
// clipping at batch 256 and no communication (the hook-based optimizer
// over a communicator that moves nothing), with σ = 0 and σ = 1 (rank 0's
// noise included): the per-rank compute and noise costs of the scaling
// model (docs/scaling.md). Run it with GOMAXPROCS=1 for one core per rank.
func BenchmarkModelStep(b *testing.B) {
	for _, m := range benchModels {
		for _, sigma := range []float64{0, 1} {
			b.Run(fmt.Sprintf("model=%s/sigma=%g", m.name, sigma), func(b *testing.B) {
				model, err := m.build()
				if err != nil {
					b.Fatal(err)
				}
				const n = 256
				arena, err := model.NewArena(1)
				if err != nil {
					b.Fatal(err)
				}
				clips := make([]float64, model.NumLayers())
				for i := range clips {
					clips[i] = 1
				}
				sc := &silentComm{rank: 0, size: 1, warming: true}
				cfg := optimizer.Config{NoiseMultiplier: sigma, ExpectedBatchSize: n, Generator: optimizer.NewBlockGenerator(1)}
				o, err := perlayer.NewDistributedPerLayerOptimizer(arena, nopUpdater{}, clips, cfg, sc)
				if err != nil {
					b.Fatal(err)
				}
				in := 1
				for _, d := range model.InShape() {
					in *= d
				}
				r := rand.New(rand.NewPCG(1, 2))
				x := make([]float64, n*in)
				for i := range x {
					x[i] = r.NormFloat64()
				}
				y := make([]int, n)
				for i := range y {
					y[i] = r.IntN(10)
				}
				d := make([]float64, n*10)
				step := func() {
					out := model.Forward(x, n)
					if err := nn.SoftmaxCrossEntropy(out, y, 10, nil, d); err != nil {
						b.Fatal(err)
					}
					if err := model.Backward(d, o.LayerReady); err != nil {
						b.Fatal(err)
					}
					if _, err := o.Step(); err != nil {
						b.Fatal(err)
					}
					o.ZeroGrad()
				}
				step()
				sc.warming = false
				step()
				b.ResetTimer()
				for range b.N {
					step()
				}
				b.ReportMetric(float64(len(arena.Grads)), "params")
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "step-µs")
			})
		}
	}
}
