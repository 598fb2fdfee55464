package scatter

import (
	"math"
	"strings"
	"testing"
)

func TestCompress(t *testing.T) {
	x := []float64{-3e-4, 0, 0.25, 1, 4}
	for _, c := range []struct {
		p    float64
		want []float64
	}{
		{1, []float64{0, 0, 0.25, 1, 4}},
		{0.5, []float64{0, 0, 0.5, 1, 2}},
		{0.25, []float64{0, 0, math.Sqrt(0.5), 1, math.Sqrt2}},
		{2, []float64{0, 0, 0.0625, 1, 16}},
	} {
		got := append([]float64(nil), x...)
		Compress(got, c.p)
		for i := range got {
			if math.Abs(got[i]-c.want[i]) > 1e-15 || math.IsNaN(got[i]) {
				t.Errorf("p = %v: Compress(%v) = %v, want %v", c.p, x, got, c.want)
				break
			}
		}
	}
}

func TestCheckPower(t *testing.T) {
	for _, c := range []struct {
		p    float64
		want string
	}{
		{0.5, ""},
		{1, ""},
		{3, ""},
		{0, "power 0"},
		{-0.5, "power -0.5"},
		{math.NaN(), "power NaN"},
		{math.Inf(1), "power +Inf"},
	} {
		err := CheckPower(c.p)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("CheckPower(%v) = %v, want %q", c.p, err, c.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Compress with power 0 did not panic")
		}
	}()
	Compress([]float64{1}, 0)
}
