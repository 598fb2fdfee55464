package scatter

import (
	"math"
	"strings"
	"testing"
)

func TestChannelNormCheck(t *testing.T) {
	for _, c := range []struct {
		name string
		n    ChannelNorm
		want string
	}{
		{"ok", ChannelNorm{Mean: []float64{0, 1}, Std: []float64{1, 2}}, ""},
		{"count", ChannelNorm{Mean: []float64{0}, Std: []float64{1, 2}}, "1 means and 2 standard deviations for 2 channels"},
		{"nan mean", ChannelNorm{Mean: []float64{0, math.NaN()}, Std: []float64{1, 2}}, "mean of channel 1"},
		{"zero std", ChannelNorm{Mean: []float64{0, 1}, Std: []float64{0, 2}}, "standard deviation of channel 0"},
		{"inf std", ChannelNorm{Mean: []float64{0, 1}, Std: []float64{1, math.Inf(1)}}, "standard deviation of channel 1"},
	} {
		err := c.n.Check(2)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

func TestChannelNormApply(t *testing.T) {
	n := ChannelNorm{Mean: []float64{1, -2}, Std: []float64{2, 0.5}}
	// two samples of two channels of three values
	x := []float64{1, 3, 5, -2, -1, 0, 0, 1, 2, -3, -2, -1}
	want := []float64{0, 1, 2, 0, 2, 4, -0.5, 0, 0.5, -2, 0, 2}
	n.Apply(x, 3)
	for i := range x {
		if x[i] != want[i] {
			t.Fatalf("Apply: %v, want %v", x, want)
		}
	}
	m, s := n.PerFeature(3)
	if len(m) != 6 || m[2] != 1 || m[3] != -2 || s[0] != 2 || s[5] != 0.5 {
		t.Errorf("PerFeature: mean %v std %v", m, s)
	}
	defer func() {
		if recover() == nil {
			t.Error("Apply of 5 values for 2 channels × 3 did not panic")
		}
	}()
	n.Apply(make([]float64, 5), 3)
}
