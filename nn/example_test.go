package nn_test

import (
	"fmt"
	"log"

	"github.com/dpmpi/dpmpi/nn"
	"github.com/dpmpi/dpmpi/optimizer"
)

// A private training step with per-layer clipping: the ready callback fires
// for each Linear layer as soon as its per-sample gradients exist, last
// layer first, and clips them into the arena's gradient buffer.
func ExampleSequential_Backward() {
	model, err := nn.NewSequential[float64]([]int{4},
		nn.NewLinear[float64](4, 8), nn.ReLU[float64](), nn.NewLinear[float64](8, 3))
	if err != nil {
		log.Fatal(err)
	}
	arena, err := model.NewArena(1) // parameters initialised as PyTorch does
	if err != nil {
		log.Fatal(err)
	}
	const n, classes = 2, 3
	x := []float64{0.1, 0.2, 0.3, 0.4, -1, 0, 1, 2}
	labels := []int{0, 2}
	logits := model.Forward(x, n)
	dlogits := make([]float64, n*classes)
	if err := nn.SoftmaxCrossEntropy(logits, labels, classes, nil, dlogits); err != nil {
		log.Fatal(err)
	}
	const C = 1.0 // per-layer threshold
	norms, factors := make([]float64, n), make([]float64, n)
	err = model.Backward(dlogits, func(l int, src optimizer.GradSource[float64]) error {
		src.Norms(norms)
		for i, v := range norms {
			factors[i] = min(1, C/(v+1e-6))
		}
		src.AddWeighted(arena.Grad(l), factors)
		fmt.Printf("layer %d (%s): %d samples, %d parameters\n", l, arena.Layers[l].Name, src.Samples(), src.Len())
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// layer 1 (2.Linear(8, 3)): 2 samples, 27 parameters
	// layer 0 (0.Linear(4, 8)): 2 samples, 40 parameters
}

// The non-private path accumulates the batch gradient Σ_i ∇ℓ_i directly
// into the arena.
func ExampleSequential_BackwardSum() {
	model, err := nn.NewSequential[float64]([]int{1, 6, 6},
		nn.NewConv2d[float64](1, 2, 3, 1, 1), nn.Tanh[float64](), nn.NewMaxPool2d[float64](2, 2),
		nn.Flatten[float64](), nn.NewLinear[float64](2*3*3, 2))
	if err != nil {
		log.Fatal(err)
	}
	arena, err := model.NewArena(7)
	if err != nil {
		log.Fatal(err)
	}
	x := make([]float64, 36)
	for i := range x {
		x[i] = float64(i%5) - 2
	}
	logits := model.Forward(x, 1)
	d := make([]float64, 2)
	if err := nn.SoftmaxCrossEntropy(logits, []int{1}, 2, nil, d); err != nil {
		log.Fatal(err)
	}
	clear(arena.Grads)
	if err := model.BackwardSum(d); err != nil {
		log.Fatal(err)
	}
	fmt.Println(model.OutShape(), arena.Len(), len(arena.Grads))
	// Output:
	// [2] 58 58
}

// The same spec builds a float32 or a float64 model. A float32 model
// starts at the float32 rounding of the float64 model initialised with the
// same seed, and computes in float32 (norms and clip factors in float64).
func ExampleBuild() {
	spec, err := nn.BuiltinSpec("mlp")
	if err != nil {
		log.Fatal(err)
	}
	m32, err := nn.Build[float32](spec)
	if err != nil {
		log.Fatal(err)
	}
	m64, err := nn.Build[float64](spec)
	if err != nil {
		log.Fatal(err)
	}
	a32, err := m32.NewArena(1)
	if err != nil {
		log.Fatal(err)
	}
	a64, err := m64.NewArena(1)
	if err != nil {
		log.Fatal(err)
	}
	rounded := true
	for i, v := range a64.Params {
		rounded = rounded && a32.Params[i] == float32(v)
	}
	fmt.Println(len(a32.Params), "parameters, float32 rounding of float64:", rounded)
	x := make([]float32, 2*784) // two samples
	logits := m32.Forward(x, 2)
	fmt.Printf("%d logits of type %T\n", len(logits), logits[0])
	// Output:
	// 101770 parameters, float32 rounding of float64: true
	// 20 logits of type float32
}
