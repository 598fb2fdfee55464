package accountant

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// parallelFor runs body on [0, n) split into contiguous chunks, on one
// goroutine per available CPU (at most 8). The goroutines take chunks in
// turn, four per goroutine on average, so that a core slowed down by other
// work takes fewer of them. Chunks are disjoint, so bodies that write only
// their own indices give the same result as a sequential loop.
func parallelFor(n int, body func(lo, hi int)) {
	parallelChunks(n, 1<<12, body)
}

// parallelChunks is parallelFor with chunks of at least grain indices; it
// runs body(0, n) on the calling goroutine when there are fewer than four
// such chunks.
func parallelChunks(n, grain int, body func(lo, hi int)) {
	w := min(runtime.GOMAXPROCS(0), 8)
	if n < 4*grain || w < 2 {
		body(0, n)
		return
	}
	size := max((n+4*w-1)/(4*w), grain)
	var next atomic.Int64
	work := func() {
		for {
			lo := int(next.Add(1)-1) * size
			if lo >= n {
				return
			}
			body(lo, min(lo+size, n))
		}
	}
	var wg sync.WaitGroup
	for i := 1; i < w; i++ {
		wg.Go(work)
	}
	work()
	wg.Wait()
}
