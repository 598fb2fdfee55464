package optimizer

import (
	"runtime"
	"sync"
)

// elemGrain is the vector length below which element-wise loops stay on
// the calling goroutine: below it, starting a goroutine costs more than the
// loop.
const elemGrain = 1 << 15

// rangeWorkers returns the number of goroutines forRanges uses for n
// elements. Callers test it for 1 and then call their loop directly, so
// that small vectors do not pay for a closure on the heap.
func rangeWorkers(n int) int { return max(1, min(runtime.GOMAXPROCS(0), n/elemGrain)) }

// forRanges runs body over [0, n) in rangeWorkers(n) contiguous ranges in
// parallel. body must only write the elements of its own range;
// element-wise updates then give the same result, bit for bit, for any
// number of goroutines.
func forRanges(n int, body func(lo, hi int)) {
	splitRanges(n, rangeWorkers(n), func(_, lo, hi int) { body(lo, hi) })
}

// splitRanges runs body(k, lo, hi) for the k-th of w fixed contiguous
// ranges of [0, n), k = 0 on the calling goroutine and the others on their
// own; the partition depends only on n and w.
func splitRanges(n, w int, body func(k, lo, hi int)) {
	if w <= 1 {
		body(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for k := 1; k < w; k++ {
		wg.Go(func() { body(k, k*n/w, (k+1)*n/w) })
	}
	body(0, 0, n/w)
	wg.Wait()
}
