package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refMaxPool is max pooling written as PyTorch's CPU kernel computes it:
// the window is scanned in row-major order and a value replaces the running
// maximum if it is larger or NaN (so among NaNs the last, and among equal
// values the first, is kept).
func refMaxPool(x []float64, c, h, w, k, s int) ([]float64, []int32) {
	ho, wo := (h-k)/s+1, (w-k)/s+1
	y := make([]float64, c*ho*wo)
	arg := make([]int32, c*ho*wo)
	o := 0
	for ch := 0; ch < c; ch++ {
		for oh := 0; oh < ho; oh++ {
			for ow := 0; ow < wo; ow++ {
				bi := ch*h*w + oh*s*w + ow*s
				for a := 0; a < k; a++ {
					for b := 0; b < k; b++ {
						j := ch*h*w + (oh*s+a)*w + ow*s + b
						if x[j] > x[bi] || math.IsNaN(x[j]) {
							bi = j
						}
					}
				}
				y[o], arg[o] = x[bi], int32(bi)
				o++
			}
		}
	}
	return y, arg
}

// TestMaxPoolMatchesReference checks max pooling, the 2×2 fast path and the
// general one, against refMaxPool on inputs full of ties (few distinct
// values, both zeros), with and without NaNs, then its gradient routing.
func TestMaxPoolMatchesReference(t *testing.T) {
	negZero := math.Copysign(0, -1)
	values := []float64{-1, negZero, 0, 0.5, 2, math.Inf(-1), math.Inf(1)}
	tests := []struct {
		name          string
		c, h, w, k, s int
		nans          int
	}{
		{"2x2 s1", 3, 7, 6, 2, 1, 0},
		{"2x2 s1 nan", 3, 7, 6, 2, 1, 3},
		{"2x2 s1 conv1", 16, 14, 14, 2, 1, 0},
		{"2x2 s1 conv1 nan", 16, 14, 14, 2, 1, 1},
		{"2x2 s1 conv2", 32, 5, 5, 2, 1, 0},
		{"2x2 s1 narrow nan", 2, 5, 4, 2, 1, 1},
		{"2x2 s2", 2, 8, 9, 2, 2, 0},
		{"2x2 s2 nan", 2, 8, 9, 2, 2, 2},
		{"3x3 s1", 2, 6, 7, 3, 1, 0},
		{"3x3 s2 nan", 2, 7, 7, 3, 2, 4},
		{"2x2 s1 several nans per window", 1, 4, 5, 2, 1, 9},
		{"3x3 s2 several nans per window", 1, 7, 7, 3, 2, 20},
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewMaxPool2d[float64](tt.k, tt.s).(*pool2d[float64])
			if _, err := p.setup([]int{tt.c, tt.h, tt.w}); err != nil {
				t.Fatal(err)
			}
			const n = 3
			in, out := tt.c*tt.h*tt.w, tt.c*p.ho*p.wo
			for trial := 0; trial < 20; trial++ {
				x := make([]float64, n*in)
				for i := range x {
					x[i] = values[r.IntN(len(values))]
				}
				for j := 0; j < tt.nans; j++ {
					x[r.IntN(in)] = math.NaN() // sample 0 only
				}
				y := make([]float64, n*out)
				p.forward(x, y, n)
				for i := 0; i < n; i++ {
					wantY, wantArg := refMaxPool(x[i*in:(i+1)*in], tt.c, tt.h, tt.w, tt.k, tt.s)
					for o := range wantY {
						got, want := y[i*out+o], wantY[o]
						if math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) || p.arg[i*out+o] != wantArg[o] {
							t.Fatalf("sample %d output %d: got %v at %d, want %v at %d", i, o, got, p.arg[i*out+o], want, wantArg[o])
						}
					}
				}
				dy := make([]float64, n*out)
				for i := range dy {
					dy[i] = float64(i + 1)
				}
				dx := make([]float64, n*in)
				p.backward(x, y, dy, dx, n)
				want := make([]float64, n*in)
				for i := 0; i < n; i++ {
					_, arg := refMaxPool(x[i*in:(i+1)*in], tt.c, tt.h, tt.w, tt.k, tt.s)
					for o, a := range arg {
						want[i*in+int(a)] += dy[i*out+o]
					}
				}
				for j := range want {
					if dx[j] != want[j] {
						t.Fatalf("input gradient %d: got %v, want %v", j, dx[j], want[j])
					}
				}
			}
		})
	}
}

// BenchmarkMaxPoolConv1 times the CNN's first pooling layer, 16×14×14 →
// 16×13×13, on one sample per op, cycling through 64 different samples so
// that the branch predictor cannot learn the data.
func BenchmarkMaxPoolConv1(b *testing.B) {
	const samples = 64
	p := NewMaxPool2d[float64](2, 1).(*pool2d[float64])
	if _, err := p.setup([]int{16, 14, 14}); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	in, out := 16*14*14, 16*13*13
	x := make([]float64, samples*in)
	for i := range x {
		x[i] = math.Tanh(r.NormFloat64())
	}
	y := make([]float64, samples*out)
	p.forward(x, y, samples)
	i := 0
	loopCPU(b, func() {
		p.forwardSamples(x[i*in:(i+1)*in], y[i*out:(i+1)*out], i, 1, 0)
		i = (i + 1) % samples
	})
}
