package optimizer_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/mpi"
	"github.com/dpmpi/dpmpi/mpi/mpitest"
	"github.com/dpmpi/dpmpi/optimizer"
	"github.com/dpmpi/dpmpi/optimizer/optimizertest"
)

// shardedStep runs one noisy step of zero gradients (k passes) on an arena
// of n coordinates and returns the summed gradient, which is the
// aggregated noise, and the number of variates this rank drew (counted for
// a sequential generator only; −1 for a VectorGenerator, which is used as
// it is).
func shardedStep(t testing.TB, comm optimizer.Communicator[float64], n, k int, cfg optimizer.Config) ([]float64, int, error) {
	t.Helper()
	gen := &countingGen{g: cfg.Generator, draws: -1}
	if _, vector := cfg.Generator.(optimizer.VectorGenerator); !vector {
		gen.draws = 0
		cfg.Generator = gen
	}
	a := oneLayer(t, n)
	o, err := optimizer.NewDistributedDPOptimizer(a, mustSGD(t, 0), 1.5, cfg, comm)
	if err != nil {
		return nil, 0, err
	}
	for range k {
		if err := o.AddBackward([]optimizer.GradSource[float64]{optimizer.NewDenseSource[float64](0, n, nil)}); err != nil {
			return nil, 0, err
		}
	}
	_, err = o.Step()
	return a.Grads, gen.draws, err
}

// Under ShardedNoise at W = 1..4 (mean and sum reduction) the aggregated
// noise has the single-process std, every rank holds the same gradient,
// rank r draws exactly its ⌊(r+1)P/W⌋ − ⌊rP/W⌋ coordinates (plus one probe
// variate when W > 1), and the ranks' slices are uncorrelated. Under
// RankZeroNoise rank 0 draws all P and the others none.
func TestShardedNoise(t *testing.T) {
	const sigma, c, bw, k = 2.0, 1.5, 8.0, 2
	for _, mode := range []optimizer.NoiseMode{optimizer.ShardedNoise, optimizer.RankZeroNoise, ""} {
		for _, red := range []optimizer.Reduction{optimizer.Mean, optimizer.Sum} {
			for w := 1; w <= 4; w++ {
				name := fmt.Sprintf("%q/%s/W=%d", mode, red, w)
				grads := make([][]float64, w)
				draws := make([]int, w)
				runWorld(t, w, func(r int, comm *optimizertest.Comm[float64]) error {
					cfg := optimizer.Config{NoiseMultiplier: sigma, ExpectedBatchSize: bw, LossReduction: red, NoiseMode: mode,
						Generator: optimizer.NewSeededGenerator(uint64(300 + r))}
					var err error
					grads[r], draws[r], err = shardedStep(t, comm, noiseN, k, cfg)
					return err
				})
				if t.Failed() {
					return
				}
				for r := range w {
					if optimizertest.RelDiff(grads[r], grads[0]) != 0 {
						t.Fatalf("%s: rank %d's gradient differs from rank 0's", name, r)
					}
					want := 0
					switch {
					case mode == optimizer.ShardedNoise:
						lo, hi := optimizertest.Shard(noiseN, w, r)
						want = hi - lo
						if w > 1 {
							want++ // the probe
						}
					case r == 0:
						want = noiseN
					}
					if draws[r] != want {
						t.Errorf("%s: rank %d drew %d variates, want %d", name, r, draws[r], want)
					}
				}
				want := sigma * c
				if red == optimizer.Mean {
					want /= bw * k * float64(w)
				}
				if _, s := meanStd(grads[0]); math.Abs(s/want-1) > noiseTol {
					t.Errorf("%s: noise std %v, want %v (ratio %v)", name, s, want, s/want)
				}
				if rho, bound := optimizertest.MaxShardCorrelation(grads[0], w), 5/math.Sqrt(noiseN/4); rho > bound {
					t.Errorf("%s: neighbouring noise slices correlate (|ρ| = %.4f > %.4f)", name, rho, bound)
				}
			}
		}
	}
}

// The one-dimensional partition behind ShardedNoise covers [0, P) exactly
// once, in rank order, with parts that differ in length by at most one.
func TestShardedNoisePartition(t *testing.T) {
	for _, p := range []int{0, 1, 3, 7, 100, 16385, 1_000_003} {
		for w := 1; w <= 9; w++ {
			counts := make([]int, p)
			short, long := p, 0
			var seen int
			for r := range w {
				comm := optimizertest.NewWorld[float64](w).Comm(r)
				gen := &countingGen{g: optimizer.NewSeededGenerator(uint64(r))}
				a := oneLayer(t, max(p, 1))
				if p == 0 {
					continue
				}
				e, err := optimizer.NewEngine(a, mustSGD(t, 0), optimizer.FlatClipping(1), optimizer.Config{NoiseMultiplier: 1, ExpectedBatchSize: 1, NoiseMode: optimizer.ShardedNoise, Generator: gen}, comm)
				if err != nil {
					t.Fatal(err)
				}
				gen.draws = 0
				clear(a.Grads)
				e.NoiseScaled(0, p)
				n := 0
				for i, g := range a.Grads {
					if g != 0 {
						counts[i]++
						n++
						if i < seen {
							t.Fatalf("P=%d W=%d: rank %d noised coordinate %d, before the end %d of rank %d's part", p, w, r, i, seen, r-1)
						}
					}
				}
				if n != gen.draws {
					t.Fatalf("P=%d W=%d rank %d: %d coordinates noised with %d draws", p, w, r, n, gen.draws)
				}
				seen += n
				short, long = min(short, n), max(long, n)
			}
			for i, c := range counts {
				if c != 1 {
					t.Fatalf("P=%d W=%d: coordinate %d noised %d times, want once", p, w, i, c)
				}
			}
			if p > 0 && long-short > 1 {
				t.Errorf("P=%d W=%d: parts of %d to %d coordinates", p, w, short, long)
			}
		}
	}
}

// Sharded noise refuses, on every rank at the first step, ranks that share
// a noise stream and ranks that disagree on the noise mode; an unknown mode
// is refused at construction.
func TestShardedNoiseMisuse(t *testing.T) {
	const w = 3
	for _, c := range []struct {
		name string
		cfg  func(r int) optimizer.Config
		want string
	}{
		{"shared seed", func(r int) optimizer.Config {
			return optimizer.Config{NoiseMode: optimizer.ShardedNoise, Generator: optimizer.NewSeededGenerator(9)}
		}, "ranks 0 and 1 draw the same noise stream"},
		{"shared seed on two ranks", func(r int) optimizer.Config {
			return optimizer.Config{NoiseMode: optimizer.ShardedNoise, Generator: optimizer.NewSeededGenerator(uint64(min(r, 1)))}
		}, "ranks 1 and 2 draw the same noise stream"},
		{"mode differs", func(r int) optimizer.Config {
			mode := optimizer.ShardedNoise
			if r == 2 {
				mode = optimizer.RankZeroNoise
			}
			return optimizer.Config{NoiseMode: mode, Generator: optimizer.NewSeededGenerator(uint64(r))}
		}, "noise mode"},
	} {
		runWorld(t, w, func(r int, comm *optimizertest.Comm[float64]) error {
			cfg := c.cfg(r)
			cfg.NoiseMultiplier, cfg.ExpectedBatchSize = 1, 2
			_, _, err := shardedStep(t, comm, 1000, 1, cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: rank %d: Step error %v, want one containing %q", c.name, r, err, c.want)
			}
			return nil
		})
	}
	a := oneLayer(t, 10)
	_, err := optimizer.NewDistributedDPOptimizer(a, mustSGD(t, 0), 1, optimizer.Config{ExpectedBatchSize: 1, NoiseMode: "every-rank"}, optimizertest.NewWorld[float64](1).Comm(0))
	if err == nil || !strings.Contains(err.Error(), `NoiseMode is "every-rank"`) {
		t.Errorf("unknown noise mode: error %v", err)
	}
}

// Under real MPI at W = 1..4, in plain and secure mode: sharded noise has
// the single-process std, all ranks hold the same gradient, the slices are
// uncorrelated, and a seeded run reproduces bit for bit.
func TestShardedNoiseMPI(t *testing.T) {
	mpitest.Run(t, []int{1, 2, 3, 4}, func(t *testing.T, comm *mpi.Comm) {
		w, r := comm.Size(), comm.Rank()
		const sigma, bw = 1.2, 4.0
		for _, secure := range []bool{false, true} {
			cfg := func() optimizer.Config {
				c := optimizer.Config{NoiseMultiplier: sigma, ExpectedBatchSize: bw, NoiseMode: optimizer.ShardedNoise, SecureMode: secure}
				if secure {
					g, err := optimizer.NewSecureGenerator()
					if err != nil {
						t.Fatal(err)
					}
					c.Generator = g
				} else {
					c.Generator = optimizer.NewBlockGenerator(0x5eed ^ uint64(r))
				}
				return c
			}
			g, _, err := shardedStep(t, comm, noiseN, 1, cfg())
			if err != nil {
				t.Fatal(err)
			}
			want := sigma * 1.5 / (bw * float64(w))
			if _, s := meanStd(g); math.Abs(s/want-1) > noiseTol {
				t.Errorf("secure %v W=%d: noise std %v, want %v (ratio %v)", secure, w, s, want, s/want)
			}
			if rho, bound := optimizertest.MaxShardCorrelation(g, w), 5/math.Sqrt(noiseN/4); rho > bound {
				t.Errorf("secure %v W=%d: neighbouring noise slices correlate (|ρ| = %.4f > %.4f)", secure, w, rho, bound)
			}
			root := append([]float64(nil), g...)
			if err := comm.Bcast(root, 0); err != nil {
				t.Fatal(err)
			}
			if optimizertest.RelDiff(g, root) != 0 {
				t.Errorf("secure %v: rank %d's gradient differs from rank 0's", secure, r)
			}
			again, _, err := shardedStep(t, comm, noiseN, 1, cfg())
			if err != nil {
				t.Fatal(err)
			}
			if d := optimizertest.RelDiff(again, g); secure == (d == 0) {
				t.Errorf("secure %v W=%d: a second run differs from the first by %g (want 0 for seeded, > 0 for secure)", secure, w, d)
			}
		}
	})
}
