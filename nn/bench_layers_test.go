package nn

import "testing"

// layerBenchModels are small models in which the named layer kind does most
// of the work, for per-layer throughput: DP (per-layer clipping, Mixed mode)
// against non-private, batch 256. The activations sit after a LayerNorm,
// the cheapest layer with parameters, because a layer below every
// parameter layer is never back-propagated through.
var layerBenchModels = []struct {
	name  string
	build func() (*Sequential, error)
}{
	{"GroupNorm", func() (*Sequential, error) {
		return NewSequential([]int{16, 14, 14}, NewGroupNorm(4, 16), GlobalAvgPool(), NewLinear(16, 10))
	}},
	{"LayerNorm", func() (*Sequential, error) {
		return NewSequential([]int{16, 14, 14}, NewLayerNorm(), GlobalAvgPool(), NewLinear(16, 10))
	}},
	{"LayerNorm+GELU", func() (*Sequential, error) {
		return NewSequential([]int{16, 14, 14}, NewLayerNorm(), GELU(), GlobalAvgPool(), NewLinear(16, 10))
	}},
	{"LayerNorm+SiLU", func() (*Sequential, error) {
		return NewSequential([]int{16, 14, 14}, NewLayerNorm(), SiLU(), GlobalAvgPool(), NewLinear(16, 10))
	}},
	{"LayerNorm+ELU", func() (*Sequential, error) {
		return NewSequential([]int{16, 14, 14}, NewLayerNorm(), ELU(1), GlobalAvgPool(), NewLinear(16, 10))
	}},
	{"Conv1d", func() (*Sequential, error) {
		return NewSequential([]int{16, 128}, NewConv1d(16, 32, 5, 1, 2), Tanh(), NewConv1d(32, 32, 5, 2, 2), Flatten(), NewLinear(32*64, 10))
	}},
	{"Embedding", func() (*Sequential, error) {
		return NewSequential([]int{64}, NewEmbedding(10000, 64), Flatten(), NewLinear(64*64, 10))
	}},
	{"LayerNorm+Dropout", func() (*Sequential, error) {
		return training(NewSequential([]int{16, 14, 14}, NewLayerNorm(), Dropout(0.2), GlobalAvgPool(), NewLinear(16, 10)))
	}},
	{"Conv2d", func() (*Sequential, error) {
		return NewSequential([]int{16, 14, 14}, NewConv2d(16, 16, 3, 1, 1), Tanh(), GlobalAvgPool(), NewLinear(16, 10))
	}},
	{"StdConv2d", func() (*Sequential, error) {
		return NewSequential([]int{16, 14, 14}, NewStdConv2d(16, 16, 3, 1, 1), Tanh(), GlobalAvgPool(), NewLinear(16, 10))
	}},
	{"Residual(GroupNorm, Tanh, Conv2d)", func() (*Sequential, error) {
		return NewSequential([]int{16, 14, 14}, NewLayerNorm(),
			Residual(nil, NewGroupNorm(4, 16), Tanh(), NewConv2d(16, 16, 3, 1, 1)), GlobalAvgPool(), NewLinear(16, 10))
	}},
}

// training puts a benchmark model in training mode, with dropout keys for
// a batch of 256.
func training(s *Sequential, err error) (*Sequential, error) {
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
