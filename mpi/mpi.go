package mpi

/*
#include <stdlib.h>
#include <mpi.h>

// One helper per operation (the reductions and broadcasts of typed
// elements are in typed.go): one cgo call each, and the handle types (pointers
// in Open MPI, ints in MPICH) and the MPI_IN_PLACE value stay out of Go.

static int dp_initialized(int *flag) { return MPI_Initialized(flag); }
static int dp_finalized(int *flag) { return MPI_Finalized(flag); }

static int dp_init(int *provided) {
	int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided);
	if (rc != MPI_SUCCESS) return rc;
	return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}
static int dp_finalize(void) { return MPI_Finalize(); }
static int dp_rank(int *r) { return MPI_Comm_rank(MPI_COMM_WORLD, r); }
static int dp_size(int *s) { return MPI_Comm_size(MPI_COMM_WORLD, s); }

// dp_new_requests and dp_waitall are shared with typed.go.
MPI_Request *dp_new_requests(int n) {
	MPI_Request *r = malloc(sizeof(MPI_Request) * (n > 0 ? n : 1));
	for (int i = 0; i < n; i++) r[i] = MPI_REQUEST_NULL;
	return r;
}
// GCC 12 misreads MPICH's MPI_STATUSES_IGNORE as a zero-length array.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
int dp_waitall(MPI_Request *reqs, int n) {
	return MPI_Waitall(n, reqs, MPI_STATUSES_IGNORE);
}
static int dp_testall(MPI_Request *reqs, int n, int *flag) {
	return MPI_Testall(n, reqs, flag, MPI_STATUSES_IGNORE);
}
#pragma GCC diagnostic pop
static int dp_bcast_bytes(void *buf, int n, int root) {
	return MPI_Bcast(buf, n, MPI_BYTE, root, MPI_COMM_WORLD);
}
static int dp_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
static void dp_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

static void dp_error_string(int code, char *buf, int *len) {
	if (MPI_Error_string(code, buf, len) != MPI_SUCCESS) *len = 0;
}
static void dp_library_version(char *buf, int *len) {
	if (MPI_Get_library_version(buf, len) != MPI_SUCCESS) *len = 0;
}
static int dp_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static int dp_max_library_version(void) { return MPI_MAX_LIBRARY_VERSION_STRING; }
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

// DefaultChunkBytes is the largest message, in bytes, that a reduction hands
// to MPI in one call unless Comm.ChunkBytes says otherwise. It was chosen by
// measuring 2-rank Allreduce throughput for chunk sizes from 64 KiB to 64 MiB
// on the project's 2-core machines (scripts/bench.sh, docs/mpi.md).
const DefaultChunkBytes = 1 << 20

// maxCount is the largest element count one MPI call takes (C int).
const maxCount = math.MaxInt32

// Error is a failed MPI call. Msg is MPI's own error string.
type Error struct {
	// Op is the operation that failed, for example "Allreduce".
	Op string
	// Code is MPI's error code.
	Code int
	// Msg is the text MPI_Error_string gives for Code.
	Msg string
}

func (e *Error) Error() string {
	return fmt.Sprintf("mpi: %s failed: %s (MPI error %d)", e.Op, e.Msg, e.Code)
}

// ErrFinalized is returned by operations on a Comm after Finalize.
var ErrFinalized = errors.New("mpi: communicator used after Finalize")

func mpiError(op string, rc C.int) error {
	if rc == C.MPI_SUCCESS {
		return nil
	}
	buf := make([]byte, int(C.dp_max_error_string())+1)
	var n C.int
	C.dp_error_string(rc, (*C.char)(unsafe.Pointer(&buf[0])), &n)
	msg := strings.TrimRight(string(buf[:int(n)]), "\x00 \n")
	if msg == "" {
		msg = "unknown error"
	}
	return &Error{Op: op, Code: int(rc), Msg: msg}
}

// Comm is the world communicator. Its methods may be called from several
// goroutines; calls into MPI are serialised. Collective methods must be
// called by every rank in the same order with buffers of the same length.
type Comm struct {
	mu        sync.Mutex
	rank      int
	size      int
	finalized bool

	// ChunkBytes is the largest message, in bytes, handed to MPI in one
	// reduction or broadcast call. NewComm sets it to DefaultChunkBytes;
	// change it only before the first collective, identically on every rank.
	ChunkBytes int
}

// Init initialises MPI with thread level MPI_THREAD_SERIALIZED, sets the world
// communicator's error handler to MPI_ERRORS_RETURN and returns the world
// communicator.
//
// Init fails if MPI was already initialised, if MPI cannot provide
// MPI_THREAD_SERIALIZED, or if the launcher's environment announces more
// than one rank while MPI sees a single one (a launcher that does not match
// the library); in that case MPI is finalised again and the error says which
// launcher to use.
func Init() (*Comm, error) {
	var flag C.int
	if err := mpiError("Initialized", C.dp_initialized(&flag)); err != nil {
		return nil, err
	}
	if flag != 0 {
		return nil, errors.New("mpi: Init called twice; call it once per process and share the *Comm")
	}
	var provided C.int
	if err := mpiError("Init_thread", C.dp_init(&provided)); err != nil {
		return nil, err
	}
	c := &Comm{ChunkBytes: DefaultChunkBytes}
	var r, s C.int
	if err := mpiError("Comm_rank", C.dp_rank(&r)); err != nil {
		return nil, err
	}
	if err := mpiError("Comm_size", C.dp_size(&s)); err != nil {
		return nil, err
	}
	c.rank, c.size = int(r), int(s)
	if provided < C.MPI_THREAD_SERIALIZED {
		C.dp_finalize()
		return nil, fmt.Errorf("mpi: %s provides thread level %d, below MPI_THREAD_SERIALIZED (%d) which dpmpi needs", Implementation, int(provided), int(C.MPI_THREAD_SERIALIZED))
	}
	if err := checkLauncher(os.Getenv, c.size, Implementation); err != nil {
		C.dp_finalize()
		return nil, err
	}
	return c, nil
}

// Finalize shuts MPI down. The Comm must not be used afterwards. Every rank
// must call it.
func (c *Comm) Finalize() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finalized {
		return ErrFinalized
	}
	c.finalized = true
	return mpiError("Finalize", C.dp_finalize())
}

// Rank returns this process's rank in [0, Size()).
func (c *Comm) Rank() int { return c.rank }

// Size returns the number of ranks.
func (c *Comm) Size() int { return c.size }

// LibraryVersion returns MPI_Get_library_version's text, trimmed.
func LibraryVersion() string {
	buf := make([]byte, int(C.dp_max_library_version())+1)
	var n C.int
	C.dp_library_version((*C.char)(unsafe.Pointer(&buf[0])), &n)
	return strings.TrimRight(string(buf[:int(n)]), "\x00 \n")
}

// chunkElems returns the chunk length in elements of size elem bytes.
func (c *Comm) chunkElems(elem int) int {
	n := c.ChunkBytes / elem
	if n < 1 {
		n = 1
	}
	if n > maxCount {
		n = maxCount
	}
	return n
}

// lock takes the MPI mutex; it reports ErrFinalized after Finalize.
func (c *Comm) lock() error {
	c.mu.Lock()
	if c.finalized {
		c.mu.Unlock()
		return ErrFinalized
	}
	return nil
}

// AllreduceSum replaces buf, on every rank, by the element-wise sum of buf
// over all ranks. An empty buf is a no-op. It is For[float64](c).AllreduceSum.
func (c *Comm) AllreduceSum(buf []float64) error { return For[float64](c).AllreduceSum(buf) }

// AllreduceSumFloat64 is AllreduceSum. It exists so that Comm and every
// Typed view share the method a precision-generic consumer uses for its
// float64 status words.
func (c *Comm) AllreduceSumFloat64(buf []float64) error { return c.AllreduceSum(buf) }

// AllreduceSumTo sets dst, on every rank, to the element-wise sum of src over
// all ranks; src is not modified. It panics if len(dst) != len(src) or if the
// two slices overlap. It is For[float64](c).AllreduceSumTo.
func (c *Comm) AllreduceSumTo(dst, src []float64) error {
	return For[float64](c).AllreduceSumTo(dst, src)
}

// chunks calls call(off, n) for consecutive pieces [off, off+n) of at most
// step elements covering [0, length), stopping at the first MPI error.
func chunks(length, step int, call func(off, n int) C.int, op string) error {
	for off := 0; off < length; off += step {
		if err := mpiError(op, call(off, min(step, length-off))); err != nil {
			return err
		}
	}
	return nil
}

// IallreduceSum starts AllreduceSum on buf and returns at once with a wait
// function that completes it. It is For[float64](c).IallreduceSum, which
// documents the rules.
func (c *Comm) IallreduceSum(buf []float64) (wait func() error, err error) {
	return For[float64](c).IallreduceSum(buf)
}

// Request is an outstanding non-blocking reduction started by Iallreduce.
type Request struct {
	c      *Comm
	reqs   *C.MPI_Request
	n      int
	pin    runtime.Pinner
	done   bool
	buf    any // keeps the buffer reachable until completion
	failed error
}

// Iallreduce is IallreduceSum returning a Request, which can also be polled
// with Test. It is For[float64](c).Iallreduce.
func (c *Comm) Iallreduce(buf []float64) (*Request, error) { return For[float64](c).Iallreduce(buf) }

func (r *Request) release() {
	r.done = true
	r.pin.Unpin()
	if r.reqs != nil {
		C.free(unsafe.Pointer(r.reqs))
		r.reqs = nil
	}
	r.buf = nil
}

// Wait blocks until the reduction is complete. Calling Wait again returns the
// first call's result.
func (r *Request) Wait() error {
	if r.done {
		return r.failed
	}
	if err := r.c.lock(); err != nil {
		return err
	}
	defer r.c.mu.Unlock()
	r.failed = mpiError("Waitall", C.dp_waitall(r.reqs, C.int(r.n)))
	r.release()
	return r.failed
}

// Test reports whether the reduction is complete, driving MPI's progress
// engine. After Test reports true the buffer may be used; Wait then returns
// at once.
func (r *Request) Test() (bool, error) {
	if r.done {
		return true, r.failed
	}
	if err := r.c.lock(); err != nil {
		return false, err
	}
	defer r.c.mu.Unlock()
	var flag C.int
	if err := mpiError("Testall", C.dp_testall(r.reqs, C.int(r.n), &flag)); err != nil {
		r.failed = err
		r.release()
		return true, err
	}
	if flag != 0 {
		r.release()
		return true, nil
	}
	return false, nil
}

// Bcast copies buf from rank root to every other rank. It is
// For[float64](c).Bcast.
func (c *Comm) Bcast(buf []float64, root int) error { return For[float64](c).Bcast(buf, root) }

// BcastBytes copies buf from rank root to every other rank. Every rank must
// pass a buffer of the same length; broadcast the length first when only the
// root knows it.
func (c *Comm) BcastBytes(buf []byte, root int) error {
	if err := c.checkRoot(root); err != nil {
		return err
	}
	if err := c.lock(); err != nil {
		return err
	}
	defer c.mu.Unlock()
	return chunks(len(buf), c.chunkElems(1), func(off, n int) C.int {
		return C.dp_bcast_bytes(unsafe.Pointer(&buf[off]), C.int(n), C.int(root))
	}, "Bcast")
}

func (c *Comm) checkRoot(root int) error {
	if root < 0 || root >= c.size {
		return fmt.Errorf("mpi: broadcast root %d is not a rank of a %d-rank world (want 0..%d)", root, c.size, c.size-1)
	}
	return nil
}

// Barrier blocks until every rank has called it.
func (c *Comm) Barrier() error {
	if err := c.lock(); err != nil {
		return err
	}
	defer c.mu.Unlock()
	return mpiError("Barrier", C.dp_barrier())
}

// Abort terminates every process of the job with the given exit code. Use it
// when one rank fails in a way the others cannot learn about, so that they do
// not wait forever in a collective. It does not return.
func (c *Comm) Abort(code int) {
	// Not under the mutex: another goroutine may be blocked inside MPI.
	C.dp_abort(C.int(code))
	os.Exit(code)
}
