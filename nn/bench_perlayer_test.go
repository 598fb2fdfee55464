package nn_test

import (
	"math/rand/v2"
	"testing"

	"github.com/dpmpi/dpmpi/nn"
	"github.com/dpmpi/dpmpi/optimizer"
	"github.com/dpmpi/dpmpi/perlayer"
)

// benchOptimizerStep times a whole private step through the per-layer
// optimizer in precision F: forward, loss, backward with each layer clipped
// by ClipLayer as soon as it is ready, then Step (noise σ = 1, scaling, SGD
// update).
func benchOptimizerStep[F optimizer.Float](b *testing.B, model *nn.Sequential[F], mode nn.GradMode) {
	const n = 256
	arena, err := model.NewArena(1)
	if err != nil {
		b.Fatal(err)
	}
	model.SetGradMode(mode)
	sgd, err := optimizer.NewSGD[F](0.1, 0, 0, 0, false)
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
	x := make([]F, n*784)
	for i := range x {
		x[i] = F(r.NormFloat64())
	}
	y := make([]int, n)
	for i := range y {
		y[i] = r.IntN(10)
	}
	d := make([]F, n*10)
	ready := func(l int, src optimizer.GradSource[F]) error { return opt.ClipLayer(l, src) }
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

// perLayerMLP builds the MLP 784-512-256-10 of the Opacus comparison in
// precision F.
func perLayerMLP[F optimizer.Float](b *testing.B) *nn.Sequential[F] {
	m, err := nn.NewSequential[F]([]int{784},
		nn.NewLinear[F](784, 512), nn.ReLU[F](), nn.NewLinear[F](512, 256), nn.ReLU[F](), nn.NewLinear[F](256, 10))
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// perLayerCNN builds the tanh CNN of the Opacus comparison in precision F.
func perLayerCNN[F optimizer.Float](b *testing.B) *nn.Sequential[F] {
	m, err := nn.NewSequential[F]([]int{1, 28, 28},
		nn.NewConv2d[F](1, 16, 8, 2, 3), nn.Tanh[F](), nn.NewMaxPool2d[F](2, 1),
		nn.NewConv2d[F](16, 32, 4, 2, 0), nn.Tanh[F](), nn.NewMaxPool2d[F](2, 1),
		nn.Flatten[F](), nn.NewLinear[F](32*4*4, 32), nn.Tanh[F](), nn.NewLinear[F](32, 10))
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// The float32 benchmarks run the same models, inputs and seeds as the
// float64 ones, so that -bench PerLayerOptimizer compares the precisions.
func BenchmarkPerLayerOptimizerMLP(b *testing.B) {
	benchOptimizerStep(b, perLayerMLP[float64](b), nn.Mixed)
}

func BenchmarkPerLayerOptimizerCNN(b *testing.B) {
	benchOptimizerStep(b, perLayerCNN[float64](b), nn.Mixed)
}

func BenchmarkPerLayerOptimizerMLPFloat32(b *testing.B) {
	benchOptimizerStep(b, perLayerMLP[float32](b), nn.Mixed)
}

func BenchmarkPerLayerOptimizerCNNFloat32(b *testing.B) {
	benchOptimizerStep(b, perLayerCNN[float32](b), nn.Mixed)
}
