package nn

import "testing"

// layerBenchModels are small models in which the named layer kind does most
// of the work, for per-layer throughput: DP (per-layer clipping, Mixed mode)
// against non-private, batch 256. The activations sit after a LayerNorm,
// the cheapest layer with parameters, because a layer below every
// parameter layer is never back-propagated through.
var layerBenchModels = []struct {
	name  string
	build func() (*Sequential[float64], error)
}{
	{"GroupNorm", func() (*Sequential[float64], error) {
		return NewSequential[float64]([]int{16, 14, 14}, NewGroupNorm[float64](4, 16), GlobalAvgPool[float64](), NewLinear[float64](16, 10))
	}},
	{"LayerNorm", func() (*Sequential[float64], error) {
		return NewSequential[float64]([]int{16, 14, 14}, NewLayerNorm[float64](), GlobalAvgPool[float64](), NewLinear[float64](16, 10))
	}},
	{"LayerNorm+GELU", func() (*Sequential[float64], error) {
		return NewSequential[float64]([]int{16, 14, 14}, NewLayerNorm[float64](), GELU[float64](), GlobalAvgPool[float64](), NewLinear[float64](16, 10))
	}},
	{"LayerNorm+SiLU", func() (*Sequential[float64], error) {
		return NewSequential[float64]([]int{16, 14, 14}, NewLayerNorm[float64](), SiLU[float64](), GlobalAvgPool[float64](), NewLinear[float64](16, 10))
	}},
	{"LayerNorm+ELU", func() (*Sequential[float64], error) {
		return NewSequential[float64]([]int{16, 14, 14}, NewLayerNorm[float64](), ELU[float64](1), GlobalAvgPool[float64](), NewLinear[float64](16, 10))
	}},
	{"Conv1d", func() (*Sequential[float64], error) {
		return NewSequential[float64]([]int{16, 128}, NewConv1d[float64](16, 32, 5, 1, 2), Tanh[float64](), NewConv1d[float64](32, 32, 5, 2, 2), Flatten[float64](), NewLinear[float64](32*64, 10))
	}},
	{"Embedding", func() (*Sequential[float64], error) {
		return NewSequential[float64]([]int{64}, NewEmbedding[float64](10000, 64), Flatten[float64](), NewLinear[float64](64*64, 10))
	}},
	{"LayerNorm+Dropout", func() (*Sequential[float64], error) {
		return training(NewSequential[float64]([]int{16, 14, 14}, NewLayerNorm[float64](), Dropout[float64](0.2), GlobalAvgPool[float64](), NewLinear[float64](16, 10)))
	}},
	{"Conv2d", func() (*Sequential[float64], error) {
		return NewSequential[float64]([]int{16, 14, 14}, NewConv2d[float64](16, 16, 3, 1, 1), Tanh[float64](), GlobalAvgPool[float64](), NewLinear[float64](16, 10))
	}},
	{"StdConv2d", func() (*Sequential[float64], error) {
		return NewSequential[float64]([]int{16, 14, 14}, NewStdConv2d[float64](16, 16, 3, 1, 1), Tanh[float64](), GlobalAvgPool[float64](), NewLinear[float64](16, 10))
	}},
	{"Residual(GroupNorm, Tanh, Conv2d)", func() (*Sequential[float64], error) {
		return NewSequential[float64]([]int{16, 14, 14}, NewLayerNorm[float64](),
			Residual[float64](nil, NewGroupNorm[float64](4, 16), Tanh[float64](), NewConv2d[float64](16, 16, 3, 1, 1)), GlobalAvgPool[float64](), NewLinear[float64](16, 10))
	}},
}

// training puts a benchmark model in training mode, with dropout keys for
// a batch of 256.
func training(s *Sequential[float64], err error) (*Sequential[float64], error) {
	if err != nil {
		return nil, err
	}
	ids := make([]int, 256)
	for i := range ids {
		ids[i] = i
	}
	s.SetTraining(true)
	s.SetDropoutKeys(1, 0, ids)
	return s, nil
}

// BenchmarkLayer reports samples/s of a training step for each model of
// layerBenchModels, non-private and DP.
//
//	go test -run '^$' -bench 'BenchmarkLayer' ./nn
func BenchmarkLayer(b *testing.B) {
	for _, m := range layerBenchModels {
		b.Run(m.name+"/nonprivate", func(b *testing.B) { benchStep(b, m.build, Mixed, false) })
		b.Run(m.name+"/dp", func(b *testing.B) { benchStep(b, m.build, Mixed, true) })
	}
}
