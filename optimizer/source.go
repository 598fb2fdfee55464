package optimizer

// GradSource supplies the per-sample gradients of one layer for one backward
// pass. It is the single seam between models and clipping: the optimizer never
// sees how the gradients are stored. A dense B×n block implements it directly
// (DenseSource); a Linear layer can implement it from its activations and
// back-propagated errors without materialising per-sample gradients.
//
// F is the element type of the parameters and gradients (float32 or
// float64); the norms and the weights are float64 whatever F is, because
// clipping is a threshold decision that float32 rounding should not move.
//
// A GradSource stays valid until the model's next forward pass.
type GradSource[F Float] interface {
	// Samples returns the number of samples in the batch. It may be zero.
	Samples() int
	// Len returns the number of parameters of the layer, which is the length
	// of each sample's gradient.
	Len() int
	// Norms stores in dst[i] the L2 norm of sample i's gradient for this
	// layer. It panics if len(dst) != Samples(). A sample whose gradient
	// holds a NaN or an infinity must get a norm that is NaN or +Inf.
	Norms(dst []float64)
	// AddWeighted adds Σ_i w[i]·g_i to dst. It panics if len(w) != Samples()
	// or len(dst) != Len().
	AddWeighted(dst []F, w []float64)
}

// ClipAdder is an optional interface of a GradSource that clips and
// accumulates a layer in one call, which lets it order the work for the
// cache (DenseSource reads each block of rows from memory once instead of
// twice). The engine uses it when one threshold covers the source's layer
// alone: per-layer clipping, or flat clipping of a one-layer arena.
type ClipAdder[F Float] interface {
	GradSource[F]
	// ClipAdd stores in norms[i] the L2 norm of sample i's gradient and in
	// factors[i] its clip factor ClipFactor(maxNorm, norms[i]), and adds
	// Σ_i factors[i]·g_i to dst: the result of Norms then AddWeighted, up
	// to rounding. It panics if len(norms) or len(factors) != Samples() or
	// len(dst) != Len().
	ClipAdd(dst []F, maxNorm float64, norms, factors []float64)
}
