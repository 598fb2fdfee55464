package nn

import (
	"fmt"
	"math"

	"github.com/dpmpi/dpmpi/internal/parallel"
	"github.com/dpmpi/dpmpi/optimizer"
)

// SetMultiplicity makes Backward present every k consecutive rows of the
// batch as one sample: augmentation multiplicity (De et al. 2022,
// "Unlocking high-accuracy differentially private image classification
// through scale"), where the k rows are augmented copies of one training
// example. The per-sample gradient sources of a batch of n·k rows then have
// n samples, sample i's gradient being the mean of the gradients of rows
// i·k, …, i·k+k−1; clipping that mean keeps each example's sensitivity at
// the clipping threshold, so the privacy guarantee is that of n samples.
// Forward and the loss see all n·k rows, unscaled.
//
// Under multiplicity Linear layers keep their ghost form (the norm of a
// group's gradient comes from k×k Gram blocks of its inputs and output
// errors) and the other layers with parameters materialise their
// per-sample gradients, which are averaged in groups; the grad mode applies
// to Linear layers only. k = 1, the default, is no multiplicity. It returns
// an error if k < 1. Backward fails on a batch whose rows are not a
// multiple of k, and BackwardSum fails under multiplicity.
func (s *Sequential[F]) SetMultiplicity(k int) error {
	if k < 1 {
		return fmt.Errorf("nn: SetMultiplicity(%d): the multiplicity must be ≥ 1 (1: every row is its own sample)", k)
	}
	s.mult = k
	if len(s.groups) != len(s.params) {
		s.groups = make([]groupState[F], len(s.params))
	}
	return nil
}

// Multiplicity returns the rows per sample of Backward's sources.
func (s *Sequential[F]) Multiplicity() int { return max(s.mult, 1) }

// layerMode is the grad mode of layer p's sources: the model's, or under
// multiplicity ghost for Linear layers and materialised for the others.
func (s *Sequential[F]) layerMode(p paramLayer[F]) GradMode {
	if s.mult <= 1 {
		return s.mode
	}
	if _, ok := p.(*Linear[F]); ok && s.mode != Materialized {
		return Ghost
	}
	return Materialized
}

// groupState is an arena layer's grouped source and its buffers, reused
// between steps.
type groupState[F Float] struct {
	dense optimizer.DenseSource[F]
	buf   []F
	norms []float64
	lin   groupedLinear[F]
}

// group returns arena layer a's source src over n·k rows as a source over n
// samples (see SetMultiplicity).
func (s *Sequential[F]) group(a int, src optimizer.GradSource[F]) (optimizer.GradSource[F], error) {
	k, g := s.mult, &s.groups[a]
	switch v := src.(type) {
	case *linearGhost[F]:
		g.lin.g, g.lin.k = v, k
		g.lin.w = ensure(g.lin.w, v.l.n)
		return &g.lin, nil
	case *convExplicit[F]:
		// Write the rows' block, then average it like any dense source.
		g.norms = ensure(g.norms, v.Samples())
		v.Norms(g.norms)
		return groupDense(g, &v.c.dense, k), nil
	case *optimizer.DenseSource[F]:
		return groupDense(g, v, k), nil
	}
	return nil, fmt.Errorf("nn: augmentation multiplicity: the per-sample gradients of layer %d (%s) are a %T, which cannot be grouped", a, s.names[a], src)
}

// groupDense averages the rows of d in groups of k into g.dense.
func groupDense[F Float](g *groupState[F], d *optimizer.DenseSource[F], k int) *optimizer.DenseSource[F] {
	n, cols := d.Samples()/k, d.Len()
	g.buf = ensure(g.buf, n*cols)
	buf := g.buf
	parallel.Split(n, workers(), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			row := buf[i*cols : (i+1)*cols]
			copy(row, d.Row(i*k))
			for j := 1; j < k; j++ {
				addTo(row, d.Row(i*k+j))
			}
			scaleTo(row, 1/float64(k), row)
		}
	})
	g.dense.Reset(n, cols, buf)
	return &g.dense
}

// groupedLinear is the ghost source of a Linear layer under multiplicity k.
// Sample i's gradient is (1/k)·Σ_r [δ_r ⊗ a_r, δ_r] over its rows r, so its
// squared norm is (1/k²)·Σ_{r,r'} ⟨δ_r,δ_r'⟩(⟨a_r,a_r'⟩+1).
type groupedLinear[F Float] struct {
	g *linearGhost[F]
	k int
	w []float64 // the rows' weights
}

func (s *groupedLinear[F]) Samples() int { return s.g.l.n / s.k }
func (s *groupedLinear[F]) Len() int     { return s.g.Len() }

func (s *groupedLinear[F]) Norms(dst []float64) {
	l, k := s.g.l, s.k
	if len(dst) != s.Samples() {
		panic("nn: Norms: len(dst) != Samples()")
	}
	parallel.Split(len(dst), workers(), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			sq := 0.0
			for r := i * k; r < (i+1)*k; r++ {
				ar, dr := l.x[r*l.In:(r+1)*l.In], l.dy[r*l.Out:(r+1)*l.Out]
				for q := r; q < (i+1)*k; q++ {
					v := dot64(dr, l.dy[q*l.Out:(q+1)*l.Out]) * (dot64(ar, l.x[q*l.In:(q+1)*l.In]) + 1)
					if q != r {
						v *= 2
					}
					sq += v
				}
			}
			dst[i] = math.Sqrt(max(sq, 0)) / float64(k)
		}
	})
}

func (s *groupedLinear[F]) AddWeighted(dst []F, w []float64) {
	if len(w) != s.Samples() {
		panic("nn: AddWeighted: len(w) != Samples()")
	}
	for r := range s.w {
		s.w[r] = w[r/s.k] / float64(s.k)
	}
	s.g.AddWeighted(dst, s.w)
}
