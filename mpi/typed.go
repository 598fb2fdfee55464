package mpi

/*
#include <mpi.h>

// Element types of the reductions, as passed from Go.
enum { dp_float64 = 0, dp_float32 = 1 };
static MPI_Datatype dp_type(int t) { return t == dp_float32 ? MPI_FLOAT : MPI_DOUBLE; }

static int dp_allreduce_inplace(void *buf, int n, int t) {
	return MPI_Allreduce(MPI_IN_PLACE, buf, n, dp_type(t), MPI_SUM, MPI_COMM_WORLD);
}
static int dp_allreduce(const void *src, void *dst, int n, int t) {
	return MPI_Allreduce(src, dst, n, dp_type(t), MPI_SUM, MPI_COMM_WORLD);
}
static int dp_iallreduce_inplace(void *buf, int n, int t, MPI_Request *reqs, int i) {
	return MPI_Iallreduce(MPI_IN_PLACE, buf, n, dp_type(t), MPI_SUM, MPI_COMM_WORLD, &reqs[i]);
}
static int dp_bcast(void *buf, int n, int t, int root) {
	return MPI_Bcast(buf, n, dp_type(t), root, MPI_COMM_WORLD);
}

// Defined in mpi.go.
MPI_Request *dp_new_requests(int n);
int dp_waitall(MPI_Request *reqs, int n);
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Float is the element type of the reductions: float32 (MPI_FLOAT) or
// float64 (MPI_DOUBLE).
type Float interface{ float32 | float64 }

// Typed is the world communicator seen with reductions and broadcasts over
// elements of type F. Comm's own float64 methods are those of
// Typed[float64]; code that is generic in its precision takes a Typed[F]:
//
//	grads := make([]float32, n)
//	err := mpi.For[float32](comm).AllreduceSum(grads)
//
// A Typed shares its Comm's mutex, chunk size and state, and is valid as long
// as its Comm is.
type Typed[F Float] struct{ c *Comm }

// For returns c with reductions over elements of type F.
func For[F Float](c *Comm) Typed[F] { return Typed[F]{c} }

// elemType returns the C element-type code and the size in bytes of F.
func elemType[F Float]() (C.int, int) {
	var z F
	if _, ok := any(z).(float32); ok {
		return C.dp_float32, 4
	}
	return C.dp_float64, 8
}

// Rank returns this process's rank in [0, Size()).
func (t Typed[F]) Rank() int { return t.c.rank }

// Size returns the number of ranks.
func (t Typed[F]) Size() int { return t.c.size }

// Comm returns the world communicator t views.
func (t Typed[F]) Comm() *Comm { return t.c }

// AllreduceSum replaces buf, on every rank, by the element-wise sum of buf
// over all ranks, in F's arithmetic. An empty buf is a no-op. Buffers larger
// than the Comm's ChunkBytes are reduced in consecutive chunks.
func (t Typed[F]) AllreduceSum(buf []F) error {
	if err := t.c.lock(); err != nil {
		return err
	}
	defer t.c.mu.Unlock()
	typ, size := elemType[F]()
	return chunks(len(buf), t.c.chunkElems(size), func(off, n int) C.int {
		return C.dp_allreduce_inplace(unsafe.Pointer(&buf[off]), C.int(n), typ)
	}, "Allreduce")
}

// AllreduceSumFloat64 sums a float64 buffer over the ranks whatever F is,
// like For[float64](t.Comm()).AllreduceSum: a float32 consumer's status
// words (flags, indices, exact fingerprints) need float64.
func (t Typed[F]) AllreduceSumFloat64(buf []float64) error {
	return For[float64](t.c).AllreduceSum(buf)
}

// AllreduceSumTo sets dst, on every rank, to the element-wise sum of src over
// all ranks; src is not modified. It panics if len(dst) != len(src) or if the
// two slices overlap.
func (t Typed[F]) AllreduceSumTo(dst, src []F) error {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("mpi: AllreduceSumTo: len(dst) = %d, len(src) = %d", len(dst), len(src)))
	}
	if len(dst) == 0 {
		return nil
	}
	if overlap(dst, src) {
		panic("mpi: AllreduceSumTo: dst and src overlap; use AllreduceSum to reduce in place")
	}
	if err := t.c.lock(); err != nil {
		return err
	}
	defer t.c.mu.Unlock()
	typ, size := elemType[F]()
	return chunks(len(src), t.c.chunkElems(size), func(off, n int) C.int {
		return C.dp_allreduce(unsafe.Pointer(&src[off]), unsafe.Pointer(&dst[off]), C.int(n), typ)
	}, "Allreduce")
}

// overlap reports whether two non-empty slices share memory.
func overlap[F Float](a, b []F) bool {
	size := unsafe.Sizeof(a[0])
	a0 := uintptr(unsafe.Pointer(&a[0]))
	b0 := uintptr(unsafe.Pointer(&b[0]))
	a1 := a0 + uintptr(len(a))*size
	b1 := b0 + uintptr(len(b))*size
	return a0 < b1 && b0 < a1
}

// IallreduceSum starts AllreduceSum on buf and returns at once with a wait
// function that completes it. Until wait returns, buf must be neither read nor
// written; it stays pinned so that the garbage collector cannot move or free
// it while MPI holds its address. wait must be called exactly once; several
// reductions may be outstanding at the same time, and every rank must start
// them in the same order.
//
// MPI makes progress on a non-blocking reduction only inside MPI calls, so
// overlapping it with computation needs either calls into MPI (Test) during the
// computation or a goroutine that waits.
func (t Typed[F]) IallreduceSum(buf []F) (wait func() error, err error) {
	r, err := t.Iallreduce(buf)
	if err != nil {
		return nil, err
	}
	return r.Wait, nil
}

// Iallreduce is IallreduceSum returning a Request, which can also be polled
// with Test.
func (t Typed[F]) Iallreduce(buf []F) (*Request, error) {
	c := t.c
	if err := c.lock(); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	typ, size := elemType[F]()
	step := c.chunkElems(size)
	chunks := (len(buf) + step - 1) / step
	r := &Request{c: c, n: chunks, buf: buf}
	if chunks == 0 {
		r.done = true
		return r, nil
	}
	r.reqs = C.dp_new_requests(C.int(chunks))
	r.pin.Pin(&buf[0])
	for i := 0; i < chunks; i++ {
		off := i * step
		n := min(step, len(buf)-off)
		if err := mpiError("Iallreduce", C.dp_iallreduce_inplace(unsafe.Pointer(&buf[off]), C.int(n), typ, r.reqs, C.int(i))); err != nil {
			// Complete what was started so that MPI no longer holds buf.
			C.dp_waitall(r.reqs, C.int(i))
			r.release()
			return nil, err
		}
	}
	return r, nil
}

// Bcast copies buf from rank root to every other rank.
func (t Typed[F]) Bcast(buf []F, root int) error {
	c := t.c
	if err := c.checkRoot(root); err != nil {
		return err
	}
	if err := c.lock(); err != nil {
		return err
	}
	defer c.mu.Unlock()
	typ, size := elemType[F]()
	return chunks(len(buf), c.chunkElems(size), func(off, n int) C.int {
		return C.dp_bcast(unsafe.Pointer(&buf[off]), C.int(n), typ, C.int(root))
	}, "Bcast")
}
