// Package slurm holds no Go API: it is the home of dpmpi's Slurm job scripts
// and of the tests that run real jobs through a Slurm cluster. Submit the
// scripts from the repository root after building bin/dptrain; arguments
// after the script go to dptrain, and command-line sbatch options override
// the scripts' #SBATCH lines:
//
//	go build -o bin/ ./cmd/...
//	sbatch --ntasks=4 --time=12:00:00 slurm/train.sbatch --epochs 20 --target-epsilon 3
//	sbatch slurm/sweep.sbatch --epochs 20 # one run per σ in $SWEEP_VALUES
//
// The scripts, beside this file:
//
//   - train.sbatch: one multi-rank bin/dptrain run (srun --mpi=pmix for Open
//     MPI, --mpi=pmi2 for an MPICH build, or an mpirun fallback), with
//     requeue on preemption, a checkpoint signal before the time limit and
//     resume on restart.
//   - sweep.sbatch: a job array sweeping the noise multiplier or the target
//     epsilon, one train.sbatch run per value.
//   - accountant-curve.sbatch: a single-task bin/dpaccount job, typically
//     chained after a sweep.
//
// Each script's header lists its environment knobs; docs/slurm.md explains
// the launcher/library matrix, requeue and preemption, and the pitfalls.
//
// # Tests
//
// The tests submit jobs with sbatch and check their output: MPI worlds of 2
// and 4 ranks under srun --mpi=pmix and under mpirun inside the allocation,
// exit-status propagation, --kill-on-invalid-dep, and train.sbatch's
// checkpoint-requeue-resume cycle (with a stand-in for dptrain, and with the
// real one when Fashion-MNIST is installed). They need a running cluster:
// scripts/slurm-up.sh starts a single-node one on this machine. Without
// sbatch on PATH the tests skip, or fail when DPMPI_REQUIRE_SLURM=1 (as in
// scripts/test.sh):
//
//	sudo scripts/slurm-up.sh
//	DPMPI_REQUIRE_SLURM=1 go test -count=1 -v ./slurm/
package slurm
