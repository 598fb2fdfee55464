package nn_test

import (
	"testing"

	"github.com/dpmpi/dpmpi/data"
	"github.com/dpmpi/dpmpi/nn"
	"github.com/dpmpi/dpmpi/optimizer"
)

// TestTrainFashionMNIST trains a small MLP on Fashion-MNIST with Poisson
// sampling and per-layer clipping (no noise) through ghost sources, and
// checks that it learns: a linear model reaches about 80% test accuracy, a
// broken gradient stays near 10%.
func TestTrainFashionMNIST(t *testing.T) {
	train, err := data.LoadFashionMNIST("", true)
	if err != nil {
		t.Fatal(err)
	}
	test, err := data.LoadFashionMNIST("", false)
	if err != nil {
		t.Fatal(err)
	}
	model, err := nn.NewSequential[float64]([]int{784}, nn.NewLinear[float64](784, 32), nn.ReLU[float64](), nn.NewLinear[float64](32, 10))
	if err != nil {
		t.Fatal(err)
	}
	arena, err := model.NewArena(3)
	if err != nil {
		t.Fatal(err)
	}
	sampler, err := data.NewPoisson(train.N, 64.0/float64(train.N), 5)
	if err != nil {
		t.Fatal(err)
	}
	const steps, lr, clip = 400, 0.5, 1.0
	var idx []int
	x := make([]float64, 0, 256*784)
	y := make([]int, 0, 256)
	d := make([]float64, 0, 256*10)
	norms, factors := make([]float64, 256), make([]float64, 256)
	for s := 0; s < steps; s++ {
		idx = sampler.Next(idx)
		n := len(idx)
		x, y, d = x[:n*784], y[:n], d[:n*10]
		train.Batch(idx, x, y)
		out := model.Forward(x, n)
		if err := nn.SoftmaxCrossEntropy(out, y, 10, nil, d); err != nil {
			t.Fatal(err)
		}
		clear(arena.Grads)
		err := model.Backward(d, func(l int, src optimizer.GradSource[float64]) error {
			src.Norms(norms[:n])
			for i, v := range norms[:n] {
				factors[i] = min(1, clip/(v+1e-6))
			}
			src.AddWeighted(arena.Grad(l), factors[:n])
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for j, g := range arena.Grads {
			arena.Params[j] -= lr * g / 64
		}
	}
	const m = 2000
	idx = idx[:0]
	for i := 0; i < m; i++ {
		idx = append(idx, i)
	}
	xt, yt := make([]float64, m*784), make([]int, m)
	test.Batch(idx, xt, yt)
	out := model.Forward(xt, m)
	correct := 0
	for i := 0; i < m; i++ {
		best := 0
		for c := 1; c < 10; c++ {
			if out[i*10+c] > out[i*10+best] {
				best = c
			}
		}
		if best == yt[i] {
			correct++
		}
	}
	if acc := float64(correct) / m; acc < 0.72 {
		t.Fatalf("test accuracy %.3f after %d steps, want ≥ 0.72", acc, steps)
	}
}
