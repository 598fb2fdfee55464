// Package parallel runs a loop over the index range [0, n) on several
// goroutines, in the two ways dpmpi's numerical code needs.
//
// Split and For cut [0, n) into fixed contiguous ranges, one per goroutine.
// The partition depends only on n and the number of ranges, so a body that
// writes only the elements of its own range gives the same result, bit for
// bit, whatever GOMAXPROCS is; a body may also keep per-range scratch indexed
// by the range number Split passes it:
//
//	parallel.For(len(dst), parallel.ElemGrain, func(lo, hi int) {
//		for i := lo; i < hi; i++ {
//			dst[i] += alpha * src[i]
//		}
//	})
//
// Dynamic hands out small chunks to goroutines as they become free, so a core
// slowed down by other work takes fewer of them. It suits long loops whose
// iterations cost unequal amounts, such as the accountant's numerical
// integrals; it gives no range numbers, so its bodies must need no scratch.
//
// Every function runs the first range (or takes chunks) on the calling
// goroutine and returns when all ranges are done. None of them allocate when
// the loop stays on the calling goroutine.
package parallel
