package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// dropModel returns a model of two Dropout[float64](p) layers on samples of 400
// values, with an ELU between them (the identity on the non-negative
// values the tests give, and a layer that keeps the first Dropout's output
// in a batch buffer), then a Linear layer, bound and initialised.
func dropModel(t *testing.T, p float64) *Sequential[float64] {
	t.Helper()
	s, err := NewSequential[float64]([]int{400}, Dropout[float64](p), ELU[float64](1), Dropout[float64](p), NewLinear[float64](400, 2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.NewArena(1); err != nil {
		t.Fatal(err)
	}
	return s
}

// masks runs the first Dropout layer of a dropModel on ones and returns each
// sample's output.
func masks(s *Sequential[float64], seed, step uint64, ids []int) [][]float64 {
	x := make([]float64, len(ids)*400)
	for i := range x {
		x[i] = 1
	}
	s.SetDropoutKeys(seed, step, ids)
	s.Forward(x, len(ids))
	out := make([][]float64, len(ids))
	for i := range ids {
		out[i] = slices.Clone(s.acts[1][i*400 : (i+1)*400])
	}
	return out
}

// TestDropoutMasks: in training mode a value is 0 or 1/(1 − p) times its
// input, kept at a rate near 1 − p; a sample's mask depends on its key, the
// seed and the step, not on its place in the batch; the two layers draw
// different masks; evaluation mode is the identity.
func TestDropoutMasks(t *testing.T) {
	for _, p := range []float64{0, 0.1, 0.5, 0.9} {
		s := dropModel(t, p)
		s.SetTraining(true)
		ids := []int{3, 17, 40000, 5}
		m := masks(s, 9, 2, ids)
		kept := 0
		for i, mi := range m {
			for j, v := range mi {
				if v != 0 && math.Abs(v-1/(1-p)) > 1e-15 {
					t.Fatalf("p = %g: sample %d value %d is %v, want 0 or %v", p, i, j, v, 1/(1-p))
				}
				if v != 0 {
					kept++
				}
			}
		}
		rate := float64(kept) / float64(len(ids)*400)
		if sd := math.Sqrt(p * (1 - p) / float64(len(ids)*400)); math.Abs(rate-(1-p)) > 5*sd+1e-12 {
			t.Errorf("p = %g: kept %.4f of the values, want %.4f ± %.4f", p, rate, 1-p, 5*sd)
		}
		if p == 0 {
			continue
		}
		// The same keys in another order and batch: the same masks.
		m2 := masks(s, 9, 2, []int{5, 40000, 8})
		if !slices.Equal(m2[0], m[3]) || !slices.Equal(m2[1], m[2]) {
			t.Errorf("p = %g: a sample's mask changed with its place in the batch", p)
		}
		for name, other := range map[string][][]float64{
			"another step": masks(s, 9, 3, ids),
			"another seed": masks(s, 10, 2, ids),
		} {
			if slices.Equal(other[0], m[0]) {
				t.Errorf("p = %g: %s gives the same mask", p, name)
			}
		}
		if slices.Equal(m[0], m[1]) {
			t.Errorf("p = %g: two samples have the same mask", p)
		}
		// Evaluation mode: the identity, whatever the keys.
		s.SetTraining(false)
		x := make([]float64, 2*400)
		for i := range x {
			x[i] = float64(i)
		}
		s.SetDropoutKeys(1, 1, nil)
		s.Forward(x, 2)
		if !slices.Equal(s.acts[3][:800], x) {
			t.Errorf("p = %g: evaluation mode changed the values", p)
		}
	}
}

// TestDropoutLayersDiffer: two Dropout layers of a model draw independent
// masks for the same sample.
func TestDropoutLayersDiffer(t *testing.T) {
	s := dropModel(t, 0.5)
	s.SetTraining(true)
	ids := []int{1}
	x := make([]float64, 400)
	for i := range x {
		x[i] = 1
	}
	s.SetDropoutKeys(1, 1, ids)
	s.Forward(x, 1)
	// After two layers a value survives with probability 1/4 and is 4.
	var kept, agree int
	for j, v := range s.acts[3][:400] {
		if v != 0 {
			kept++
		}
		if (s.acts[1][j] != 0) == (v != 0) {
			agree++
		}
	}
	if kept < 60 || kept > 140 {
		t.Errorf("%d of 400 values survive two Dropout(0.5) layers, want about 100", kept)
	}
	if agree > 340 {
		t.Errorf("the second layer's mask follows the first's (%d of 400 agree)", agree)
	}
}

// TestDropoutBackward: in training mode the input error is the output error
// times the mask of the forward pass, also after SetTraining(false) between
// Forward and Backward; in evaluation mode it is the output error.
func TestDropoutBackward(t *testing.T) {
	for _, train := range []bool{true, false} {
		s, err := NewSequential[float64]([]int{50}, NewLinear[float64](50, 50), Dropout[float64](0.4), NewLinear[float64](50, 3))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.NewArena(2); err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 2))
		x := make([]float64, 4*50)
		for i := range x {
			x[i] = r.NormFloat64()
		}
		s.SetTraining(train)
		s.SetDropoutKeys(3, 4, []int{0, 1, 2, 3})
		out := s.Forward(x, 4)
		s.SetTraining(!train)
		d := make([]float64, len(out))
		for i := range d {
			d[i] = r.NormFloat64()
		}
		if err := s.Backward(d, nil); err != nil {
			t.Fatal(err)
		}
		y, dy, dx := s.acts[2][:200], s.errs[2][:200], s.errs[1][:200]
		z := s.acts[1][:200]
		for j := range dy {
			want := dy[j]
			if train {
				want = 0
				if y[j] != 0 {
					want = dy[j] / 0.6
				}
			} else if y[j] != z[j] {
				t.Fatalf("evaluation mode changed value %d", j)
			}
			if math.Abs(dx[j]-want) > 1e-15*(1+math.Abs(want)) {
				t.Fatalf("training %v: input error %d is %v, want %v", train, j, dx[j], want)
			}
		}
	}
}

// TestDropoutNeedsKeys: a training Forward without one key per sample
// panics, naming SetDropoutKeys; a model without Dropout needs none.
func TestDropoutNeedsKeys(t *testing.T) {
	s := dropModel(t, 0.5)
	s.SetTraining(true)
	s.SetDropoutKeys(1, 1, []int{1, 2})
	func() {
		defer func() {
			r := recover()
			if msg, _ := r.(string); !strings.Contains(msg, "SetDropoutKeys gave 2, the batch has 3") {
				t.Errorf("panic %v, want one naming SetDropoutKeys and both counts", r)
			}
		}()
		s.Forward(make([]float64, 3*400), 3)
	}()
	m, err := NewSequential[float64]([]int{4}, NewLinear[float64](4, 2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.NewArena(1); err != nil {
		t.Fatal(err)
	}
	m.SetTraining(true)
	m.Forward(make([]float64, 8), 2)
	if _, ok := Dropout[float64](0.5).(*dropout[float64]); !ok {
		t.Fatal("Dropout is not a *dropout")
	}
	for _, p := range []float64{-0.1, 1, math.NaN()} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Dropout(%v) did not panic", p)
				}
			}()
			Dropout[float64](p)
		}()
	}
}

// TestStdConvIsConvOfStandardizedWeight: a weight-standardised Conv2d gives
// the outputs of a plain Conv2d whose weight is Ŵ, each output channel's
// weights with mean 0 and variance var/(var + 1e-5).
func TestStdConvIsConvOfStandardizedWeight(t *testing.T) {
	for _, k := range []int{3, 4} {
		ws, plain := NewStdConv2d[float64](2, 8, k, 1, 1), NewConv2d[float64](2, 8, k, 1, 1)
		a, err := NewSequential[float64]([]int{2, 7, 7}, ws, Flatten[float64]())
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewSequential[float64]([]int{2, 7, 7}, plain, Flatten[float64]())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.NewArena(3); err != nil {
			t.Fatal(err)
		}
		if _, err := b.NewArena(4); err != nil {
			t.Fatal(err)
		}
		kk := 2 * k * k
		for o := 0; o < 8; o++ {
			w := ws.Weight()[o*kk : (o+1)*kk]
			var mean, vr float64
			for _, v := range w {
				mean += v
			}
			mean /= float64(kk)
			for _, v := range w {
				vr += (v - mean) * (v - mean)
			}
			vr /= float64(kk)
			var m2, v2 float64
			for j, v := range w {
				h := (v - mean) / math.Sqrt(vr+1e-5)
				plain.Weight()[o*kk+j] = h
				m2 += h
				v2 += h * h
			}
			if math.Abs(m2/float64(kk)) > 1e-12 || math.Abs(v2/float64(kk)-vr/(vr+1e-5)) > 1e-12 {
				t.Fatalf("Ŵ of channel %d: mean %g, variance %g", o, m2/float64(kk), v2/float64(kk))
			}
		}
		copy(plain.Bias(), ws.Bias())
		r := rand.New(rand.NewPCG(5, 6))
		x := make([]float64, 3*2*7*7)
		for i := range x {
			x[i] = r.NormFloat64()
		}
		ya, yb := a.Forward(x, 3), b.Forward(x, 3)
		for i := range ya {
			if math.Abs(ya[i]-yb[i]) > 1e-12*(1+math.Abs(yb[i])) {
				t.Fatalf("k = %d: output %d is %v, the plain conv of Ŵ gives %v", k, i, ya[i], yb[i])
			}
		}
		if !strings.Contains(ws.Kind(), ", ws)") || ws.UsesGhost() {
			t.Errorf("%s: UsesGhost %v, want a kind ending in \", ws)\" and no ghost", ws.Kind(), ws.UsesGhost())
		}
	}
}
