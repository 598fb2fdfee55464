package optimizer_test

import (
	"fmt"

	"github.com/dpmpi/dpmpi/optimizer"
)

func ExampleDPOptimizer() {
	// A model with one layer of two parameters.
	arena, err := optimizer.NewArena[float64](optimizer.LayerSpec{Name: "w", Len: 2})
	if err != nil {
		panic(err)
	}
	sgd, err := optimizer.NewSGD[float64](1, 0, 0, 0, false)
	if err != nil {
		panic(err)
	}
	// σ = 0 so that the output is deterministic; real training uses σ > 0.
	opt, err := optimizer.NewDPOptimizer(arena, sgd, 1.0, optimizer.Config{
		NoiseMultiplier:   0,
		ExpectedBatchSize: 2,
		Generator:         optimizer.NewSeededGenerator(1),
	})
	if err != nil {
		panic(err)
	}
	opt.SetStepHook(func(sigma float64, k int) error {
		fmt.Printf("accountant: σ=%v, k=%d\n", sigma, k)
		return nil
	})

	// One backward pass: two samples' gradients of the layer. The first has
	// norm 5 and is clipped to norm 1; the second has norm 0.5.
	grads := optimizer.NewDenseSource(2, 2, []float64{3, 4, 0.3, 0.4})
	opt.ZeroGrad()
	if err := opt.AddBackward([]optimizer.GradSource[float64]{grads}); err != nil {
		panic(err)
	}
	stepped, err := opt.Step()
	if err != nil {
		panic(err)
	}
	fmt.Println("stepped:", stepped)
	fmt.Printf("gradient: %.8f\n", arena.Grads)
	fmt.Printf("params:   %.8f\n", arena.Params)
	// Output:
	// accountant: σ=0, k=1
	// stepped: true
	// gradient: [0.44999994 0.59999992]
	// params:   [-0.44999994 -0.59999992]
}

// A BlockGenerator draws the noise of a large model on every core; the
// noise depends only on the seed and the sequence of calls, so a run can be
// reproduced, and resumed from its MarshalBinary state, on any machine.
func ExampleNewBlockGenerator() {
	grads := make([]float64, 1_000_000)
	g := optimizer.NewBlockGenerator(42)
	optimizer.AddNoise(grads, 0.5, g, false)

	again := make([]float64, len(grads))
	optimizer.AddNoise(again, 0.5, optimizer.NewBlockGenerator(42), false)
	same := true
	for i := range grads {
		same = same && grads[i] == again[i]
	}
	fmt.Println("same seed, same noise:", same)
	// Output: same seed, same noise: true
}
