package optimizer

// GradSource supplies the per-sample gradients of one layer for one backward
// pass. It is the single seam between models and clipping: the optimizer never
// sees how the gradients are stored. A dense B×n block implements it directly
// (DenseSource); a Linear layer can implement it from its activations and
// back-propagated errors without materialising per-sample gradients.
//
// A GradSource stays valid until the model's next forward pass.
type GradSource interface {
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
	AddWeighted(dst, w []float64)
}
