package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// ElemGrain is the vector length below which element-wise loops are best left
// on the calling goroutine: below it, starting a goroutine costs more than the
// loop itself on the machines dpmpi was measured on.
const ElemGrain = 1 << 15

// ChunkGrain is a chunk size for Dynamic that suits loops whose iterations
// each cost tens of nanoseconds or more.
const ChunkGrain = 1 << 12

// MaxDynamicWorkers bounds the goroutines Dynamic starts.
const MaxDynamicWorkers = 8

// Workers returns the number of ranges For uses for n elements: one for every
// grain elements, at least 1 and at most GOMAXPROCS. Callers that must avoid
// the closure For's body needs can test it for 1 and run their loop directly.
func Workers(n, grain int) int {
	return max(1, min(runtime.GOMAXPROCS(0), n/grain))
}

// For runs body over [0, n) in Workers(n, grain) fixed contiguous ranges in
// parallel. It does nothing when n ≤ 0.
func For(n, grain int, body func(lo, hi int)) {
	w := Workers(n, grain)
	if w == 1 {
		if n > 0 {
			body(0, n)
		}
		return
	}
	Split(n, w, func(_, lo, hi int) { body(lo, hi) })
}

// Split runs body(k, lo, hi) for the k-th of w fixed contiguous ranges of
// [0, n), where range k is [k·n/w, (k+1)·n/w). Range 0 runs on the calling
// goroutine, the others on goroutines of their own. w is capped at n, so no
// range is empty; Split does nothing when n ≤ 0, and runs body(0, 0, n) when
// w ≤ 1.
func Split(n, w int, body func(k, lo, hi int)) {
	if n <= 0 {
		return
	}
	w = min(w, n)
	if w <= 1 {
		body(0, 0, n)
		return
	}
	split(n, w, body)
}

// split is Split for 1 < w ≤ n; it lives apart so that the WaitGroup its
// goroutines share is allocated only when there are goroutines.
func split(n, w int, body func(k, lo, hi int)) {
	var wg sync.WaitGroup
	for k := 1; k < w; k++ {
		wg.Go(func() { body(k, k*n/w, (k+1)*n/w) })
	}
	body(0, 0, n/w)
	wg.Wait()
}

// Dynamic runs body over [0, n) in disjoint chunks of at least grain indices,
// handed out in turn to min(GOMAXPROCS, MaxDynamicWorkers) goroutines (about
// four chunks per goroutine). When [0, n) holds fewer than four chunks, or
// only one goroutine may run, it calls body(0, n) on the calling goroutine.
// Bodies that write only their own indices give the result of a sequential
// loop.
func Dynamic(n, grain int, body func(lo, hi int)) {
	w := min(runtime.GOMAXPROCS(0), MaxDynamicWorkers)
	if n < 4*grain || w < 2 {
		if n > 0 {
			body(0, n)
		}
		return
	}
	dynamic(n, grain, w, body)
}

// dynamic is Dynamic on w ≥ 2 goroutines.
func dynamic(n, grain, w int, body func(lo, hi int)) {
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
