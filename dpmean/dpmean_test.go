package dpmean_test

import (
	"math"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/dpmean"
	"github.com/dpmpi/dpmpi/mpi"
	"github.com/dpmpi/dpmpi/mpi/mpitest"
	"github.com/dpmpi/dpmpi/optimizer"
	"gonum.org/v1/gonum/floats"
)

func TestMain(m *testing.M) { mpitest.Main(m) }

// sample returns sample i of a data set of dim values: a vector of norm
// about 1 + i%3, so that with R = 2.5 every third sample is clipped.
func sample(i, dim int) []float64 {
	x := make([]float64, dim)
	for j := range x {
		x[j] = math.Sin(float64(1+i*dim+j)) + 0.5
	}
	s := float64(1+i%3) / floats.Norm(x, 2)
	for j := range x {
		x[j] *= s
	}
	return x
}

// shard returns this rank's contiguous share of n samples (possibly none).
func shard(n, dim, rank, world int) (rows []float64, first int) {
	lo, hi := rank*n/world, (rank+1)*n/world
	for i := lo; i < hi; i++ {
		rows = append(rows, sample(i, dim)...)
	}
	return rows, lo
}

// Under real MPI at W = 1..4: with a negligible σ the estimate is the mean
// of the clipped samples, whichever rank holds them (W = 4 leaves a rank
// without samples), and it is the same bit for bit on every rank; with
// σ = 3 the error has standard deviation σR/N whatever W is (rank 0 alone
// adds noise); a NaN on the last rank, a missing generator on rank 0 and
// an invalid configuration on the last rank are errors on every rank,
// naming the rank and sample where they are, and hang nobody.
func TestMeanMPI(t *testing.T) {
	mpitest.Run(t, []int{1, 2, 3, 4}, func(t *testing.T, comm *mpi.Comm) {
		w, r := comm.Size(), comm.Rank()
		const n, dim, clip = 3, 5, 2.5
		rows, _ := shard(n, dim, r, w)
		var g optimizer.Generator
		if r == 0 {
			g = optimizer.NewSeededGenerator(7)
		}
		mean, err := dpmean.Mean(comm, rows, dim, dpmean.Config{ClipNorm: clip, NoiseMultiplier: 1e-12, N: n}, g)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float64, dim)
		clipped := 0
		for i := range n {
			x := sample(i, dim)
			f := 1.0
			if nrm := floats.Norm(x, 2); nrm > clip {
				f = clip / (nrm + 1e-6)
				clipped++
			}
			for j := range want {
				want[j] += f * x[j] / n
			}
		}
		for j := range want {
			if math.Abs(mean[j]-want[j]) > 1e-9 {
				t.Errorf("W=%d rank %d: mean[%d] = %v, want %v", w, r, j, mean[j], want[j])
			}
		}
		root := append([]float64(nil), mean...)
		if err := comm.Bcast(root, 0); err != nil {
			t.Fatal(err)
		}
		for j := range mean {
			if math.Float64bits(mean[j]) != math.Float64bits(root[j]) {
				t.Errorf("W=%d rank %d: mean[%d] = %v, rank 0 has %v", w, r, j, mean[j], root[j])
			}
		}
		if clipped == 0 {
			t.Fatal("the data set clips no sample; the test would not see clipping")
		}

		// Noise: zero data, many coordinates; std σR/N, not σR√W/N.
		const big, sigma, bigN = 40000, 3.0, 10
		zero := make([]float64, big*(r%2)) // odd ranks hold one zero sample
		noisy, err := dpmean.Mean(comm, zero, big, dpmean.Config{ClipNorm: clip, NoiseMultiplier: sigma, N: bigN}, g)
		if err != nil {
			t.Fatal(err)
		}
		s := floats.Norm(noisy, 2) / math.Sqrt(big)
		if wantStd := sigma * clip / bigN; math.Abs(s/wantStd-1) > 0.03 {
			t.Errorf("W=%d: noise std %v, want σR/N = %v", w, s, wantStd)
		}

		// A NaN on the last rank.
		bad, first := shard(2*w, dim, r, w)
		if r == w-1 {
			bad[dim+1] = math.NaN() // this rank's sample 1
		}
		_, err = dpmean.Mean(comm, bad, dim, dpmean.Config{ClipNorm: clip, NoiseMultiplier: 1, N: 2 * w}, g)
		switch {
		case err == nil:
			t.Errorf("W=%d rank %d: a NaN on rank %d gave no error", w, r, w-1)
		case r == w-1 && !strings.Contains(err.Error(), "sample 1 of this rank"):
			t.Errorf("rank %d (samples from %d): error %q does not name the sample", r, first, err)
		case r != w-1 && !strings.Contains(err.Error(), "another rank"):
			t.Errorf("rank %d: error %q does not blame another rank", r, err)
		}

		// Misuse on one rank is an error on all of them, not a hang: rank 0
		// without a generator, then the last rank with σ = 0.
		cfg := dpmean.Config{ClipNorm: clip, NoiseMultiplier: 1, N: n}
		for _, tc := range []struct {
			name string
			on   int
			g    optimizer.Generator
			cfg  dpmean.Config
			want string
		}{
			{"no generator", 0, nil, cfg, "needs a noise generator"},
			{"σ = 0", w - 1, g, dpmean.Config{ClipNorm: clip, N: n}, "noise multiplier"},
		} {
			gi, ci := g, cfg
			if r == tc.on {
				gi, ci = tc.g, tc.cfg
			}
			_, err := dpmean.Mean(comm, rows, dim, ci, gi)
			switch {
			case err == nil:
				t.Errorf("%s on rank %d: rank %d got no error", tc.name, tc.on, r)
			case r == tc.on && !strings.Contains(err.Error(), tc.want):
				t.Errorf("%s: rank %d's error %q does not say %q", tc.name, r, err, tc.want)
			case r != tc.on && !strings.Contains(err.Error(), "another rank"):
				t.Errorf("%s on rank %d: rank %d's error %q does not blame another rank", tc.name, tc.on, r, err)
			}
		}
	})
}

type oneRank struct{}

func (oneRank) Rank() int                    { return 0 }
func (oneRank) AllreduceSum([]float64) error { return nil }
func (oneRank) Bcast([]float64, int) error   { return nil }

func TestMeanConfigErrors(t *testing.T) {
	g := optimizer.NewSeededGenerator(1)
	for _, tc := range []struct {
		cfg  dpmean.Config
		g    optimizer.Generator
		want string
	}{
		{dpmean.Config{ClipNorm: 0, NoiseMultiplier: 1, N: 1}, g, "clip norm"},
		{dpmean.Config{ClipNorm: math.Inf(1), NoiseMultiplier: 1, N: 1}, g, "clip norm"},
		{dpmean.Config{ClipNorm: 1, NoiseMultiplier: 0, N: 1}, g, "noise multiplier"},
		{dpmean.Config{ClipNorm: 1, NoiseMultiplier: math.NaN(), N: 1}, g, "noise multiplier"},
		{dpmean.Config{ClipNorm: 1, NoiseMultiplier: 1, N: 0}, g, "data set size"},
		{dpmean.Config{ClipNorm: 1, NoiseMultiplier: 1, N: 1}, nil, "noise generator"},
	} {
		_, err := dpmean.Mean(oneRank{}, []float64{1, 2}, 2, tc.cfg, tc.g)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one about %q", tc.cfg, err, tc.want)
		}
	}
}

// In secure mode the noise comes from the secure generator: its std is
// σR/N, and two estimates differ.
func TestMeanSecure(t *testing.T) {
	g, err := optimizer.NewSecureGenerator()
	if err != nil {
		t.Fatal(err)
	}
	const dim, sigma, clip, n = 40000, 2.0, 1.5, 4
	cfg := dpmean.Config{ClipNorm: clip, NoiseMultiplier: sigma, N: n, Secure: true}
	a, err := dpmean.Mean(oneRank{}, make([]float64, dim), dim, cfg, g)
	if err != nil {
		t.Fatal(err)
	}
	b, err := dpmean.Mean(oneRank{}, make([]float64, dim), dim, cfg, g)
	if err != nil {
		t.Fatal(err)
	}
	if s, want := floats.Norm(a, 2)/math.Sqrt(dim), sigma*clip/n; math.Abs(s/want-1) > 0.03 {
		t.Errorf("noise std %v, want σR/N = %v", s, want)
	}
	if a[0] == b[0] && a[1] == b[1] {
		t.Error("two secure estimates drew the same noise")
	}
}
