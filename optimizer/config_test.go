package optimizer_test

import (
	"math"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/optimizer"
)

func threeLayerArena(t testing.TB) *optimizer.Arena[float64] {
	t.Helper()
	a, err := optimizer.NewArena[float64](
		optimizer.LayerSpec{Name: "fc1", Shape: []int{2, 3}, Len: 6},
		optimizer.LayerSpec{Name: "bias", Len: 2},
		optimizer.LayerSpec{Name: "fc2", Len: 4},
	)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustSGD(t testing.TB, lr float64) *optimizer.SGD[float64] {
	t.Helper()
	o, err := optimizer.NewSGD[float64](lr, 0, 0, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestValidation(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	ok := optimizer.Config{NoiseMultiplier: 1, ExpectedBatchSize: 8, Generator: optimizer.NewSeededGenerator(1)}
	with := func(f func(*optimizer.Config)) optimizer.Config { c := ok; f(&c); return c }
	flat := optimizer.FlatClipping(1)
	tests := []struct {
		name string
		clip optimizer.Clipping
		cfg  optimizer.Config
		want []string // substrings of the error; nil means no error
	}{
		{"valid mean", flat, ok, nil},
		{"valid sum without batch size", flat, with(func(c *optimizer.Config) { c.LossReduction = optimizer.Sum; c.ExpectedBatchSize = 0 }), nil},
		{"valid sigma zero", flat, with(func(c *optimizer.Config) { c.NoiseMultiplier = 0 }), nil},
		{"valid fractional batch size", flat, with(func(c *optimizer.Config) { c.ExpectedBatchSize = 2.5 }), nil},
		{"valid per-layer", optimizer.PerLayerClipping([]float64{1, 2, 3}), ok, nil},
		{"valid secure nil generator", flat, with(func(c *optimizer.Config) { c.SecureMode = true; c.Generator = nil }), nil},
		{"bad reduction", flat, with(func(c *optimizer.Config) { c.LossReduction = "avg" }), []string{`"avg"`, `"mean"`, `"sum"`}},
		{"mean without batch size", flat, with(func(c *optimizer.Config) { c.ExpectedBatchSize = 0 }), []string{"ExpectedBatchSize is 0", "mean"}},
		{"mean negative batch size", flat, with(func(c *optimizer.Config) { c.ExpectedBatchSize = -4 }), []string{"ExpectedBatchSize is -4"}},
		{"mean infinite batch size", flat, with(func(c *optimizer.Config) { c.ExpectedBatchSize = inf }), []string{"ExpectedBatchSize is +Inf"}},
		{"mean NaN batch size", flat, with(func(c *optimizer.Config) { c.ExpectedBatchSize = nan }), []string{"ExpectedBatchSize is NaN"}},
		{"sum negative batch size", flat, with(func(c *optimizer.Config) { c.LossReduction = optimizer.Sum; c.ExpectedBatchSize = -1 }), []string{"ExpectedBatchSize is -1"}},
		{"negative sigma", flat, with(func(c *optimizer.Config) { c.NoiseMultiplier = -0.5 }), []string{"NoiseMultiplier is -0.5"}},
		{"infinite sigma", flat, with(func(c *optimizer.Config) { c.NoiseMultiplier = inf }), []string{"NoiseMultiplier is +Inf"}},
		{"NaN sigma", flat, with(func(c *optimizer.Config) { c.NoiseMultiplier = nan }), []string{"NoiseMultiplier is NaN"}},
		{"zero C", optimizer.FlatClipping(0), ok, []string{"max gradient norm is 0"}},
		{"negative C", optimizer.FlatClipping(-1), ok, []string{"max gradient norm is -1"}},
		{"infinite C", optimizer.FlatClipping(inf), ok, []string{"max gradient norm is +Inf"}},
		{"NaN C", optimizer.FlatClipping(nan), ok, []string{"max gradient norm is NaN"}},
		{"zero clipping", optimizer.Clipping{}, ok, []string{"no clipping thresholds"}},
		{"per-layer count", optimizer.PerLayerClipping([]float64{1, 2}), ok, []string{"2 per-layer clipping thresholds", "3 layers"}},
		{"per-layer bad threshold", optimizer.PerLayerClipping([]float64{1, 0, 3}), ok, []string{"layer 1", `"bias"`, "is 0"}},
		{"secure with seeded generator", flat, with(func(c *optimizer.Config) { c.SecureMode = true }), []string{"secure mode forbids a seeded generator"}},
		{"secure with block generator", flat, with(func(c *optimizer.Config) { c.SecureMode = true; c.Generator = optimizer.NewBlockGenerator(1) }), []string{"secure mode forbids a seeded generator", "*optimizer.BlockGenerator"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := optimizer.NewEngine(threeLayerArena(t), mustSGD(t, 0.1), tt.clip, tt.cfg, nil)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestConstructorErrors(t *testing.T) {
	cfg := optimizer.Config{ExpectedBatchSize: 1, Generator: optimizer.NewSeededGenerator(1)}
	a := threeLayerArena(t)
	if _, err := optimizer.NewEngine(nil, mustSGD(t, 1), optimizer.FlatClipping(1), cfg, nil); err == nil || !strings.Contains(err.Error(), "no layers") {
		t.Errorf("nil arena: got %v", err)
	}
	if _, err := optimizer.NewEngine(a, nil, optimizer.FlatClipping(1), cfg, nil); err == nil || !strings.Contains(err.Error(), "no wrapped optimizer") {
		t.Errorf("nil updater: got %v", err)
	}
	if _, err := optimizer.NewDistributedDPOptimizer(a, mustSGD(t, 1), 1, cfg, nil); err == nil || !strings.Contains(err.Error(), "needs a communicator") {
		t.Errorf("nil communicator: got %v", err)
	}
	sg, err := optimizer.NewSecureGenerator()
	if err != nil {
		t.Fatal(err)
	}
	cfg.SecureMode, cfg.Generator = true, sg
	e, err := optimizer.NewEngine(a, mustSGD(t, 1), optimizer.FlatClipping(1), cfg, nil)
	if err != nil {
		t.Fatalf("secure mode with a SecureGenerator: %v", err)
	}
	if e.Config().Generator != sg {
		t.Error("secure mode did not use the SecureGenerator it was given")
	}
}

func TestSensitivity(t *testing.T) {
	tests := []struct {
		clip optimizer.Clipping
		want float64
	}{
		{optimizer.FlatClipping(1.5), 1.5},
		// √3 in float64, not Opacus's float32 1.7320507764816284.
		{optimizer.PerLayerClipping([]float64{1, 1, 1}), 1.7320508075688772},
		{optimizer.PerLayerClipping([]float64{3, 4}), 5},
		{optimizer.PerLayerClipping([]float64{1, 1, 1, 1, 1, 1, 1, 1}), 2.8284271247461903},
	}
	for _, tt := range tests {
		if got := tt.clip.Sensitivity(); got != tt.want {
			t.Errorf("Sensitivity(%v) = %v, want %v", tt.clip.Thresholds(), got, tt.want)
		}
	}
}
