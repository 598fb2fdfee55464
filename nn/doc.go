// Package nn provides neural-network layers whose backward pass yields, for
// every layer with parameters, a source of per-sample gradients for
// differentially private training.
//
// A model is a Sequential of layers (Linear, Conv2d, ReLU, Tanh, MaxPool2d,
// AvgPool2d, Flatten) whose parameters live in an optimizer.Arena: each Linear
// or Conv2d layer is one arena layer holding its weight, in PyTorch layout
// ([out, in] or [out, in, kh, kw], row-major), followed by its bias. All data
// are float64 and batch-major: a batch of n samples of per-sample shape
// [C, H, W] is a slice of n·C·H·W values.
//
// A model is built and placed in an arena with
//
//	model, err := nn.NewSequential([]int{784}, nn.NewLinear(784, 512), nn.ReLU(), nn.NewLinear(512, 10))
//	arena, err := model.NewArena(seed) // or optimizer.NewArena(model.Specs()...) and model.Bind
//
// and a training step is
//
//	logits := model.Forward(x, n)
//	nn.SoftmaxCrossEntropy(logits, labels, classes, losses, dlogits)
//	model.Backward(dlogits, ready) // ready(l, src) fires last layer first
//
// where a hook-style per-layer optimizer clips layer l inside ready (for
// example ready = func(l int, src optimizer.GradSource) error { return
// opt.ClipLayer(l, src) }), and an optimizer that needs every layer at once
// passes nil and then model.Sources() to its AddBackward. The non-private
// baseline calls model.BackwardSum(dlogits), which adds Σ_i ∇ℓ_i to the
// arena's Grads.
//
// Per-sample gradient g_i is the gradient of the per-example loss ℓ_i (not
// ℓ_i/n), so Σ_i g_i is the gradient of Σ_i ℓ_i. Each parametric layer
// produces an optimizer.GradSource in one of two forms:
//
//   - materialised: the B×n block of per-sample gradients is written out;
//   - ghost: norms are computed from the layer's inputs and output errors
//     without forming per-sample gradients (for Linear ‖g_i‖² =
//     ‖δ_i‖²(‖a_i‖²+1); for Conv2d ‖g_i‖² = Σ_{s,t}⟨δ_s,δ_t⟩(⟨u_s,u_t⟩+1) over
//     output positions), and the weighted sum Σ_i w_i g_i is one GEMM.
//
// Mixed mode (the default) chooses per layer whichever form costs fewer
// floating-point operations, as mixed ghost clipping does.
//
// Matrix products go through gonum's BLAS (blas64), pure Go by default.
// Building with -tags openblas routes them to OpenBLAS through gonum's
// netlib binding instead (Debian: apt-get install libopenblas-dev);
// OPENBLAS_NUM_THREADS sets its thread count. Per-sample loops run on GOMAXPROCS goroutines over fixed
// sample ranges, so results are bit-identical whatever the scheduling.
// Buffers are sized for the largest batch seen and reused; a steady-state
// step's only allocations are the small ones of starting goroutines (and of
// gonum's parallel GEMM), none proportional to the batch.
package nn
