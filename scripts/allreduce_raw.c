/* Raw MPI baseline for scripts/bench.sh: in-place MPI_Allreduce(SUM) of
 * doubles, one call per iteration, the same loop as BenchmarkAllreduce.
 * Usage: allreduce_raw ITERATIONS BYTES...   Prints "BYTES NS_PER_OP" on rank 0. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
	MPI_Init(&argc, &argv);
	int rank;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	long iters = atol(argv[1]);
	for (int a = 2; a < argc; a++) {
		long bytes = atol(argv[a]);
		int n = (int)(bytes / 8);
		double *buf = calloc(n > 0 ? n : 1, sizeof(double));
		for (int w = 0; w < 3; w++) /* warm-up, as Go's first b.N=1 round */
			MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
		MPI_Barrier(MPI_COMM_WORLD);
		double t0 = MPI_Wtime();
		for (long i = 0; i < iters; i++)
			MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
		double t = MPI_Wtime() - t0;
		if (rank == 0)
			printf("%ld %.1f\n", bytes, t / iters * 1e9);
		free(buf);
	}
	MPI_Finalize();
	return 0;
}
