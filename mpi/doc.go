// Package mpi is a thin cgo binding to the system MPI library: the world
// communicator of a job and the collectives data-parallel training needs.
// Call Init once per process; the *Comm it returns gives this process's Rank
// and the world's Size, and its collectives (AllreduceSum, AllreduceSumTo,
// IallreduceSum or Iallreduce, Bcast, BcastBytes, Barrier) must be called by
// every rank in the same order. Call Finalize on every rank before exiting,
// or Abort to take the whole job down when one rank fails in a way the others
// cannot learn about:
//
//	world, err := mpi.Init()
//	if err != nil {
//		log.Fatal(err) // for instance a launcher that does not match the library
//	}
//	grad := make([]float64, n)
//	// ... each rank fills grad ...
//	if err := world.AllreduceSum(grad); err != nil { // grad is now the sum over ranks
//		log.Print(err)
//		world.Abort(1)
//	}
//	if err := world.Finalize(); err != nil {
//		log.Fatal(err)
//	}
//
// Comm's reductions and broadcasts take float64 buffers. For[F] views the
// same communicator with those collectives over float32 (MPI_FLOAT) or
// float64 elements, for code that is generic in its precision:
//
//	err := mpi.For[float32](world).AllreduceSum(grad32)
//
// A *Comm may be used from several goroutines. It satisfies
// optimizer.Communicator, the interface the distributed optimizers are
// written against, so nothing else in dpmpi depends on this package except
// the commands and the test harness mpi/mpitest.
//
// # Libraries and launchers
//
// The binding links Open MPI by default (Debian: libopenmpi-dev and
// openmpi-bin, pkg-config name "ompi") and MPICH when built with -tags mpich
// (libmpich-dev and mpich, pkg-config name "mpich"); Implementation names the
// one linked. A binary must be started by the launcher of its library: Open
// MPI's mpirun or srun --mpi=pmix for Open MPI, mpirun.mpich or srun
// --mpi=pmi2 for MPICH. A mismatched launcher starts N independent
// singletons that each believe they are rank 0 of 1; Init detects this from
// the launcher's environment and returns an error naming the launcher to use.
// A binary started without a launcher is a world of one.
//
// # Errors
//
// The world communicator's error handler is MPI_ERRORS_RETURN, so a failed
// call returns an *Error carrying MPI's own message instead of aborting the
// job. Using a Comm after Finalize returns ErrFinalized.
//
// # Implementation notes
//
// Init requests MPI_THREAD_SERIALIZED and Comm serialises its calls with a
// mutex. Goroutines migrate between operating-system threads, so FUNNELED or
// SINGLE would only be correct with every call made from one locked thread,
// and MULTIPLE would pay MPI's internal locking on every call.
//
// Reductions and broadcasts of large buffers are issued as a sequence of
// calls of at most ChunkBytes bytes (DefaultChunkBytes, 1 MiB). Open MPI 4.1
// allocates a message-sized temporary per Allreduce, which for tens of MiB
// glibc serves with mmap, so every call pays fresh page faults; pieces that
// fit in the last-level cache are several times faster. Chunking also keeps
// every element count below MPI's 2³¹−1 limit. A non-blocking reduction pins
// its buffer until it completes, because MPI keeps the pointer after the call
// returns; MPI progresses it only inside MPI calls (Request.Test, Wait).
//
// docs/mpi.md in the repository records the measurements behind these
// choices, the build flags and the launcher settings for the project's
// machines.
package mpi
