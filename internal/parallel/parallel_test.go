package parallel

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// visits records how often each index of [0, n) was visited, by which range
// number, and what was wrong with the ranges the bodies were given. It is
// safe for concurrent use.
type visits struct {
	mu     sync.Mutex
	count  []int
	ranges map[int][2]int
	errs   []error
}

func newVisits(n int) *visits { return &visits{count: make([]int, n), ranges: map[int][2]int{}} }

// add records range [lo, hi) with range number k, or no number if k < 0.
func (v *visits) add(k, lo, hi int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if lo >= hi {
		v.errs = append(v.errs, fmt.Errorf("empty range [%d, %d)", lo, hi))
		return
	}
	if k >= 0 {
		if r, dup := v.ranges[k]; dup {
			v.errs = append(v.errs, fmt.Errorf("range number %d given twice: %v and [%d, %d)", k, r, lo, hi))
		}
		v.ranges[k] = [2]int{lo, hi}
	}
	for i := lo; i < hi; i++ {
		v.count[i]++
	}
}

// check fails t unless every index was visited exactly once through valid
// ranges.
func (v *visits) check(t *testing.T) {
	t.Helper()
	if len(v.errs) > 0 {
		t.Fatal(v.errs)
	}
	for i, c := range v.count {
		if c != 1 {
			t.Fatalf("index %d visited %d times, want once", i, c)
		}
	}
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct{ n, w, wantRanges int }{
		{0, 4, 0}, {-3, 2, 0}, {1, 4, 1}, {5, 0, 1}, {5, 1, 1}, {7, 3, 3}, {3, 8, 3}, {1000, 7, 7},
	} {
		t.Run(fmt.Sprintf("n=%d,w=%d", tc.n, tc.w), func(t *testing.T) {
			v := newVisits(max(tc.n, 0))
			Split(tc.n, tc.w, v.add)
			v.check(t)
			if len(v.ranges) != tc.wantRanges {
				t.Fatalf("%d ranges, want %d", len(v.ranges), tc.wantRanges)
			}
			for k, r := range v.ranges {
				w := max(min(tc.w, tc.n), 1)
				if want := [2]int{k * tc.n / w, (k + 1) * tc.n / w}; r != want {
					t.Errorf("range %d is %v, want %v", k, r, want)
				}
			}
		})
	}
}

func TestForAndDynamic(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs)
	for _, p := range []int{1, 2, 5} {
		runtime.GOMAXPROCS(p)
		for _, tc := range []struct{ n, grain int }{{0, 4}, {1, 4}, {3, 4}, {17, 4}, {100, 1}, {1 << 12, 64}, {10000, 7}} {
			for name, run := range map[string]func(n, grain int, body func(lo, hi int)){"For": For, "Dynamic": Dynamic} {
				t.Run(fmt.Sprintf("%s/procs=%d/n=%d/grain=%d", name, p, tc.n, tc.grain), func(t *testing.T) {
					v := newVisits(tc.n)
					run(tc.n, tc.grain, func(lo, hi int) { v.add(-1, lo, hi) })
					v.check(t)
				})
			}
		}
	}
}

func TestWorkers(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs)
	runtime.GOMAXPROCS(4)
	for _, tc := range []struct{ n, grain, want int }{
		{0, 8, 1}, {7, 8, 1}, {8, 8, 1}, {16, 8, 2}, {31, 8, 3}, {1 << 20, 8, 4},
	} {
		if got := Workers(tc.n, tc.grain); got != tc.want {
			t.Errorf("Workers(%d, %d) = %d with GOMAXPROCS 4, want %d", tc.n, tc.grain, got, tc.want)
		}
	}
}

// TestSequentialNoAlloc checks that loops short enough to stay on the calling
// goroutine allocate nothing.
func TestSequentialNoAlloc(t *testing.T) {
	dst := make([]float64, 100)
	body := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			dst[i]++
		}
	}
	ranged := func(_, lo, hi int) { body(lo, hi) }
	// The bodies are made once: a closure made at each call escapes to the
	// heap (the functions may hand it to goroutines), and that allocation is
	// the caller's, which Workers lets hot loops avoid.
	for name, run := range map[string]func(){
		"For":     func() { For(len(dst), ElemGrain, body) },
		"Dynamic": func() { Dynamic(len(dst), 1<<12, body) },
		"Split":   func() { Split(len(dst), 1, ranged) },
	} {
		if a := testing.AllocsPerRun(100, run); a != 0 {
			t.Errorf("%s allocates %v times on the sequential path, want 0", name, a)
		}
	}
}

func ExampleFor() {
	x := make([]float64, 100000)
	For(len(x), ElemGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			x[i] = float64(i) * 0.5
		}
	})
	fmt.Println(x[99999])
	// Output: 49999.5
}

func ExampleSplit() {
	// Each range keeps a partial sum in its own slot: no locks, and the
	// partition (hence the rounding of the total) does not depend on timing.
	const w = 4
	var partial [w]float64
	Split(1000, w, func(k, lo, hi int) {
		for i := lo; i < hi; i++ {
			partial[k] += float64(i)
		}
	})
	fmt.Println(partial[0] + partial[1] + partial[2] + partial[3])
	// Output: 499500
}
