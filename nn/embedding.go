package nn

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/dpmpi/dpmpi/internal/parallel"
	"github.com/dpmpi/dpmpi/optimizer"
)

// Embedding maps each of a sample's T token indices to a learned vector of
// Dim values of type F (float32 or float64), torch.nn.Embedding(Vocab, Dim): input [T] (indices stored as
// integers of type F in [0, Vocab), exact below 2²⁴ for float32), output
// [T, Dim], weight [Vocab, Dim] (the arena layer, no bias). An index that is not such an integer gives NaN
// outputs, which the optimizer's finite check then reports.
//
// Its input is data, not a differentiable value, so it must come before
// every layer with parameters. A sample's gradient has a row for each
// distinct token it holds, Σ of the output errors at that token's
// positions; the ghost source computes the norms and the weighted sum from
// those sparse rows and never forms the B×Vocab×Dim block (Mixed and Ghost
// modes). Materialized mode forms it, for testing on small vocabularies.
type Embedding[F Float] struct {
	// Vocab is the number of tokens, Dim the size of a token's vector.
	Vocab, Dim int

	t int // tokens per sample
	w []F

	n     int
	x, dy []F

	order [][]int32 // per worker: a sample's positions sorted by token
	ghost embeddingGhost[F]
	dense optimizer.DenseSource[F]
	gbuf  []F
}

// NewEmbedding returns an Embedding layer of vocab tokens of dim values.
func NewEmbedding[F Float](vocab, dim int) *Embedding[F] {
	return &Embedding[F]{Vocab: vocab, Dim: dim}
}

// Kind returns "Embedding(vocab, dim)".
func (e *Embedding[F]) Kind() string { return fmt.Sprintf("Embedding(%d, %d)", e.Vocab, e.Dim) }

// Weight returns the embedding table, [Vocab, Dim] row-major, as a view of
// the arena.
func (e *Embedding[F]) Weight() []F { return e.w }

// takesData marks a layer whose input is data, which no gradient reaches.
func (e *Embedding[F]) takesData() {}

func (e *Embedding[F]) setup(in []int) ([]int, error) {
	if e.Vocab <= 0 || e.Dim <= 0 {
		return nil, fmt.Errorf("vocabulary and dimension must be positive")
	}
	if len(in) != 1 {
		return nil, fmt.Errorf("needs input of shape [T] (token indices), got %v", in)
	}
	e.t = in[0]
	return []int{e.t, e.Dim}, nil
}

func (e *Embedding[F]) numParams() int    { return e.Vocab * e.Dim }
func (e *Embedding[F]) paramShape() []int { return []int{e.numParams()} }
func (e *Embedding[F]) bind(p []F)        { e.w = p }

// initParams draws the table from N(0, 1), as PyTorch does, in float64
// rounded to F.
func (e *Embedding[F]) initParams(r *rand.Rand) {
	for i := range e.w {
		e.w[i] = F(r.NormFloat64())
	}
}

func (e *Embedding[F]) grow(int) {
	for len(e.order) < workers() {
		e.order = append(e.order, make([]int32, e.t))
	}
}

// token returns the index x encodes, or -1 if it is not a token of the
// vocabulary.
func (e *Embedding[F]) token(v F) int {
	x := float64(v)
	if x < 0 || x >= float64(e.Vocab) || x != math.Trunc(x) {
		return -1
	}
	return int(x)
}

func (e *Embedding[F]) forward(x, y []F, n int) {
	parallel.Split(n*e.t, workers(), func(_, lo, hi int) {
		for p := lo; p < hi; p++ {
			dst := y[p*e.Dim : (p+1)*e.Dim]
			if v := e.token(x[p]); v >= 0 {
				copy(dst, e.w[v*e.Dim:(v+1)*e.Dim])
			} else {
				for j := range dst {
					dst[j] = F(math.NaN())
				}
			}
		}
	})
}

func (e *Embedding[F]) beginBackward(x, dy []F, n int) { e.x, e.dy, e.n = x, dy, n }

// backward has no input gradient to compute: NewSequential places the
// layer before every layer with parameters, where none is asked for.
func (e *Embedding[F]) backward(x, y, dy, dx []F, n int) {
	if dx != nil {
		panic("nn: Embedding asked for an input gradient")
	}
}

// rows calls row(v, pos) for each distinct token v of sample i, with pos
// the positions holding it in increasing order (order is scratch for them);
// tokens outside the vocabulary come first, as v = -1.
func (e *Embedding[F]) rows(i int, order []int32, row func(v int, pos []int32)) {
	xs := e.x[i*e.t : (i+1)*e.t]
	for p := range order {
		order[p] = int32(p)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(e.token(xs[a]), e.token(xs[b])) })
	for p0 := 0; p0 < len(order); {
		v := e.token(xs[order[p0]])
		p1 := p0 + 1
		for p1 < len(order) && e.token(xs[order[p1]]) == v {
			p1++
		}
		row(v, order[p0:p1])
		p0 = p1
	}
}

func (e *Embedding[F]) source(mode GradMode) optimizer.GradSource[F] {
	if mode != Materialized {
		e.ghost.e = e
		return &e.ghost
	}
	n, cols := e.n, e.numParams()
	e.gbuf = ensure(e.gbuf, n*cols)
	clear(e.gbuf[:n*cols])
	e.dense.Reset(n, cols, e.gbuf)
	for i := range n {
		g := e.gbuf[i*cols : (i+1)*cols]
		e.addSample(g, i, 1)
	}
	return &e.dense
}

// addSample adds w·g_i to dst, and NaN where a token is invalid.
func (e *Embedding[F]) addSample(dst []F, i int, w float64) {
	xs := e.x[i*e.t : (i+1)*e.t]
	f := F(w)
	for p, x := range xs {
		v := e.token(x)
		if v < 0 {
			dst[0] = F(math.NaN())
			continue
		}
		d := e.dy[(i*e.t+p)*e.Dim : (i*e.t+p+1)*e.Dim]
		r := dst[v*e.Dim : (v+1)*e.Dim]
		for j, g := range d {
			r[j] += f * g
		}
	}
}

func (e *Embedding[F]) accumulate(dst []F) {
	for i := range e.n {
		e.addSample(dst, i, 1)
	}
}

// state returns the table [Vocab, Dim], the layout of torch.nn.Embedding.
func (e *Embedding[F]) state() []tensor[F] {
	return []tensor[F]{{"weight", []int{e.Vocab, e.Dim}, e.w}}
}

// embeddingGhost computes an Embedding's per-sample norms and weighted sum
// from each sample's sparse rows.
type embeddingGhost[F Float] struct{ e *Embedding[F] }

func (g *embeddingGhost[F]) Samples() int { return g.e.n }
func (g *embeddingGhost[F]) Len() int     { return g.e.numParams() }

func (g *embeddingGhost[F]) Norms(dst []float64) {
	e := g.e
	if len(dst) != e.n {
		panic("nn: Norms: len(dst) != Samples()")
	}
	e.grow(e.n)
	parallel.Split(e.n, workers(), func(wk, lo, hi int) {
		for i := lo; i < hi; i++ {
			var ss float64
			e.rows(i, e.order[wk], func(v int, pos []int32) {
				if v < 0 {
					ss = math.NaN()
					return
				}
				for j := range e.Dim {
					var s float64
					for _, p := range pos {
						s += float64(e.dy[(i*e.t+int(p))*e.Dim+j])
					}
					ss += s * s
				}
			})
			dst[i] = math.Sqrt(ss)
		}
	})
}

// AddWeighted adds Σ_i w[i]·g_i to dst, sample by sample on one goroutine:
// samples share rows of dst, and a per-worker copy of the whole table would
// cost more than the sum.
func (g *embeddingGhost[F]) AddWeighted(dst []F, w []float64) {
	e := g.e
	if len(w) != e.n || len(dst) != e.numParams() {
		panic("nn: AddWeighted: len(w) != Samples() or len(dst) != Len()")
	}
	for i, wi := range w {
		if wi != 0 {
			e.addSample(dst, i, wi)
		}
	}
}
