/*
 * hello.c: the MPI program the slurm package's tests run through Slurm.
 * Built with mpicc by the test (the Go mpi binding is exercised in mpi/).
 *
 * Every rank allreduces rank+1 and prints one line
 *     hello rank R of N sum S host H
 * so the test can check that all N ranks ran in ONE world (S = N(N+1)/2);
 * a launcher/library mismatch instead gives N lines "rank 0 of 1".
 *
 * usage: hello [EXIT_RANK EXIT_CODE]
 *   after MPI_Finalize, rank EXIT_RANK exits with EXIT_CODE (others with 0).
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
	int rank, size;
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);

	/* Refuse to be a silent singleton: the launcher says how many ranks
	 * there should be (see docs/slurm.md). SLURM_NTASKS is not used: the
	 * batch step has it set even for a plain singleton run. */
	const char *vars[] = {"SLURM_STEP_NUM_TASKS", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
	for (unsigned i = 0; i < sizeof vars / sizeof vars[0]; i++) {
		const char *v = getenv(vars[i]);
		if (v != NULL && atoi(v) > 1 && atoi(v) != size) {
			fprintf(stderr, "hello: %s=%s but MPI_Comm_size=%d: launcher/MPI library mismatch\n",
				vars[i], v, size);
			return 2;
		}
	}

	double mine = rank + 1, sum = 0;
	MPI_Allreduce(&mine, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);

	char host[256] = "?";
	gethostname(host, sizeof host - 1);
	printf("hello rank %d of %d sum %.0f host %s\n", rank, size, sum, host);
	fflush(stdout);

	MPI_Finalize();
	if (argc >= 3 && rank == atoi(argv[1]))
		return atoi(argv[2]);
	return 0;
}
