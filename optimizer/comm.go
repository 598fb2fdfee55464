package optimizer

// Communicator is what the distributed optimizers need from MPI. The world
// communicator of package mpi satisfies it; tests wrap it to inject faults.
//
// Every rank must call the collective methods in the same order with buffers
// of the same length.
type Communicator interface {
	// Rank returns this process's rank in [0, Size()).
	Rank() int
	// Size returns the number of ranks.
	Size() int
	// AllreduceSum replaces buf, on every rank, by the element-wise sum of
	// buf over all ranks.
	AllreduceSum(buf []float64) error
	// IallreduceSum starts AllreduceSum on buf and returns at once. buf must
	// not be read or written until wait has returned; wait must be called
	// exactly once.
	IallreduceSum(buf []float64) (wait func() error, err error)
}
