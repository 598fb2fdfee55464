package optimizer

// Communicator is what the distributed optimizers need from MPI, for
// gradients of element type F. The world communicator of package mpi
// satisfies Communicator[float64], and its float32 view mpi.For[float32]
// satisfies Communicator[float32]; tests wrap them to inject faults.
//
// Every rank must call the collective methods in the same order with buffers
// of the same length.
type Communicator[F Float] interface {
	// Rank returns this process's rank in [0, Size()).
	Rank() int
	// Size returns the number of ranks.
	Size() int
	// AllreduceSum replaces buf, on every rank, by the element-wise sum of
	// buf over all ranks.
	AllreduceSum(buf []F) error
	// IallreduceSum starts AllreduceSum on buf and returns at once. buf must
	// not be read or written until wait has returned; wait must be called
	// exactly once.
	IallreduceSum(buf []F) (wait func() error, err error)
	// AllreduceSumFloat64 is AllreduceSum over float64 values whatever F
	// is: the optimizers' status words (flags, indices, clipped counts and
	// the configuration fingerprints of the first step), which float32
	// cannot carry exactly. For F = float64 it is AllreduceSum.
	AllreduceSumFloat64(buf []float64) error
}
