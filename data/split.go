package data

import "iter"

// NumPhysical returns the number of physical batches Split makes of a
// logical batch of n samples with at most max each: ⌈n/max⌉, and 1 for an
// empty batch.
func NumPhysical(n, max int) int {
	if max <= 0 {
		panic("data: NumPhysical: max must be positive")
	}
	if n == 0 {
		return 1
	}
	return (n + max - 1) / max
}

// Split yields the physical batches of a logical batch with at most max
// samples each, together with their skip signal: true for every physical
// batch but the last, whose optimizer step is real. The batch is cut into
// k = ⌈len/max⌉ nearly equal contiguous parts, the first len mod k one
// sample longer (numpy's array_split, as Opacus' BatchMemoryManager does:
// 10 with max 3 gives 3, 3, 2, 2). An empty batch yields one empty physical
// batch with skip false: a real step on no data. The yielded slices share
// batch's storage. Split panics if max is not positive.
func Split(batch []int, max int) iter.Seq2[[]int, bool] {
	k := NumPhysical(len(batch), max)
	return func(yield func([]int, bool) bool) {
		n := len(batch)
		base, extra := n/k, n%k
		lo := 0
		for c := 0; c < k; c++ {
			size := base
			if c < extra {
				size++
			}
			if !yield(batch[lo:lo+size:lo+size], c < k-1) {
				return
			}
			lo += size
		}
	}
}
