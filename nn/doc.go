// Package nn provides neural-network layers whose backward pass yields, for
// every layer with parameters, a source of per-sample gradients for
// differentially private training. Build a model as a Sequential of layers,
// place its parameters in an optimizer.Arena, and run Forward, the loss and
// Backward; Backward hands each layer's optimizer.GradSource to a ready
// callback (last layer first) or keeps them for Sources:
//
//	model, err := nn.NewSequential([]int{784}, nn.NewLinear[float32](784, 512), nn.ReLU[float32](), nn.NewLinear[float32](512, 10))
//	arena, err := model.NewArena(seed) // or optimizer.NewArena[float32](model.Specs()...) and model.Bind
//	sgd, err := optimizer.NewSGD[float32](lr, 0, 0, 0, false)
//	opt, err := perlayer.NewDPPerLayerOptimizer(arena, sgd, thresholds, cfg)
//
//	opt.ZeroGrad()
//	logits := model.Forward(x, n)                // x []float32
//	err = nn.SoftmaxCrossEntropy(logits, labels, classes, losses, dlogits)
//	err = opt.StartPass()                        // one backward pass begins
//	err = model.Backward(dlogits, opt.ClipLayer) // clips layer l as soon as it is ready
//	stepped, err := opt.Step()
//
// A per-layer optimizer that clips inside the callback starts each pass
// itself (optimizer.Engine.StartPass, as above) or does so in its hook
// (perlayer.DistributedPerLayerOptimizer.LayerReady, passed as the callback).
// An optimizer that needs every layer at once passes a nil callback and then
// model.Sources() to its AddBackward, which starts the pass. The non-private
// baseline calls model.BackwardSum(dlogits), which adds Σ_i ∇ℓ_i to the
// arena's Grads.
//
// The layers are those of the Layer documentation (Linear, Conv2d, Conv1d,
// Embedding, GroupNorm, LayerNorm, Residual, Dropout, activations, pooling
// and Flatten), with SoftmaxCrossEntropy as the loss. Each Linear or Conv2d layer
// is one arena layer holding its weight, in PyTorch layout ([out, in] or
// [out, in, kh, kw], row-major), followed by its bias; NewArena initialises
// them as PyTorch does. Data are batch-major: a batch of n samples of
// per-sample shape [C, H, W] is a slice of n·C·H·W values. Per-sample
// gradient g_i is the gradient of the per-example loss ℓ_i (not ℓ_i/n), so
// Σ_i g_i is the gradient of Σ_i ℓ_i.
//
// # Precision
//
// Every layer, model and source is generic in its element type F, float32
// or float64 (Float, which is optimizer.Float): a Sequential[F] holds
// Layer[F] values, takes and returns []F, lives in an optimizer.Arena[F]
// and hands out optimizer.GradSource[F] values; a model built from a spec
// is Build[float32](spec) or Build[float64](spec). The two precisions run
// the same code, each compiled for its type; what must differ (blas32 or
// blas64 for the products, the float32 or float64 kernels of vecmath, the
// bit tricks of ReLU) is chosen once per call, never per element.
// Whatever F is, per-sample gradient norms are accumulated and returned in
// float64, as are the statistics of the normalisation layers, the
// log-sum-exp of the loss and the smooth activations (GELU, SiLU, ELU,
// rounded to F at the end); the weights of a weighted sum (clip factors)
// are float64 and rounded to F where they multiply the gradients. Init
// draws float64 values and rounds them, so a float32 model starts at the
// float32 rounding of the float64 model of the same seed. The state dict
// (Tensor) holds float64 values in either precision. float64 results are
// bit for bit those of the package before it became generic.
//
// # Per-sample gradient sources
//
// Each parametric layer produces its optimizer.GradSource in one of two
// forms (GradMode):
//
//   - materialised: every per-sample gradient is formed explicitly, as the
//     B×n block (Linear, and Conv2d when asked for its norms alone) or one
//     sample at a time in cache when the consumer clips and accumulates in
//     one pass (Conv2d's source implements optimizer.ClipAdder, which the
//     engine's per-layer clipping uses);
//   - ghost: norms are computed from the layer's inputs and output errors
//     without forming per-sample gradients (for Linear ‖g_i‖² =
//     ‖δ_i‖²(‖a_i‖²+1); for Conv2d ‖g_i‖² = Σ_{s,t}⟨δ_s,δ_t⟩(⟨u_s,u_t⟩+1) over
//     output positions), and the weighted sum Σ_i w_i g_i is one GEMM.
//
// Mixed mode (the default) chooses per layer whichever form costs fewer
// multiply-adds for the norms and the weighted sum together: Linear layers
// are ghost, convolutions with more than one output position materialised.
// The sources stay valid until the next Forward.
//
// # Training and evaluation mode: Dropout
//
// A Sequential starts in evaluation mode, in which Dropout layers are the
// identity (PyTorch's model.eval()). SetTraining(true) turns them on; each
// training Forward then needs one key per sample, given by
// SetDropoutKeys(seed, step, ids) with ids[i] identifying sample i (its
// dataset index, say). A value's mask is a hash of (seed, step, id, the
// layer's position, the value's offset), so it does not depend on the
// batch's composition, the number of ranks or workers, or how a logical
// batch is split: a distributed run draws the masks of a single-process
// one, and a resumed run those of an uninterrupted one. The mask does not
// depend on the data and acts on one sample only, so per-sample clipping
// bounds each sample's influence as without dropout.
//
// Weight-standardised convolutions (NewStdConv2d, or Conv2d.Standardize)
// convolve with each output channel's weights standardised (see Conv2d);
// their per-sample gradients are always materialised.
//
// # Implementation notes
//
// Matrix products go through gonum's BLAS (blas64 for float64 models,
// blas32 for float32 ones), pure Go by default. Building with -tags
// openblas routes them to OpenBLAS (DGEMM, SGEMM) through gonum's netlib
// binding instead (Debian: apt-get install libopenblas-dev).
//
// The package owns the parallelism: work is split over GOMAXPROCS worker
// goroutines, and BLAS runs single-threaded inside them. With the openblas
// tag the package calls openblas_set_num_threads(1) when it is initialised,
// which overrides OPENBLAS_NUM_THREADS for the whole process. Large products
// (the Linear layers') are split into one block of output rows or columns
// per worker; convolutions run sample by sample on the worker that owns the
// sample, so the products and the scatter stay in cache. Chains of
// per-sample layers (convolution, activation, pooling, flatten) run one
// sample at a time per worker, in the forward pass and, down to the next
// layer with parameters, in the backward pass; an activation or error that
// only passes between two layers of such a chain lives in a one-sample
// worker buffer, a Tanh followed by max pooling is back-propagated in one
// scatter, and when the model's first layer with parameters is a Conv2d its
// per-sample gradients (or their sum) are formed inside the backward chain
// above it. Sums over samples are accumulated per worker and added in worker
// order, so results are bit-identical from run to run for a given
// GOMAXPROCS, whatever the scheduling.
//
// On amd64 with AVX2 and FMA, the convolutions' per-sample products, tanh
// and its gradient, 2×2 stride-1 max pooling, im2col and col2im, transposes
// and sums use vector kernels (package nn/internal/vecmath, Go assembly).
// Each has a pure-Go twin that does the same work elsewhere: on other
// architectures, on processors without those instructions, and in builds
// with -tags purego, which is how the fallbacks are tested on any machine.
// tanh is within a few ulp of the correctly rounded result either way.
//
// Buffers are sized for the largest batch seen and reused; a steady-state
// step's only allocations are the small ones of starting goroutines, none
// proportional to the batch.
package nn
