// Package mpi is a thin cgo binding to the system MPI library: Init and
// Finalize, the world communicator, rank and size, blocking and non-blocking
// sum-Allreduce of float64 buffers, broadcast, barrier and abort. Nothing else
// lives here.
//
// # Libraries
//
// The binding links Open MPI by default (Debian: libopenmpi-dev, openmpi-bin,
// pkg-config name "ompi") and MPICH when built with -tags mpich (libmpich-dev,
// mpich, pkg-config name "mpich"). A binary must be started by the launcher of
// the library it is linked against: Open MPI's mpirun or srun --mpi=pmix for
// Open MPI, mpirun.mpich or srun --mpi=pmi2 for MPICH. A mismatched launcher
// starts N independent singletons that each believe they are rank 0 of 1; Init
// detects this from the launcher's environment and returns an error that says
// which launcher to use.
//
// # Threads
//
// Init requests MPI_THREAD_SERIALIZED. Goroutines migrate between operating
// system threads, so FUNNELED or SINGLE would only be correct with every MPI
// call made from one locked thread; MULTIPLE costs locking inside MPI on every
// call. With SERIALIZED any thread may call MPI as long as no two calls
// overlap, and Comm enforces that with a mutex, so a Comm may be used from
// several goroutines.
//
// # Large buffers
//
// Reductions of large buffers are issued as a sequence of calls of at most
// ChunkBytes bytes each. Open MPI 4.1 allocates a message-sized temporary per
// Allreduce; for tens of MiB glibc serves it with mmap and every call pays page
// faults, so chunks that fit in the last-level cache are several times faster
// than one call (see scripts/bench.sh). Chunking also keeps every element
// count below MPI's 2^31−1 limit whatever the buffer length.
//
// # Errors
//
// The world communicator's error handler is MPI_ERRORS_RETURN, so failures
// come back as *Error values carrying MPI's own error string instead of
// aborting the job.
package mpi
