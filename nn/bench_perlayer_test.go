package nn_test

import (
	"math/rand/v2"
	"testing"

	"github.com/dpmpi/dpmpi/nn"
	"github.com/dpmpi/dpmpi/optimizer"
	"github.com/dpmpi/dpmpi/perlayer"
)

// benchOptimizerStep times a whole private step through the per-layer
// optimizer: forward, loss, backward with each layer clipped by ClipLayer
// as soon as it is ready, then Step (noise σ = 1, scaling, SGD update).
func benchOptimizerStep(b *testing.B, model *nn.Sequential[float64], mode nn.GradMode) {
	const n = 256
	arena, err := model.NewArena(1)
	if err != nil {
		b.Fatal(err)
	}
	model.SetGradMode(mode)
	sgd, err := optimizer.NewSGD[float64](0.1, 0, 0, 0, false)
	if err != nil {
		b.Fatal(err)
	}
	clips := make([]float64, model.NumLayers())
	for i := range clips {
		clips[i] = 1
	}
	opt, err := perlayer.NewDPPerLayerOptimizer(arena, sgd, clips, optimizer.Config{
		NoiseMultiplier: 1, ExpectedBatchSize: n, Generator: optimizer.NewBlockGenerator(1),
	})
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, n*784)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	y := make([]int, n)
	for i := range y {
		y[i] = r.IntN(10)
	}
	d := make([]float64, n*10)
	ready := func(l int, src optimizer.GradSource[float64]) error { return opt.ClipLayer(l, src) }
	step := func() {
		opt.ZeroGrad()
		out := model.Forward(x, n)
		if err := nn.SoftmaxCrossEntropy(out, y, 10, nil, d); err != nil {
			b.Fatal(err)
		}
		if err := opt.StartPass(); err != nil {
			b.Fatal(err)
		}
		if err := model.Backward(d, ready); err != nil {
			b.Fatal(err)
		}
		if _, err := opt.Step(); err != nil {
			b.Fatal(err)
		}
	}
	step()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

func BenchmarkPerLayerOptimizerMLP(b *testing.B) {
	m, err := nn.NewSequential[float64]([]int{784},
		nn.NewLinear[float64](784, 512), nn.ReLU[float64](), nn.NewLinear[float64](512, 256), nn.ReLU[float64](), nn.NewLinear[float64](256, 10))
	if err != nil {
		b.Fatal(err)
	}
	benchOptimizerStep(b, m, nn.Mixed)
}

func BenchmarkPerLayerOptimizerCNN(b *testing.B) {
	m, err := nn.NewSequential[float64]([]int{1, 28, 28},
		nn.NewConv2d[float64](1, 16, 8, 2, 3), nn.Tanh[float64](), nn.NewMaxPool2d[float64](2, 1),
		nn.NewConv2d[float64](16, 32, 4, 2, 0), nn.Tanh[float64](), nn.NewMaxPool2d[float64](2, 1),
		nn.Flatten[float64](), nn.NewLinear[float64](32*4*4, 32), nn.Tanh[float64](), nn.NewLinear[float64](32, 10))
	if err != nil {
		b.Fatal(err)
	}
	benchOptimizerStep(b, m, nn.Mixed)
}
