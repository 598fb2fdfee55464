// Package mpitest runs real multi-rank tests, under a real MPI launcher, from
// plain go test. A package with multi-rank tests calls Main from its
// TestMain, and a test calls Run with the rank counts it wants and a body
// that receives the world communicator:
//
//	func TestMain(m *testing.M) { mpitest.Main(m) }
//
//	func TestSum(t *testing.T) {
//		mpitest.Run(t, []int{1, 2, 4}, func(t *testing.T, comm *mpi.Comm) {
//			buf := []float64{float64(comm.Rank())}
//			if err := comm.AllreduceSum(buf); err != nil {
//				t.Fatal(err)
//			}
//			// ... check buf on every rank ...
//		})
//	}
//
// go test ./pkg then runs the body on 1, 2 and 4 ranks. Each rank count is a
// subtest named "np=N" (or "singleton" for Singleton, a binary started
// without a launcher), so the verbose output names the rank counts. Each
// top-level test function may call Run at most once. Multi-rank benchmarks
// call BenchWorld instead and are started under the launcher by hand, with a
// fixed -test.benchtime=Nx (scripts/bench.sh does).
//
// # How a job runs
//
// Under go test the test binary is a single process. Run re-executes that
// same binary under the launcher once per rank count, restricted to the
// calling test, and every rank runs the body with the world communicator.
// Open MPI's mpirun (default build) is run as mpirun --allow-run-as-root
// --oversubscribe --bind-to none --tag-output with OMPI_MCA_pml=ob1; an MPICH
// build (-tags mpich) uses mpirun.mpich -prepend-rank. DPMPI_MPIRUN names
// another launcher binary.
//
// # Failures
//
// A failure on any rank fails the subtest with every rank's output: the
// failing rank aborts the job, so that no other rank waits forever in a
// collective it will never join. A job that does not finish within
// DPMPI_MPITEST_TIMEOUT (a Go duration, default 3m) is killed after Go's own
// test timeout has printed every goroutine's stack, with a message naming the
// test and the rank count. A job that dies after every rank has passed (Open
// MPI's helper threads have been seen to crash during MPI_Finalize on loaded
// machines) is run once more, with a warning in the test log.
package mpitest
