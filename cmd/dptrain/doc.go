// Command dptrain trains a Fashion-MNIST classifier with differentially
// private SGD, on one process or across MPI ranks, and accounts for the
// privacy it spends. Start it under the launcher of the MPI library it was
// built against, with the noise given as σ or calibrated from a target ε:
//
//	go build -o bin/dptrain ./cmd/dptrain
//	OMPI_MCA_pml=ob1 mpirun --bind-to none -np 2 bin/dptrain --model cnn \
//		--clipping per-layer --max-grad-norm 0.1 --batch-size 2048 --epochs 40 \
//		--target-epsilon 3 --delta 1e-5 --out out/run1
//	# after a preemption: the same command with --resume added
//
// Each rank Poisson-samples its own shard of the training set at the global
// rate q; the per-layer (or flat) DP optimizer clips, rank 0 adds the noise,
// and the gradient is summed over the ranks. Rank 0 writes a privacy ledger
// record before every update (write-ahead), atomic checkpoints, the metrics,
// the final weights and a privacy curve, and prints a summary with test
// accuracy and ε by the RDP and PRV accountants. A budget guard stops the run
// before a step that would exceed the ε budget. SIGTERM or SIGUSR1 (Slurm
// preemption, time limits) makes every rank stop after the same step, write
// a checkpoint and exit 0; --resume continues exactly, reconciling the
// checkpoint with the ledger so that privacy is never under-counted.
//
// Exit status: 0 when finished, stopped by the budget guard or stopped by a
// signal after checkpointing; 1 on an error (printed with the rank); 2 for
// bad flags. Run dptrain --help for the flags; docs/dptrain.md describes the
// semantics, files, resume rules and the full accuracy run.
//
// # Source map
//
// main.go runs a rank through the job's phases (setup, resume or fresh
// start, budget plan, the features' private mean, loop, final checkpoint
// and summary); config.go parses the flags; trainer.go holds a rank's
// state; setup.go builds the data, model and DP optimizer; center.go
// estimates, records and subtracts the features' mean (--center-norm); collectives.go holds what the ranks agree on and
// exchange outside the optimizer; budget.go is the budget guard; loop.go
// runs the training steps; ledger.go is the write-ahead privacy ledger;
// state.go (checkpoint format) and resume.go save and restore a run;
// weights.go writes the final weights; report.go shows progress and writes
// the metrics and summary.
package main
