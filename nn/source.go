package nn

import (
	"runtime"
)

// GradMode selects how a layer's per-sample gradients are represented.
type GradMode int

const (
	// Mixed chooses, per layer, the cheaper of Ghost and Materialized by
	// counting the multiply-adds per sample of everything per-layer
	// clipping needs, the norms and the weighted sum. Linear layers are
	// always ghost. A Conv2d layer with L output positions, C_out channels
	// and K = C_in·kh·kw costs L·C_out·K + C_out·K + C_out materialised
	// (the product G_i = dY_i·U_i, then its norm and its share of the
	// weighted sum) and L²·(C_out+K) + L·C_out·K in ghost form (two Gram
	// matrices, then the weighted product), so it is ghost when
	// L²·(C_out+K) < C_out·K + C_out (see Conv2d.UsesGhost): in practice
	// only with a single output position.
	Mixed GradMode = iota
	// Ghost computes norms and weighted sums from the layer's inputs and
	// output errors without forming per-sample gradients.
	Ghost
	// Materialized computes every sample's gradient explicitly. Linear
	// writes the B×n block of per-sample gradients. Conv2d writes it when
	// its source's Norms is called; its ClipAdd (the per-layer clipping
	// path of package optimizer) instead forms one sample's gradient at a
	// time in cache, clips it and adds it, without writing the block.
	Materialized
)

// String returns the mode's name.
func (m GradMode) String() string {
	switch m {
	case Mixed:
		return "mixed"
	case Ghost:
		return "ghost"
	case Materialized:
		return "materialized"
	}
	return "GradMode(?)"
}

// workers returns the number of goroutines used for per-sample loops.
func workers() int { return max(1, runtime.GOMAXPROCS(0)) }

// ensure returns buf if it holds at least n values, otherwise a new slice of
// length n.
func ensure[T any](buf []T, n int) []T {
	if cap(buf) >= n {
		return buf[:n]
	}
	return make([]T, n)
}
