package optimizer_test

import (
	"math"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/optimizer"
)

// must returns v, panicking (and so failing the test) on a constructor
// error.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Expected values are worked out by hand from the torch.optim formulas.
func TestUpdaters(t *testing.T) {
	const eps = 1e-8
	m2, v2 := 0.9*0.05+0.1*(-1), 0.999*0.00025+0.001*1 // Adam moments after g = 0.5, −1
	adamP1 := 1 - 0.01*0.5/(0.5+eps)
	tests := []struct {
		name  string
		u     optimizer.Updater[float64]
		grads []float64 // one scalar gradient per step
		want  []float64 // the parameter after each step, from p0 = 1
	}{
		{"sgd plain", must(optimizer.NewSGD[float64](0.1, 0, 0, 0, false)), []float64{0.5, 0.5}, []float64{0.95, 0.9}},
		// b1 = g1 = 0.5; b2 = 0.9·0.5 + 0.5 = 0.95.
		{"sgd momentum", must(optimizer.NewSGD[float64](0.1, 0.9, 0, 0, false)), []float64{0.5, 0.5}, []float64{0.95, 0.855}},
		// b1 = g1 = 0.5; b2 = 0.9·0.5 + 0.9·0.5 = 0.9.
		{"sgd momentum dampening", must(optimizer.NewSGD[float64](0.1, 0.9, 0.1, 0, false)), []float64{0.5, 0.5}, []float64{0.95, 0.86}},
		// g1 = 0.51, b1 = g1; g2 = 0.5 + 0.01·0.949, b2 = 0.9·b1 + 0.9·g2.
		{"sgd momentum dampening decay", must(optimizer.NewSGD[float64](0.1, 0.9, 0.1, 0.01, false)), []float64{0.5, 0.5}, []float64{0.949, 0.8572459}},
		// b1 = 0.5, g' = 0.5 + 0.9·0.5; b2 = 0.9·0.5 + 0.5, g' = 0.5 + 0.9·0.95.
		{"sgd nesterov", must(optimizer.NewSGD[float64](0.1, 0.9, 0, 0, true)), []float64{0.5, 0.5}, []float64{0.905, 0.7695}},
		// Constant gradient: the bias-corrected moments are g and g², so
		// every step moves by lr·g/(|g|+eps).
		{"adam constant", must(optimizer.NewAdam[float64](0.01, 0.9, 0.999, eps, 0)), []float64{0.5, 0.5, 0.5},
			[]float64{1 - 0.01*0.5/(0.5+eps), 1 - 2*0.01*0.5/(0.5+eps), 1 - 3*0.01*0.5/(0.5+eps)}},
		{"adam varying", must(optimizer.NewAdam[float64](0.01, 0.9, 0.999, eps, 0)), []float64{0.5, -1},
			[]float64{adamP1, adamP1 - 0.01*(m2/0.19)/(math.Sqrt(v2/(1-0.998001))+eps)}},
		// L2 penalty: g' = 0.5 + 0.1·1.
		{"adam weight decay", must(optimizer.NewAdam[float64](0.01, 0.9, 0.999, eps, 0.1)), []float64{0.5}, []float64{1 - 0.01*0.6/(0.6+eps)}},
		// Decoupled: p ← p(1 − lr·wd) first.
		{"adamw", must(optimizer.NewAdamW[float64](0.01, 0.9, 0.999, eps, 0.1)), []float64{0.5}, []float64{(1 - 0.01*0.1) - 0.01*0.5/(0.5+eps)}},
		// β₁ = 0.3 takes torch.lerp's other branch; the result is the same
		// first step.
		{"adam small beta1", must(optimizer.NewAdam[float64](0.01, 0.3, 0.999, eps, 0)), []float64{0.5}, []float64{adamP1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := []float64{1}
			for s, g := range tt.grads {
				tt.u.Update(p, []float64{g})
				if !closeTo(p[0], tt.want[s], 1e-12) {
					t.Errorf("step %d: param %.17g, want %.17g", s+1, p[0], tt.want[s])
				}
			}
		})
	}
}

func TestUpdaterState(t *testing.T) {
	makers := map[string]func() optimizer.Updater[float64]{
		"sgd": func() optimizer.Updater[float64] { return must(optimizer.NewSGD[float64](0.1, 0.9, 0, 0.01, true)) },
		"adam": func() optimizer.Updater[float64] {
			return must(optimizer.NewAdam[float64](0.01, 0.9, 0.99, 1e-8, 0.01))
		},
		"adamw": func() optimizer.Updater[float64] {
			return must(optimizer.NewAdamW[float64](0.01, 0.9, 0.99, 1e-8, 0.01))
		},
	}
	grads := [][]float64{{0.5, -1, 2}, {0.1, 0.2, -0.3}, {1, 1, 1}}
	for name, mk := range makers {
		t.Run(name, func(t *testing.T) {
			a := mk()
			pa := []float64{1, 2, 3}
			a.Update(pa, grads[0])
			a.Update(pa, grads[1])
			state, err := a.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			b := mk()
			if err := b.UnmarshalBinary(state); err != nil {
				t.Fatal(err)
			}
			pb := append([]float64(nil), pa...)
			a.Update(pa, grads[2])
			b.Update(pb, grads[2])
			for i := range pa {
				if pa[i] != pb[i] {
					t.Errorf("restored updater differs at %d: %v vs %v", i, pb[i], pa[i])
				}
			}
			// A fresh updater (no restored momentum) differs.
			c := mk()
			pc := append([]float64(nil), pb...)
			c.Update(pc, grads[2])
			if pc[0] == pb[0] {
				t.Error("a fresh updater matches the restored one: the state test cannot fail")
			}
		})
	}
}

func TestUpdaterStateErrors(t *testing.T) {
	sgd := must(optimizer.NewSGD[float64](0.1, 0.9, 0, 0, false))
	sgd.Update([]float64{1}, []float64{1})
	sgdState, _ := sgd.MarshalBinary()
	adam := must(optimizer.NewAdam[float64](0.1, 0.9, 0.99, 1e-8, 0))
	adamState, _ := adam.MarshalBinary()
	tests := []struct {
		name string
		into optimizer.Updater[float64]
		data []byte
		want string
	}{
		{"sgd into adam", must(optimizer.NewAdam[float64](0.1, 0.9, 0.99, 1e-8, 0)), sgdState, "saved by SGD"},
		{"adam into adamw", must(optimizer.NewAdamW[float64](0.1, 0.9, 0.99, 1e-8, 0)), adamState, "saved by Adam"},
		{"bad magic", must(optimizer.NewSGD[float64](0.1, 0, 0, 0, false)), []byte("hello world, not a state"), "bad magic"},
		{"truncated", must(optimizer.NewSGD[float64](0.1, 0, 0, 0, false)), sgdState[:len(sgdState)-3], "truncated"},
		{"trailing", must(optimizer.NewSGD[float64](0.1, 0, 0, 0, false)), append(append([]byte(nil), sgdState...), 1), "trailing"},
	}
	for _, tt := range tests {
		err := tt.into.UnmarshalBinary(tt.data)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

func TestUpdaterValidation(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"negative lr", second(optimizer.NewSGD[float64](-1, 0, 0, 0, false)), "learning rate is -1"},
		{"NaN momentum", second(optimizer.NewSGD[float64](1, math.NaN(), 0, 0, false)), "momentum is NaN"},
		{"nesterov without momentum", second(optimizer.NewSGD[float64](1, 0, 0, 0, true)), "Nesterov"},
		{"nesterov with dampening", second(optimizer.NewSGD[float64](1, 0.9, 0.1, 0, true)), "dampening 0.1"},
		{"beta1 one", second(optimizer.NewAdam[float64](1, 1, 0.99, 1e-8, 0)), "betas are (1, 0.99)"},
		{"beta2 negative", second(optimizer.NewAdamW[float64](1, 0.9, -0.1, 1e-8, 0)), "AdamW betas"},
		{"negative eps", second(optimizer.NewAdam[float64](1, 0.9, 0.99, -1, 0)), "epsilon is -1"},
	}
	for _, tt := range tests {
		if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, tt.err, tt.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestUpdaterLengthPanics(t *testing.T) {
	a := must(optimizer.NewAdam[float64](0.1, 0.9, 0.99, 1e-8, 0))
	a.Update(make([]float64, 3), make([]float64, 3))
	for name, f := range map[string]func(){
		"grads length": func() { a.Update(make([]float64, 3), make([]float64, 2)) },
		"state length": func() { a.Update(make([]float64, 4), make([]float64, 4)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// Long vectors are updated in parallel ranges; every element must end
// exactly where a one-element update of the same history puts it.
func TestUpdatersLongVectors(t *testing.T) {
	const n = 3<<15 + 7
	configs := []struct {
		name string
		make func() optimizer.Updater[float64]
	}{
		{"sgd", func() optimizer.Updater[float64] { return must(optimizer.NewSGD[float64](0.1, 0, 0, 0, false)) }},
		{"sgd momentum", func() optimizer.Updater[float64] { return must(optimizer.NewSGD[float64](0.1, 0.9, 0, 0, false)) }},
		{"sgd nesterov decay", func() optimizer.Updater[float64] { return must(optimizer.NewSGD[float64](0.1, 0.9, 0, 0.01, true)) }},
		{"adam", func() optimizer.Updater[float64] {
			return must(optimizer.NewAdam[float64](0.01, 0.9, 0.999, 1e-8, 0.1))
		}},
		{"adamw", func() optimizer.Updater[float64] {
			return must(optimizer.NewAdamW[float64](0.01, 0.9, 0.999, 1e-8, 0.1))
		}},
	}
	grad := func(step, i int) float64 { return math.Sin(float64(i*7+step*3)) + 0.1*float64(step) }
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			u, p, g := c.make(), make([]float64, n), make([]float64, n)
			for i := range p {
				p[i] = math.Cos(float64(i))
			}
			for step := range 3 {
				for i := range g {
					g[i] = grad(step, i)
				}
				u.Update(p, g)
			}
			for _, i := range []int{0, 1, n/3 - 1, n / 3, n/2 + 1, n - 1} {
				one, q := c.make(), []float64{math.Cos(float64(i))}
				for step := range 3 {
					one.Update(q, []float64{grad(step, i)})
				}
				if p[i] != q[0] {
					t.Errorf("element %d: %v after the long update, %v alone", i, p[i], q[0])
				}
			}
		})
	}
}

// SetLearningRate changes the rate of the following updates, for every
// updater, and LearningRate reports it; the saved state does not hold it.
func TestUpdaterLearningRate(t *testing.T) {
	tests := []struct {
		name string
		make func(lr float64) optimizer.Updater[float64]
	}{
		{"sgd", func(lr float64) optimizer.Updater[float64] {
			return must(optimizer.NewSGD[float64](lr, 0, 0, 0, false))
		}},
		{"sgd momentum", func(lr float64) optimizer.Updater[float64] {
			return must(optimizer.NewSGD[float64](lr, 0.9, 0, 0.01, false))
		}},
		{"adam", func(lr float64) optimizer.Updater[float64] {
			return must(optimizer.NewAdam[float64](lr, 0.9, 0.999, 1e-8, 0))
		}},
		{"adamw", func(lr float64) optimizer.Updater[float64] {
			return must(optimizer.NewAdamW[float64](lr, 0.9, 0.999, 1e-8, 0.1))
		}},
	}
	grads := []float64{0.5, 0.25}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.make(0.1)
			if got := u.LearningRate(); got != 0.1 {
				t.Fatalf("LearningRate of a new updater: %v, want 0.1", got)
			}
			u.SetLearningRate(0.025)
			if got := u.LearningRate(); got != 0.025 {
				t.Fatalf("LearningRate after SetLearningRate(0.025): %v", got)
			}
			// The updates use the new rate: they equal those of an updater
			// built with it.
			built := tt.make(0.025)
			p, q := []float64{1, -2}, []float64{1, -2}
			for range 2 {
				u.Update(p, grads)
				built.Update(q, grads)
			}
			if p[0] != q[0] || p[1] != q[1] {
				t.Errorf("after SetLearningRate(0.025): params %v, an updater built with lr 0.025 gives %v", p, q)
			}
			// At rate 0 every updater leaves the parameters alone (the
			// momentum and moments still move).
			u.SetLearningRate(0)
			before := append([]float64(nil), p...)
			u.Update(p, grads)
			if p[0] != before[0] || p[1] != before[1] {
				t.Errorf("an update at learning rate 0 moved the parameters from %v to %v", before, p)
			}
			state, err := u.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			fresh := tt.make(0.1)
			if err := fresh.UnmarshalBinary(state); err != nil {
				t.Fatal(err)
			}
			if got := fresh.LearningRate(); got != 0.1 {
				t.Errorf("restoring a state changed the learning rate to %v (the state must not hold it)", got)
			}
		})
	}
}

func TestUpdaterLearningRatePanics(t *testing.T) {
	updaters := map[string]func() optimizer.Updater[float64]{
		"sgd":  func() optimizer.Updater[float64] { return must(optimizer.NewSGD[float64](0.1, 0, 0, 0, false)) },
		"adam": func() optimizer.Updater[float64] { return must(optimizer.NewAdam[float64](0.1, 0.9, 0.999, 1e-8, 0)) },
	}
	for _, lr := range []float64{-1, math.NaN(), math.Inf(1)} {
		for name, mk := range updaters {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s.SetLearningRate(%v): no panic", name, lr)
					}
				}()
				mk().SetLearningRate(lr)
			}()
		}
	}
}
