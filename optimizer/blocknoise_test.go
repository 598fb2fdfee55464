package optimizer_test

import (
	"math"
	"runtime"
	"testing"

	"github.com/dpmpi/dpmpi/optimizer"
)

// blockFill returns the noise a fresh BlockGenerator(seed) adds on each of
// calls calls to a zero vector of length n, with GOMAXPROCS set to procs.
func blockFill(seed uint64, n, calls, procs int) [][]float64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	g := optimizer.NewBlockGenerator(seed)
	var out [][]float64
	for range calls {
		v := make([]float64, n)
		optimizer.AddNoise(v, 1, g, false)
		out = append(out, v)
	}
	return out
}

func TestBlockGeneratorReproducible(t *testing.T) {
	const n = 5*optimizer.NoiseBlock + 123 // a partial last block
	ref := blockFill(3, n, 2, 1)
	for _, procs := range []int{2, 3, 8} {
		got := blockFill(3, n, 2, procs)
		for c := range ref {
			for i := range ref[c] {
				if math.Float64bits(got[c][i]) != math.Float64bits(ref[c][i]) {
					t.Fatalf("GOMAXPROCS=%d call %d: noise[%d] = %v, with one goroutine %v", procs, c, i, got[c][i], ref[c][i])
				}
			}
		}
	}
	other := blockFill(4, n, 1, 2)[0]
	// Streams must differ between seeds, calls and blocks: compare every
	// block of the first call with the first block, the second call and
	// another seed's block.
	for b := 0; b*optimizer.NoiseBlock < n; b++ {
		lo, hi := b*optimizer.NoiseBlock, min((b+1)*optimizer.NoiseBlock, n)
		for i := lo; i < hi; i++ {
			v := ref[0][i]
			if v == ref[1][i] || v == other[i] || (b > 0 && v == ref[0][i-lo]) {
				t.Fatalf("block %d coordinate %d repeats another stream's value %v", b, i, v)
			}
		}
	}
}

func TestBlockGeneratorStd(t *testing.T) {
	for _, secure := range []bool{false, true} {
		const std = 2.5
		v := make([]float64, noiseN)
		optimizer.NewBlockGenerator(11).AddNormal(v, std, secure)
		m, s := meanStd(v)
		if math.Abs(s/std-1) > noiseTol || math.Abs(m) > 6*std/math.Sqrt(noiseN) {
			t.Errorf("secure=%v: mean %v std %v, want 0 and %v", secure, m, s, std)
		}
	}
}

// A generator restored from a checkpoint continues the stream exactly.
func TestBlockGeneratorMarshal(t *testing.T) {
	const n = 3 * optimizer.NoiseBlock
	g := optimizer.NewBlockGenerator(5)
	optimizer.AddNoise(make([]float64, n), 1, g, false)
	g.NormFloat64()
	state, err := g.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, n)
	optimizer.AddNoise(want, 1, g, false)
	wantOne := g.NormFloat64()

	h := optimizer.NewBlockGenerator(99)
	if err := h.UnmarshalBinary(state); err != nil {
		t.Fatal(err)
	}
	got := make([]float64, n)
	optimizer.AddNoise(got, 1, h, false)
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("restored generator: noise[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	if one := h.NormFloat64(); one != wantOne {
		t.Errorf("restored sequential stream: %v, want %v", one, wantOne)
	}
	for _, bad := range [][]byte{nil, state[:10], append([]byte("x"), state[1:]...), state[:len(state)-3]} {
		if err := h.UnmarshalBinary(bad); err == nil {
			t.Errorf("UnmarshalBinary(%q) succeeded", bad)
		}
	}
}
