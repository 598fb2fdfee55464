package optimizertest_test

import (
	"testing"

	"github.com/dpmpi/dpmpi/optimizer/optimizertest"
)

// Non-blocking reductions started back to back are matched in call order
// on every rank, and a blocking one after them waits its turn.
func TestWorldOrder(t *testing.T) {
	const w, k = 3, 20
	world := optimizertest.NewWorld[float64](w)
	for r, err := range world.Run(func(r int, c *optimizertest.Comm[float64]) error {
		bufs := make([][]float64, k)
		waits := make([]func() error, k)
		for i := range k {
			bufs[i] = []float64{float64(i * (r + 1))}
			var err error
			if waits[i], err = c.IallreduceSum(bufs[i]); err != nil {
				return err
			}
		}
		last := []float64{1}
		if err := c.AllreduceSum(last); err != nil {
			return err
		}
		for i, wait := range waits {
			if err := wait(); err != nil {
				return err
			}
			if want := float64(i * w * (w + 1) / 2); bufs[i][0] != want {
				t.Errorf("rank %d, reduction %d: %v, want %v", r, i, bufs[i][0], want)
			}
		}
		if last[0] != w {
			t.Errorf("rank %d: blocking reduction %v, want %v", r, last[0], w)
		}
		return nil
	}) {
		if err != nil {
			t.Errorf("rank %d: %v", r, err)
		}
	}
	if world.Calls(0) != k+1 {
		t.Errorf("Calls(0) = %d, want %d", world.Calls(0), k+1)
	}
}

func TestWorldLengthMismatch(t *testing.T) {
	world := optimizertest.NewWorld[float64](2)
	errs := world.Run(func(r int, c *optimizertest.Comm[float64]) error {
		return c.AllreduceSum(make([]float64, r+1))
	})
	for r, err := range errs {
		if err == nil {
			t.Errorf("rank %d: no error for reductions of different lengths", r)
		}
	}
}

func TestEmptyRankShard(t *testing.T) {
	for w := 1; w <= 5; w++ {
		next := 0
		covered := 0
		for r := range w {
			lo, hi := optimizertest.EmptyRankShard(12, w, r)
			if r == 1 && hi != lo {
				t.Errorf("w=%d: rank 1 has samples [%d, %d)", w, lo, hi)
			}
			if hi > lo {
				if lo != next {
					t.Errorf("w=%d rank %d: starts at %d, want %d", w, r, lo, next)
				}
				next = hi
			}
			covered += hi - lo
		}
		if covered != 12 || next != 12 {
			t.Errorf("w=%d: shards cover %d samples ending at %d, want all 12", w, covered, next)
		}
	}
}
