package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dpmpi/dpmpi/mpi"
	"github.com/dpmpi/dpmpi/optimizer"
)

// Exit codes.
const (
	exitOK    = 0 // finished, stopped by the budget guard, or stopped by a signal after checkpointing
	exitError = 1 // an error (printed with the rank)
	exitUsage = 2 // bad flags
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// envRank guesses this process's rank from the launcher's environment, so
// that flag errors, found before MPI starts, are printed once.
func envRank() int {
	for _, k := range []string{"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"} {
		if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
			return v
		}
	}
	return 0
}

func run(args []string) int {
	quiet := envRank() != 0
	helpOut := io.Writer(os.Stderr)
	if quiet {
		helpOut = io.Discard
	}
	c, err := parseFlags(args, helpOut)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		if !quiet {
			fmt.Fprintf(os.Stderr, "dptrain: %v\n", err)
		}
		return exitUsage
	}
	// Catch the signals before MPI starts so that none is lost.
	var stop atomic.Bool
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGUSR1)
	go func() {
		for range sigs {
			stop.Store(true)
		}
	}()

	world, err := mpi.Init()
	if err != nil {
		fmt.Fprintf(os.Stderr, "dptrain: starting MPI: %v\n", err)
		return exitError
	}
	rank := world.Rank()
	ckpt, err := choosePrecision(c, world)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dptrain: rank %d: %v\n", rank, err)
		world.Abort(exitError)
	}
	var code int
	var fatal bool
	if c.Precision == "float32" {
		code, fatal = train[float32](c, world, ckpt, &stop)
	} else {
		code, fatal = train[float64](c, world, ckpt, &stop)
	}
	if fatal {
		// Other ranks may be blocked in a collective: take the job down.
		world.Abort(exitError)
	}
	if err := world.Finalize(); err != nil && rank == 0 {
		fmt.Fprintf(os.Stderr, "dptrain: rank %d: MPI_Finalize: %v\n", rank, err)
	}
	return code
}

// choosePrecision settles c.Precision on every rank before the trainer is
// built in it: --precision if given; on --resume without the flag, the
// precision of the checkpoint, which rank 0 reads and broadcasts (a
// checkpoint it cannot read leaves the default, and resume then reports
// why). Collective, and entered by every rank whatever its flags, so that
// ranks started with different flags cannot hang here; they disagree
// later, in the run identity, and stop naming the fields. On rank 0 with
// --resume it returns the checkpoint it read (nil if it could not), for
// resume to use instead of reading it again.
func choosePrecision(c *config, world *mpi.Comm) (*ckptState, error) {
	precisions := []string{precisionName[float64](), precisionName[float32]()}
	buf := []float64{-1} // an index into precisions; -1: keep the default
	var ckpt *ckptState
	if world.Rank() == 0 && c.Resume {
		if s, err := loadCheckpoint(c.CheckpointDir); err == nil {
			ckpt = s
			buf[0] = float64(slices.Index(precisions, s.ID.Precision))
		}
	}
	if err := world.Bcast(buf, 0); err != nil {
		return nil, fmt.Errorf("broadcasting the checkpoint's precision: %w", err)
	}
	if i := int(buf[0]); i >= 0 && c.Resume && !c.precisionSet {
		c.Precision = precisions[i]
	}
	return ckpt, nil
}

// train runs the job on this rank (ckpt: the checkpoint rank 0 has read
// for --resume, or nil); fatal asks the caller to abort the job
// because other ranks may be waiting in a collective.
func train[F optimizer.Float](c *config, world *mpi.Comm, ckpt *ckptState, stop *atomic.Bool) (code int, fatal bool) {
	rank, size := world.Rank(), world.Size()
	t := &trainer[F]{c: c, team: team{comm: world, rank: rank, world: size}, grads: mpi.For[F](world), read: ckpt, stop: stop, log: outputs{out: io.Discard}}
	if rank == 0 {
		t.log.out = os.Stdout
	} else if c.RankLogs {
		if err := os.MkdirAll(c.Out, 0o755); err == nil {
			if f, err := os.OpenFile(filepath.Join(c.Out, fmt.Sprintf("rank-%d.log", rank)), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err == nil {
				defer f.Close()
				t.log.out = f
			}
		}
	}
	report := func(err error) {
		fmt.Fprintf(os.Stderr, "dptrain: rank %d: %v\n", rank, err)
	}
	// Setup and resume: every rank learns of every failure (no abort).
	phase := func(err error) bool {
		err, r0, cerr := agree(world, err)
		if cerr != nil {
			report(cerr)
			return false
		}
		if err != nil {
			if rank == 0 || (!r0 && !errors.Is(err, errOther)) {
				report(err)
			}
			return false
		}
		return true
	}
	if !phase(t.setup()) {
		return exitError, false
	}
	if !phase(agreeIdentity(world, t.id)) {
		return exitError, false
	}
	if c.Resume {
		if !phase(t.resume()) {
			return exitError, false
		}
	} else {
		var err error
		if rank == 0 {
			err = t.fresh()
		}
		if !phase(err) {
			return exitError, false
		}
	}
	// The budget is checked before the features' mean is released.
	if !phase(t.planBudget()) {
		return exitError, false
	}
	if !phase(t.recordCenter()) || !phase(t.center()) {
		return exitError, false
	}
	if rank == 0 {
		if err := t.openOutputs(); err != nil {
			report(err)
			return exitError, true
		}
		defer t.log.metrics.Close()
		defer t.priv.ledger.Close()
		t.banner()
		t.log.prog = newProgress(c.Progress, t.plan.total, t.step, t.log.out)
	}
	if rank != 0 && t.log.out != io.Discard {
		t.log.prog = newProgress("lines", t.plan.total, t.step, t.log.out)
		fmt.Fprintf(t.log.out, "rank %d of %d: shard of %d images, starting at step %d\n", rank, size, len(t.rng.sampler.Shard()), t.step)
	}
	start := time.Now()
	startStep, startSamples := t.step, t.tally.samples
	reason, err := t.loop()
	if err != nil {
		report(err)
		return exitError, true
	}
	if err := t.saveCheckpoint(); err != nil {
		report(err)
		return exitError, true
	}
	t.log.prog.finish()
	if reason == stopSignal {
		if rank == 0 {
			fmt.Fprintf(t.log.out, "stopped by signal after step %d of %d; checkpoint written to %s; continue with --resume\n", t.step, t.plan.total, c.CheckpointDir)
		}
		return exitOK, false
	}
	if reason == stopBudget && rank == 0 {
		fmt.Fprintf(t.log.out, "budget guard: stopped after step %d of %d: one more step would make ε exceed %v (δ=%g, %s accountant)\n", t.step, t.plan.total, c.budget(), c.Delta, c.Accountant)
	}
	acc, tl, err := t.evaluate()
	if err != nil {
		report(err)
		return exitError, true
	}
	// Samples processed by all ranks during this invocation.
	sb := []float64{t.tally.samples - startSamples}
	if err := world.AllreduceSum(sb); err != nil {
		report(err)
		return exitError, true
	}
	if rank != 0 {
		return exitOK, false
	}
	wall := time.Since(start)
	if err := t.finish(acc, tl, wall, t.step-startStep, sb[0]); err != nil {
		report(err)
		return exitError, false
	}
	return exitOK, false
}
