package optimizer

import (
	"math"
	"runtime"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
)

// DenseSource is a GradSource over materialised per-sample gradients: a
// B×n row-major block whose row i is sample i's gradient of one layer.
//
// Its kernels use gonum's assembly BLAS: a dot product per row for the
// norms and a transposed matrix-vector product (dst += Aᵀw, column-tiled so
// that the destination stays in cache) for the weighted sum. Blocks of at
// least parallelMin elements are split over up to GOMAXPROCS goroutines:
// the calling goroutine and helper goroutines that a source starts on its
// first parallel call and that end when the source is garbage collected.
// The kernels do not allocate.
type DenseSource struct {
	b, n    int
	data    []float64
	helpers *denseHelpers
}

// denseTask is one share of a kernel call, sent to a helper by value.
type denseTask struct {
	norms        bool
	dst, data, w []float64
	b, n, lo, hi int
}

func (t *denseTask) run() {
	if t.norms {
		denseNorms(t.dst, t.data, t.n)
	} else {
		denseAddWeighted(t.dst, t.data, t.w, t.b, t.n, t.lo, t.hi)
	}
}

// denseHelpers are the helper goroutines of one DenseSource. They hold no
// reference to the source, so that the source can be collected, which
// closes tasks and ends them.
type denseHelpers struct {
	n     int
	tasks chan denseTask
	done  chan struct{}
}

func denseHelper(tasks <-chan denseTask, done chan<- struct{}) {
	for t := range tasks {
		t.run()
		done <- struct{}{}
	}
}

// dispatch runs the tasks, the first on the calling goroutine and the
// others on helpers, and returns when all are done.
func (s *DenseSource) dispatch(tasks []denseTask) {
	if s.helpers == nil || s.helpers.n < len(tasks)-1 {
		if s.helpers != nil {
			close(s.helpers.tasks)
		}
		h := &denseHelpers{n: len(tasks) - 1, tasks: make(chan denseTask, len(tasks)), done: make(chan struct{}, len(tasks))}
		for range h.n {
			go denseHelper(h.tasks, h.done)
		}
		runtime.AddCleanup(s, func(c chan denseTask) { close(c) }, h.tasks)
		s.helpers = h
	}
	for i := 1; i < len(tasks); i++ {
		s.helpers.tasks <- tasks[i]
	}
	tasks[0].run()
	for i := 1; i < len(tasks); i++ {
		<-s.helpers.done
	}
}

// maxWorkers bounds the goroutines of one kernel call.
const maxWorkers = 16

// NewDenseSource returns a source over data, which holds b rows of n
// gradients each; data is used, not copied. It panics if b < 0, n < 1 or
// len(data) != b·n.
func NewDenseSource(b, n int, data []float64) *DenseSource {
	if b < 0 || n < 1 || len(data) != b*n {
		panic("optimizer: NewDenseSource: len(data) must be b·n with b ≥ 0 and n ≥ 1")
	}
	return &DenseSource{b: b, n: n, data: data}
}

// Reset points s at a new block of the same kind, so a source can be reused
// across backward passes without allocating. It panics like NewDenseSource.
func (s *DenseSource) Reset(b, n int, data []float64) {
	if b < 0 || n < 1 || len(data) != b*n {
		panic("optimizer: DenseSource.Reset: len(data) must be b·n with b ≥ 0 and n ≥ 1")
	}
	s.b, s.n, s.data = b, n, data
}

// Samples returns B.
func (s *DenseSource) Samples() int { return s.b }

// Len returns n.
func (s *DenseSource) Len() int { return s.n }

// Row returns sample i's gradient (a sub-slice of the block).
func (s *DenseSource) Row(i int) []float64 { return s.data[i*s.n : (i+1)*s.n : (i+1)*s.n] }

// parallelMin is the block size (in elements) from which the kernels split
// work over goroutines; below it the start-up cost of a goroutine is not
// repaid.
const parallelMin = 1 << 18

// tileCols is the number of destination elements AddWeighted updates at a
// time: 32 KiB of float64, which stays in the L1 cache while every sample's
// row segment is added into it.
const tileCols = 4096

func (s *DenseSource) workers(rows int) int {
	p := min(runtime.GOMAXPROCS(0), maxWorkers, rows)
	if s.b*s.n < parallelMin || p < 2 {
		return 1
	}
	return p
}

// Norms stores in dst[i] the L2 norm of row i. It panics if len(dst) != B.
func (s *DenseSource) Norms(dst []float64) {
	if len(dst) != s.b {
		panic("optimizer: DenseSource.Norms: len(dst) != Samples()")
	}
	p := s.workers(s.b)
	if p == 1 {
		denseNorms(dst, s.data, s.n)
		return
	}
	var buf [maxWorkers]denseTask
	tasks := buf[:0]
	per := (s.b + p - 1) / p
	for lo := 0; lo < s.b; lo += per {
		hi := min(lo+per, s.b)
		tasks = append(tasks, denseTask{norms: true, dst: dst[lo:hi], data: s.data[lo*s.n : hi*s.n], n: s.n})
	}
	s.dispatch(tasks)
}

// denseNorms computes the row norms of the len(dst)×n block data. The fast
// path is √(x·x); a row whose sum of squares overflows is recomputed with
// the scaled algorithm of floats.Norm, so only rows holding NaN or ±Inf get
// a non-finite norm.
func denseNorms(dst, data []float64, n int) {
	for i := range dst {
		row := data[i*n : (i+1)*n]
		ss := blas64.Dot(blas64.Vector{N: n, Inc: 1, Data: row}, blas64.Vector{N: n, Inc: 1, Data: row})
		if math.IsInf(ss, 1) {
			dst[i] = floats.Norm(row, 2)
			continue
		}
		dst[i] = math.Sqrt(ss)
	}
}

// AddWeighted adds Σ_i w[i]·row_i to dst. It panics if len(w) != B or
// len(dst) != n.
func (s *DenseSource) AddWeighted(dst, w []float64) {
	if len(w) != s.b || len(dst) != s.n {
		panic("optimizer: DenseSource.AddWeighted: len(w) != Samples() or len(dst) != Len()")
	}
	if s.b == 0 {
		return
	}
	p := s.workers(s.n/tileCols + 1)
	if p == 1 {
		denseAddWeighted(dst, s.data, w, s.b, s.n, 0, s.n)
		return
	}
	// Split the columns in p parts of whole tiles.
	tiles := (s.n + tileCols - 1) / tileCols
	per := (tiles + p - 1) / p * tileCols
	var buf [maxWorkers]denseTask
	tasks := buf[:0]
	for lo := 0; lo < s.n; lo += per {
		tasks = append(tasks, denseTask{dst: dst, data: s.data, w: w, b: s.b, n: s.n, lo: lo, hi: min(lo+per, s.n)})
	}
	s.dispatch(tasks)
}

// denseAddWeighted adds Σ_i w[i]·data[i, lo:hi] to dst[lo:hi] for the b×n
// row-major block data, one column tile at a time.
func denseAddWeighted(dst, data, w []float64, b, n, lo, hi int) {
	x := blas64.Vector{N: b, Inc: 1, Data: w}
	for c := lo; c < hi; c += tileCols {
		e := min(c+tileCols, hi)
		a := blas64.General{Rows: b, Cols: e - c, Stride: n, Data: data[c : (b-1)*n+e]}
		blas64.Gemv(blas.Trans, 1, a, x, 1, blas64.Vector{N: e - c, Inc: 1, Data: dst[c:e]})
	}
}
