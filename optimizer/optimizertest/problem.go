package optimizertest

import (
	"math/rand/v2"

	"github.com/dpmpi/dpmpi/optimizer"
)

// Problem generates deterministic per-sample gradients for equivalence
// tests: every rank can build the same global batch of a (step, pass) and
// take its own shard of it. The gradients and parameters are drawn in
// float64 and rounded to F, so a float32 problem is the float64 one rounded.
type Problem[F optimizer.Float] struct {
	// Layers is the layer table.
	Layers []optimizer.LayerSpec
	// Seed selects the gradients and the initial parameters.
	Seed uint64
}

// Arena returns a new arena for the problem's layers with parameters drawn
// uniformly from [-1, 1) (the same for the same Seed). It panics if the
// layer table is invalid.
func (p *Problem[F]) Arena() *optimizer.Arena[F] {
	a, err := optimizer.NewArena[F](p.Layers...)
	if err != nil {
		panic(err)
	}
	r := rand.New(rand.NewPCG(p.Seed, 0xa7e4a))
	for i := range a.Params {
		a.Params[i] = F(2*r.Float64() - 1)
	}
	return a
}

// Sources returns one DenseSource per layer holding samples [lo, hi) of the
// global batch of size n for (step, pass). Sample i's gradients are normal
// variates times (i mod 4)·0.7 + 0.05, so that some samples are clipped
// and some are not. It panics unless 0 ≤ lo ≤ hi ≤ n.
func (p *Problem[F]) Sources(step, pass, n, lo, hi int) []optimizer.GradSource[F] {
	if lo < 0 || lo > hi || hi > n {
		panic("optimizertest: Sources: need 0 ≤ lo ≤ hi ≤ n")
	}
	r := rand.New(rand.NewPCG(p.Seed^uint64(step)<<20^uint64(pass)<<40, 0x5a5a))
	srcs := make([]optimizer.GradSource[F], len(p.Layers))
	blocks := make([][]F, len(p.Layers))
	for l, s := range p.Layers {
		blocks[l] = make([]F, 0, (hi-lo)*s.Len)
	}
	for i := range n {
		scale := float64(i%4)*0.7 + 0.05
		for l, s := range p.Layers {
			for range s.Len {
				v := scale * r.NormFloat64()
				if i >= lo && i < hi {
					blocks[l] = append(blocks[l], F(v))
				}
			}
		}
	}
	for l, s := range p.Layers {
		srcs[l] = optimizer.NewDenseSource(hi-lo, s.Len, blocks[l])
	}
	return srcs
}

// Shard returns the half-open range of the samples [0, n) that rank r of w
// takes in a contiguous split.
func Shard(n, w, r int) (lo, hi int) {
	return r * n / w, (r + 1) * n / w
}
