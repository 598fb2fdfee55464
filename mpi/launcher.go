package mpi

import (
	"fmt"
	"strconv"
)

// checkLauncher returns an error when the launcher's environment says the job
// has more than one rank but MPI sees size ranks (1): the binary was started
// by a launcher that does not speak to its MPI library, and each process is a
// silent singleton. getenv reads the environment; impl is Implementation.
//
// The variables are those each launcher sets per process: OMPI_COMM_WORLD_SIZE
// (Open MPI's mpirun), PMI_SIZE (MPICH's hydra mpirun.mpich, srun --mpi=pmi2)
// and SLURM_STEP_NUM_TASKS (any srun step). SLURM_NTASKS is deliberately not
// used: a plain run inside an sbatch script has it set.
func checkLauncher(getenv func(string) string, size int, impl string) error {
	if size != 1 {
		return nil
	}
	type hint struct {
		env, launcher string
	}
	for _, h := range []hint{
		{"OMPI_COMM_WORLD_SIZE", "Open MPI's mpirun"},
		{"PMI_SIZE", "a PMI launcher (MPICH's mpirun.mpich/hydra or srun --mpi=pmi2)"},
		{"SLURM_STEP_NUM_TASKS", "srun"},
	} {
		n, err := strconv.Atoi(getenv(h.env))
		if err != nil || n <= 1 {
			continue
		}
		return fmt.Errorf("mpi: %s started %d processes (%s=%d) but %s sees a world of 1: each process is a separate singleton. %s",
			h.launcher, n, h.env, n, impl, launcherAdvice(impl))
	}
	return nil
}

func launcherAdvice(impl string) string {
	if impl == "MPICH" {
		return "This binary is linked against MPICH (-tags mpich): start it with mpirun.mpich (or mpiexec.mpich), or with srun --mpi=pmi2 under Slurm; or rebuild without -tags mpich to use Open MPI's mpirun"
	}
	return "This binary is linked against Open MPI: start it with Open MPI's mpirun (Debian: /usr/bin/mpirun from openmpi-bin), or with srun --mpi=pmix under Slurm; or rebuild with -tags mpich to use mpirun.mpich"
}
