package optimizer

import (
	"runtime"
	"sync/atomic"

	"github.com/dpmpi/dpmpi/internal/l2norm"
	"github.com/dpmpi/dpmpi/internal/prec"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// DenseSource is a GradSource over materialised per-sample gradients: a
// B×n row-major block whose row i is sample i's gradient of one layer.
//
// Its kernels use gonum's assembly BLAS: a dot product per row for the
// norms and a transposed matrix-vector product (dst += Aᵀw, column-tiled so
// that the destination stays in cache) for the weighted sum. Blocks of at
// least parallelMin elements are cut into chunks (of rows for the norms, of
// column tiles for the weighted sum) that the calling goroutine and up to
// GOMAXPROCS−1 helper goroutines take in turn, so that a worker slowed by
// other load on the machine does not hold up the others. A source starts
// its helpers on its first parallel call; they end when the source is
// garbage collected. The kernels do not allocate.
//
// For F = float32 the norms are accumulated in float64 (blas32.DDot) and
// the weighted sum is a float32 matrix-vector product (blas32.Gemv) with
// the float64 weights rounded to float32.
//
// A DenseSource is used by one goroutine at a time.
type DenseSource[F Float] struct {
	b, n    int
	data    []F
	w32     []float32 // float32 weights of the current weighted sum (F = float32)
	helpers *denseHelpers[F]
}

// NewDenseSource returns a source over data, which holds b rows of n
// gradients each; data is used, not copied. It panics if b < 0, n < 1 or
// len(data) != b·n.
func NewDenseSource[F Float](b, n int, data []F) *DenseSource[F] {
	if b < 0 || n < 1 || len(data) != b*n {
		panic("optimizer: NewDenseSource: len(data) must be b·n with b ≥ 0 and n ≥ 1")
	}
	return &DenseSource[F]{b: b, n: n, data: data}
}

// Reset points s at a new block, so a source (and its helpers) can be
// reused across backward passes without allocating. It panics like
// NewDenseSource.
func (s *DenseSource[F]) Reset(b, n int, data []F) {
	if b < 0 || n < 1 || len(data) != b*n {
		panic("optimizer: DenseSource.Reset: len(data) must be b·n with b ≥ 0 and n ≥ 1")
	}
	s.b, s.n, s.data = b, n, data
}

// Samples returns B.
func (s *DenseSource[F]) Samples() int { return s.b }

// Len returns n.
func (s *DenseSource[F]) Len() int { return s.n }

// Row returns sample i's gradient (a sub-slice of the block).
func (s *DenseSource[F]) Row(i int) []F { return s.data[i*s.n : (i+1)*s.n : (i+1)*s.n] }

// Norms stores in dst[i] the L2 norm of row i. It panics if len(dst) != B.
func (s *DenseSource[F]) Norms(dst []float64) {
	if len(dst) != s.b {
		panic("optimizer: DenseSource.Norms: len(dst) != Samples()")
	}
	s.run(denseJob[F]{norms: true, norm: dst, data: s.data, b: s.b, n: s.n}, s.b)
}

// AddWeighted adds Σ_i w[i]·row_i to dst. It panics if len(w) != B or
// len(dst) != n.
func (s *DenseSource[F]) AddWeighted(dst []F, w []float64) {
	if len(w) != s.b || len(dst) != s.n {
		panic("optimizer: DenseSource.AddWeighted: len(w) != Samples() or len(dst) != Len()")
	}
	if s.b == 0 {
		return
	}
	s.run(denseJob[F]{dst: dst, data: s.data, w: w, w32: s.weights32(w), b: s.b, n: s.n}, (s.n+tileCols-1)/tileCols)
}

// ClipAdd clips and accumulates the block in groups of rows small enough
// to stay in the last-level cache (clipGroupBytes): the norms of a group
// are computed, which brings its rows into the cache, and the group's
// weighted sum is added to dst while the rows are still there. Memory is
// thus read once instead of twice. How the work is shared among goroutines
// does not change the order in which an element of dst receives the rows,
// so the result is deterministic for a given GOMAXPROCS (which sets the
// smallest group). It panics if len(norms) or len(factors) != B or
// len(dst) != n.
func (s *DenseSource[F]) ClipAdd(dst []F, maxNorm float64, norms, factors []float64) {
	if len(norms) != s.b || len(factors) != s.b || len(dst) != s.n {
		panic("optimizer: DenseSource.ClipAdd: len(norms) or len(factors) != Samples() or len(dst) != Len()")
	}
	group := max(1, runtime.GOMAXPROCS(0), clipGroupBytes/(prec.Size[F]()*s.n))
	tiles := (s.n + tileCols - 1) / tileCols
	for lo := 0; lo < s.b; lo += group {
		hi := min(lo+group, s.b)
		data := s.data[lo*s.n : hi*s.n]
		s.run(denseJob[F]{norms: true, norm: norms[lo:hi], data: data, b: hi - lo, n: s.n}, hi-lo)
		for i := lo; i < hi; i++ {
			factors[i] = ClipFactor(maxNorm, norms[i])
		}
		s.run(denseJob[F]{dst: dst, data: data, w: factors[lo:hi], w32: s.weights32(factors[lo:hi]), b: hi - lo, n: s.n}, tiles)
	}
}

// clipGroupBytes is the size of the row groups of ClipAdd (a group has at
// least one row per worker): with the destination it must fit in the
// last-level cache.
const clipGroupBytes = 8 << 20

// parallelMin is the block size (in elements) from which the kernels split
// work over goroutines; below it the hand-off costs more than it saves.
const parallelMin = 1 << 18

// tileCols is the number of destination elements AddWeighted updates at a
// time: 32 KiB of float64, which stays in the L1 cache while every sample's
// row segment is added into it.
const tileCols = 4096

// chunksPerWorker is how many chunks a parallel call is cut into per
// worker, so that the workers can balance the load among themselves.
const chunksPerWorker = 8

// denseJob is one kernel call over units [0, units): rows for the norms,
// column tiles for the weighted sum. It is sent to helpers by value.
type denseJob[F Float] struct {
	norms        bool
	norm, w      []float64 // the norms' destination; the weights
	w32          []float32 // the weights in float32 (F = float32)
	dst, data    []F
	b, n         int
	units, chunk int // number of units, units per chunk
	next         *atomic.Int64
}

// runUnits runs units [lo, hi) of the job.
func (j *denseJob[F]) runUnits(lo, hi int) {
	if j.norms {
		denseNorms(j.norm[lo:hi], j.data[lo*j.n:hi*j.n], j.n)
		return
	}
	denseAddWeighted(j.dst, j.data, j.w, j.w32, j.b, j.n, lo*tileCols, min(hi*tileCols, j.n))
}

// work takes chunks until none is left.
func (j *denseJob[F]) work() {
	for {
		c := int(j.next.Add(1)) - 1
		lo := c * j.chunk
		if lo >= j.units {
			return
		}
		j.runUnits(lo, min(lo+j.chunk, j.units))
	}
}

// denseHelpers are the helper goroutines of one DenseSource. They hold no
// reference to the source, so that the source can be collected, which
// closes jobs and ends them.
type denseHelpers[F Float] struct {
	n    int
	jobs chan denseJob[F]
	done chan struct{}
	next atomic.Int64
}

func denseHelper[F Float](jobs <-chan denseJob[F], done chan<- struct{}) {
	for j := range jobs {
		j.work()
		done <- struct{}{}
	}
}

// run runs job over units units, in parallel when the block is large.
func (s *DenseSource[F]) run(job denseJob[F], units int) {
	p := min(runtime.GOMAXPROCS(0), units)
	if job.b*job.n < parallelMin || p < 2 {
		job.runUnits(0, units)
		return
	}
	h := s.helpers
	if h == nil || h.n < p-1 {
		if h != nil {
			close(h.jobs)
		}
		h = &denseHelpers[F]{n: p - 1, jobs: make(chan denseJob[F], p-1), done: make(chan struct{}, p-1)}
		for range h.n {
			go denseHelper(h.jobs, h.done)
		}
		runtime.AddCleanup(s, func(c chan denseJob[F]) { close(c) }, h.jobs)
		s.helpers = h
	}
	h.next.Store(0)
	job.units, job.chunk, job.next = units, max(1, (units+chunksPerWorker*p-1)/(chunksPerWorker*p)), &h.next
	for range p - 1 {
		h.jobs <- job
	}
	job.work()
	for range p - 1 {
		<-h.done
	}
}

// denseNorms computes the row norms of the len(dst)×n block data with
// l2norm.Of: √(x·x), and the scaled fallback for a row whose sum of squares
// overflows, so only rows holding NaN or ±Inf get a non-finite norm.
func denseNorms[F Float](dst []float64, data []F, n int) {
	for i := range dst {
		dst[i] = l2norm.Of(data[i*n : (i+1)*n])
	}
}

// denseAddWeighted adds Σ_i w[i]·data[i, lo:hi] to dst[lo:hi] for the b×n
// row-major block data, one column tile at a time; for F = float32 with the
// weights w32.
func denseAddWeighted[F Float](dst, data []F, w []float64, w32 []float32, b, n, lo, hi int) {
	if prec.Is32[F]() {
		dst, data := prec.As32(dst), prec.As32(data)
		x := blas32.Vector{N: b, Inc: 1, Data: w32}
		for c := lo; c < hi; c += tileCols {
			e := min(c+tileCols, hi)
			a := blas32.General{Rows: b, Cols: e - c, Stride: n, Data: data[c : (b-1)*n+e]}
			blas32.Gemv(blas.Trans, 1, a, x, 1, blas32.Vector{N: e - c, Inc: 1, Data: dst[c:e]})
		}
		return
	}
	dst64, data64 := prec.As64(dst), prec.As64(data)
	x := blas64.Vector{N: b, Inc: 1, Data: w}
	for c := lo; c < hi; c += tileCols {
		e := min(c+tileCols, hi)
		a := blas64.General{Rows: b, Cols: e - c, Stride: n, Data: data64[c : (b-1)*n+e]}
		blas64.Gemv(blas.Trans, 1, a, x, 1, blas64.Vector{N: e - c, Inc: 1, Data: dst64[c:e]})
	}
}

// weights32 returns w rounded to float32 in the source's scratch buffer
// when F is float32, and nil otherwise.
func (s *DenseSource[F]) weights32(w []float64) []float32 {
	if !prec.Is32[F]() {
		return nil
	}
	if cap(s.w32) < len(w) {
		s.w32 = make([]float32, len(w), max(len(w), s.b))
	}
	s.w32 = s.w32[:len(w)]
	for i, v := range w {
		s.w32[i] = float32(v)
	}
	return s.w32
}
