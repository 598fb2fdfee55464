package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/floats"
)

// Under multiplicity k the sources present n samples whose gradients are
// the means of k rows' gradients: their norms and weighted sums match those
// computed from each row's materialised gradient, for every test model and
// in every grad mode (Linear layers ghost or materialised, the others
// materialised).
func TestMultiplicity(t *testing.T) {
	const n, k = 5, 3
	for _, tm := range testModels {
		t.Run(tm.name, func(t *testing.T) {
			s, a, x, y := build(t, tm, n*k, 3)
			r := rand.New(rand.NewPCG(7, 8))
			w := make([]float64, n)
			for i := range w {
				w[i] = r.Float64() + 0.1
			}
			backward := func() {
				out := s.Forward(x, n*k)
				d := make([]float64, len(out))
				if err := SoftmaxCrossEntropy(out, y, tm.class, nil, d); err != nil {
					t.Fatal(err)
				}
				if err := s.Backward(d, nil); err != nil {
					t.Fatal(err)
				}
			}
			// Each row's gradient, from one-hot weighted sums of the
			// materialised sources.
			s.SetGradMode(Materialized)
			backward()
			rows := make([][][]float64, len(a.Layers)) // [layer][row][param]
			for l, src := range s.Sources() {
				for i := range n * k {
					oh := make([]float64, n*k)
					oh[i] = 1
					g := make([]float64, a.Layers[l].Len)
					src.AddWeighted(g, oh)
					rows[l] = append(rows[l], g)
				}
			}
			for _, mode := range []GradMode{Mixed, Ghost, Materialized} {
				s.SetGradMode(mode)
				if err := s.SetMultiplicity(k); err != nil {
					t.Fatal(err)
				}
				backward()
				for l, src := range s.Sources() {
					if src.Samples() != n {
						t.Fatalf("%v layer %d: %d samples, want %d", mode, l, src.Samples(), n)
					}
					norms := make([]float64, n)
					src.Norms(norms)
					sum := make([]float64, a.Layers[l].Len)
					src.AddWeighted(sum, w)
					want := make([]float64, a.Layers[l].Len)
					for i := range n {
						mean := make([]float64, a.Layers[l].Len)
						for j := range k {
							floats.AddScaled(mean, 1/float64(k), rows[l][i*k+j])
						}
						if d := math.Abs(norms[i] - floats.Norm(mean, 2)); d > 1e-10*(1+norms[i]) {
							t.Errorf("%v layer %d sample %d: norm %.15g, the mean of its rows' gradients has %.15g", mode, l, i, norms[i], floats.Norm(mean, 2))
						}
						floats.AddScaled(want, w[i], mean)
					}
					for j := range sum {
						if d := math.Abs(sum[j] - want[j]); d > 1e-10*(1+math.Abs(want[j])) {
							t.Errorf("%v layer %d param %d: weighted sum %.15g, want %.15g", mode, l, j, sum[j], want[j])
							break
						}
					}
				}
				if err := s.SetMultiplicity(1); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// A batch that is not whole samples, BackwardSum and a multiplicity below 1
// are errors.
func TestMultiplicityErrors(t *testing.T) {
	s, _, x, y := build(t, testModels[0], 4, 1)
	if err := s.SetMultiplicity(0); err == nil {
		t.Error("SetMultiplicity(0) accepted")
	}
	if err := s.SetMultiplicity(3); err != nil {
		t.Fatal(err)
	}
	out := s.Forward(x, 4)
	d := make([]float64, len(out))
	if err := SoftmaxCrossEntropy(out, y, testModels[0].class, nil, d); err != nil {
		t.Fatal(err)
	}
	if err := s.Backward(d, nil); err == nil || !strings.Contains(err.Error(), "4 rows") {
		t.Errorf("Backward of 4 rows at multiplicity 3: %v, want an error naming the rows", err)
	}
	if err := s.BackwardSum(d); err == nil || !strings.Contains(err.Error(), "BackwardSum") {
		t.Errorf("BackwardSum under multiplicity: %v, want an error", err)
	}
}
