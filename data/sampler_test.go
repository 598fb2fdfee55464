package data

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestStepsPerEpoch(t *testing.T) {
	for _, m := range []int{10, 93, 99, 105, 117, 123, 186, 99999} {
		q := 1 / float64(m)
		if got := StepsPerEpoch(q); got != m {
			t.Errorf("StepsPerEpoch(1/%d) = %d", m, got)
		}
	}
	// The truncation the rounding avoids really happens for m = 93.
	if q := 1 / float64(93); int(1/q) != 92 {
		t.Fatalf("int(1/(1/93)) = %d; the regression case no longer exercises truncation", int(1/q))
	}
	s, err := NewSampler(SamplerConfig{N: 1000, Rate: 1.0 / 93})
	if err != nil || s.StepsPerEpoch() != 93 {
		t.Fatalf("sampler at q = 1/93: %d steps, err %v", s.StepsPerEpoch(), err)
	}
	for _, c := range []struct{ n, b, m int }{{100, 10, 10}, {100, 30, 4}, {60000, 256, 235}} {
		q, steps, err := RateForBatchSize(c.n, c.b)
		if err != nil || steps != c.m || q != 1/float64(c.m) {
			t.Errorf("RateForBatchSize(%d, %d) = %v, %d, %v; want 1/%d, %d", c.n, c.b, q, steps, err, c.m, c.m)
		}
	}
	if _, _, err := RateForBatchSize(100, 0); err == nil {
		t.Error("RateForBatchSize accepted batch size 0")
	}
}

func TestSamplerConfigErrors(t *testing.T) {
	cases := []struct {
		cfg  SamplerConfig
		want string
	}{
		{SamplerConfig{N: 0, Rate: 0.1}, "N = 0"},
		{SamplerConfig{N: 10, Rate: 0}, "rate 0"},
		{SamplerConfig{N: 10, Rate: 1.5}, "rate 1.5"},
		{SamplerConfig{N: 10, Rate: math.NaN()}, "rate NaN"},
		{SamplerConfig{N: 10, Rate: 0.1, Steps: -1}, "steps -1"},
		{SamplerConfig{N: 10, Rate: 0.1, Rank: 2, World: 2}, "rank 2"},
	}
	for _, c := range cases {
		if _, err := NewSampler(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one containing %q", c.cfg, err, c.want)
		}
	}
}

// TestPoissonStatistics checks that batches are sorted sets of valid
// indices whose size has mean qN and variance qN(1−q). With N = 1000,
// q = 0.1 and 4000 steps the standard error of the mean is 0.15, so the
// bound 0.75 fails for a rate off by one step (1/9 or 1/11: 111 or 91).
func TestPoissonStatistics(t *testing.T) {
	const n, q, steps = 1000, 0.1, 4000
	s, err := NewPoisson(n, q, 7)
	if err != nil {
		t.Fatal(err)
	}
	var sum, sq float64
	hits := make([]int, n)
	var b []int
	for k := 0; k < steps; k++ {
		b = s.Next(b)
		if !slices.IsSorted(b) || len(slices.Compact(slices.Clone(b))) != len(b) {
			t.Fatalf("step %d: batch not sorted or has duplicates", k)
		}
		for _, i := range b {
			if i < 0 || i >= n {
				t.Fatalf("index %d out of range", i)
			}
			hits[i]++
		}
		sum += float64(len(b))
		sq += float64(len(b) * len(b))
	}
	mean := sum / steps
	v := sq/steps - mean*mean
	if math.Abs(mean-q*n) > 0.75 {
		t.Fatalf("mean batch size %.2f, want %.0f", mean, q*n)
	}
	if math.Abs(v-q*(1-q)*n) > 0.1*q*(1-q)*n {
		t.Fatalf("batch size variance %.1f, want %.1f", v, q*(1-q)*n)
	}
	// Every sample is included at rate q: 400 ± 20 expected per sample;
	// none may be far outside (a sampler that skips samples fails).
	for i, h := range hits {
		if h < 300 || h > 500 {
			t.Fatalf("sample %d included %d times in %d steps, want about %d", i, h, steps, int(q*steps))
		}
	}
	if s.Epoch() != steps/10 || s.Step() != 0 {
		t.Fatalf("position epoch %d step %d after %d steps of 10", s.Epoch(), s.Step(), steps)
	}
}

func TestPoissonSeeds(t *testing.T) {
	sizes := func(seed uint64, secure bool) string {
		s, err := NewSampler(SamplerConfig{N: 100, Rate: 0.1, Seed: seed, Secure: secure})
		if err != nil {
			t.Fatal(err)
		}
		var out []int
		for k := 0; k < 20; k++ {
			out = append(out, s.Next(nil)...)
		}
		return fmt.Sprint(out)
	}
	if sizes(7, false) != sizes(7, false) {
		t.Fatal("the same seed gave different batches")
	}
	if sizes(7, false) == sizes(8, false) {
		t.Fatal("seeds 7 and 8 gave the same batches")
	}
	if sizes(7, true) == sizes(7, true) {
		t.Fatal("two secure samplers gave the same batches")
	}
}

func TestEmptyBatchesYielded(t *testing.T) {
	for _, world := range []int{1, 3} {
		s, err := NewSampler(SamplerConfig{N: 10, Rate: 1e-5, World: world, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if s.StepsPerEpoch() != 100000 {
			t.Fatalf("steps %d, want 100000", s.StepsPerEpoch())
		}
		for k := 0; k < 50; k++ {
			if b := s.Next(nil); len(b) != 0 {
				t.Fatalf("batch %v at q = 1e-5", b)
			}
			if s.Step() != k+1 {
				t.Fatalf("empty batch did not advance the step: %d", s.Step())
			}
		}
	}
}

func TestDistributedShards(t *testing.T) {
	for _, shuffle := range []bool{false, true} {
		const n, w = 100, 3
		var rs []*Sampler
		for r := 0; r < w; r++ {
			s, err := NewSampler(SamplerConfig{N: n, Rate: 0.1, Rank: r, World: w, Seed: 5, Shuffle: shuffle, ShuffleSeed: 9})
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, s)
		}
		shardsOf := func() []int {
			var all []int
			for r, s := range rs {
				if want := n / w; len(s.Shard()) != want+map[bool]int{true: 1, false: 0}[r < n%w] {
					t.Fatalf("rank %d shard size %d", r, len(s.Shard()))
				}
				all = append(all, s.Shard()...)
			}
			slices.Sort(all)
			for i, v := range all {
				if v != i {
					t.Fatalf("shuffle %v: shards are not a partition of 0..%d", shuffle, n-1)
				}
			}
			return slices.Clone(rs[0].Shard())
		}
		first := shardsOf()
		var own [][]int
		for _, s := range rs {
			own = append(own, slices.Clone(s.Shard()))
		}
		if !shuffle && fmt.Sprint(first[:4]) != "[0 3 6 9]" {
			t.Fatalf("unshuffled shard of rank 0 starts %v, want [0 3 6 9]", first[:4])
		}
		for r, s := range rs {
			if s.StepsPerEpoch() != 10 {
				t.Fatalf("rank %d: %d steps per epoch", r, s.StepsPerEpoch())
			}
			for k := 0; k < 10; k++ {
				for _, i := range s.Next(nil) {
					if !slices.Contains(own[r], i) {
						t.Fatalf("rank %d drew %d outside its shard", r, i)
					}
				}
			}
		}
		second := shardsOf()
		if shuffle == slices.Equal(first, second) {
			t.Fatalf("shuffle %v: shard changed across epochs = %v", shuffle, !slices.Equal(first, second))
		}
	}
}

// TestDistributedIndependence checks that ranks draw independent masks: with
// q = 0.5, position j of rank 0 and position j of rank 1 are both selected
// a quarter of the time; with a shared stream they would be half the time.
func TestDistributedIndependence(t *testing.T) {
	const n, steps = 200, 400
	a, _ := NewSampler(SamplerConfig{N: n, Rate: 0.5, Rank: 0, World: 2, Seed: 3})
	b, _ := NewSampler(SamplerConfig{N: n, Rate: 0.5, Rank: 1, World: 2, Seed: 3})
	both, total := 0, 0
	var ba, bb []int
	for k := 0; k < steps; k++ {
		ba, bb = a.Next(ba), b.Next(bb)
		in := make(map[int]bool, len(bb))
		for _, i := range bb {
			in[i/2] = true // position within rank 1's shard (odd indices)
		}
		for _, i := range ba {
			if in[i/2] {
				both++
			}
		}
		total += n / 2
	}
	if p := float64(both) / float64(total); math.Abs(p-0.25) > 0.01 {
		t.Fatalf("co-selection rate %.4f, want 0.25 for independent ranks", p)
	}
}

func TestSamplerResume(t *testing.T) {
	cfg := SamplerConfig{N: 50, Rate: 0.2, Rank: 1, World: 2, Seed: 11, Shuffle: true, ShuffleSeed: 4}
	s, _ := NewSampler(cfg)
	for k := 0; k < 13; k++ { // past the epoch boundary at 5 and 10
		s.Next(nil)
	}
	state, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for k := 0; k < 12; k++ {
		want = append(want, fmt.Sprint(s.Next(nil)))
	}
	r, _ := NewSampler(cfg)
	if err := r.UnmarshalBinary(state); err != nil {
		t.Fatal(err)
	}
	if r.Epoch() != 2 || r.Step() != 3 {
		t.Fatalf("restored position epoch %d step %d, want 2, 3", r.Epoch(), r.Step())
	}
	for k := 0; k < 12; k++ {
		if got := fmt.Sprint(r.Next(nil)); got != want[k] {
			t.Fatalf("step %d after resume: %s, want %s", k, got, want[k])
		}
	}
	other := cfg
	other.Rank = 0
	o, _ := NewSampler(other)
	if err := o.UnmarshalBinary(state); err == nil || !strings.Contains(err.Error(), "rank 1") {
		t.Fatalf("restoring into another rank: error %v", err)
	}
	if err := o.UnmarshalBinary(state[:20]); err == nil {
		t.Fatal("accepted a truncated state")
	}
	if err := o.UnmarshalBinary(append(state[:len(state)-3:len(state)-3], 0)); err == nil {
		t.Fatal("accepted a corrupt generator state")
	}
}

func TestSplit(t *testing.T) {
	cases := []struct {
		n, max int
		sizes  string
	}{
		{10, 3, "[3 3 2 2]"},
		{6, 3, "[3 3]"},
		{3, 5, "[3]"},
		{1, 1, "[1]"},
		{0, 4, "[0]"},
		{7, 2, "[2 2 2 1]"},
	}
	for _, c := range cases {
		batch := make([]int, c.n)
		for i := range batch {
			batch[i] = 10 * i
		}
		var sizes, joined []int
		var skips []bool
		for p, skip := range Split(batch, c.max) {
			sizes = append(sizes, len(p))
			skips = append(skips, skip)
			joined = append(joined, p...)
		}
		if fmt.Sprint(sizes) != c.sizes || len(sizes) != NumPhysical(c.n, c.max) {
			t.Errorf("Split(%d, %d) sizes %v, want %s", c.n, c.max, sizes, c.sizes)
		}
		for k, s := range skips {
			if s != (k < len(skips)-1) {
				t.Errorf("Split(%d, %d) skip signals %v", c.n, c.max, skips)
			}
		}
		if !slices.Equal(joined, batch) && !(c.n == 0 && len(joined) == 0) {
			t.Errorf("Split(%d, %d) reassembles to %v", c.n, c.max, joined)
		}
	}
	count := 0
	for range Split(make([]int, 10), 3) {
		count++
		break
	}
	if count != 1 {
		t.Fatal("Split did not stop when the loop broke")
	}
}
