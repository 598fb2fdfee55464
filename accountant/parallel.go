package accountant

import (
	"runtime"
	"sync"
)

// parallelFor runs body on [0, n) split into one contiguous chunk per
// available CPU (at most 8). Chunks are disjoint, so bodies that write only
// their own indices give the same result as a sequential loop.
func parallelFor(n int, body func(lo, hi int)) {
	w := min(runtime.GOMAXPROCS(0), 8)
	if n < 1<<14 || w < 2 {
		body(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + w - 1) / w
	for lo := chunk; lo < n; lo += chunk {
		wg.Go(func() { body(lo, min(lo+chunk, n)) })
	}
	body(0, min(chunk, n))
	wg.Wait()
}
