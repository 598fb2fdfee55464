package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dpmpi/dpmpi/accountant"
	"github.com/dpmpi/dpmpi/mpi"
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
	code, fatal := train(c, world, &stop)
	if fatal {
		// Other ranks may be blocked in a collective: take the job down.
		world.Abort(exitError)
	}
	if err := world.Finalize(); err != nil && rank == 0 {
		fmt.Fprintf(os.Stderr, "dptrain: rank %d: MPI_Finalize: %v\n", rank, err)
	}
	return code
}

// train runs the job on this rank; fatal asks the caller to abort the job
// because other ranks may be waiting in a collective.
func train(c *config, world *mpi.Comm, stop *atomic.Bool) (code int, fatal bool) {
	rank, size := world.Rank(), world.Size()
	t := &trainer{c: c, comm: world, rank: rank, world: size, stopSignal: stop, out: io.Discard, errOut: os.Stderr}
	if rank == 0 {
		t.out = os.Stdout
	} else if c.RankLogs {
		if err := os.MkdirAll(c.Out, 0o755); err == nil {
			if f, err := os.OpenFile(filepath.Join(c.Out, fmt.Sprintf("rank-%d.log", rank)), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err == nil {
				defer f.Close()
				t.out = f
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
	if c.Resume {
		if err := t.resume(); err != nil {
			if !phase(err) {
				return exitError, false
			}
		} else if !phase(nil) {
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
	if !phase(t.planBudget()) {
		return exitError, false
	}
	if rank == 0 {
		if err := t.openOutputs(); err != nil {
			report(err)
			return exitError, true
		}
		defer t.metrics.Close()
		defer t.ledger.Close()
		t.banner()
		t.prog = newProgress(c.Progress, t.total, t.step, t.out)
	}
	if rank != 0 && t.out != io.Discard {
		t.prog = newProgress("lines", t.total, t.step, t.out)
		fmt.Fprintf(t.out, "rank %d of %d: shard of %d images, starting at step %d\n", rank, size, len(t.sampler.Shard()), t.step)
	}
	t.start = time.Now()
	startStep, startSamples := t.step, t.samples
	reason, err := t.loop()
	if err != nil {
		report(err)
		return exitError, true
	}
	if err := t.saveCheckpoint(); err != nil {
		report(err)
		return exitError, true
	}
	t.prog.finish()
	if reason == stopSignal {
		if rank == 0 {
			fmt.Fprintf(t.out, "stopped by signal after step %d of %d; checkpoint written to %s; continue with --resume\n", t.step, t.total, c.CheckpointDir)
		}
		return exitOK, false
	}
	if reason == stopBudget && rank == 0 {
		fmt.Fprintf(t.out, "budget guard: stopped after step %d of %d: one more step would make ε exceed %v (δ=%g, %s accountant)\n", t.step, t.total, c.budget(), c.Delta, c.Accountant)
	}
	acc, tl, err := t.evaluate()
	if err != nil {
		report(err)
		return exitError, true
	}
	// Samples processed by all ranks during this invocation.
	sb := []float64{t.samples - startSamples}
	if err := world.AllreduceSum(sb); err != nil {
		report(err)
		return exitError, true
	}
	if rank != 0 {
		return exitOK, false
	}
	wall := time.Since(t.start)
	if err := t.finish(acc, tl, wall, t.step-startStep, sb[0]); err != nil {
		report(err)
		return exitError, false
	}
	return exitOK, false
}

// fresh prepares a new run's ledger on rank 0; it refuses to reuse a
// directory that holds a previous run's checkpoint or ledger.
func (t *trainer) fresh() error {
	ck := filepath.Join(t.c.CheckpointDir, ckptName)
	if _, err := os.Stat(ck); err == nil {
		return fmt.Errorf("a checkpoint already exists at %s: continue that run with --resume, or choose another --out/--checkpoint-dir", ck)
	}
	l, err := createLedger(t.c.Ledger)
	if err != nil {
		return err
	}
	t.ledger = l
	return nil
}

func (t *trainer) openOutputs() error {
	c := t.c
	if err := os.MkdirAll(filepath.Dir(c.Metrics), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(c.Metrics, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening --metrics: %w", err)
	}
	t.metrics = f
	return nil
}

func (t *trainer) banner() {
	c := t.c
	th := t.id.Thresholds
	how := "given"
	if c.TargetEpsilon > 0 {
		how = fmt.Sprintf("calibrated for ε=%v over %d steps (%s)", c.TargetEpsilon, t.total, c.Accountant)
	}
	fmt.Fprintf(t.out, "dptrain: %d rank(s), model %s, %s clipping %v (‖C‖₂=%.4g), %s lr=%v momentum=%v\n",
		t.world, c.Model, c.Clipping, th, l2(th), c.Optimizer, c.LR, c.Momentum)
	fmt.Fprintf(t.out, "dptrain: N=%d q=%.6g (expected batch %.1f global, %.2f per rank), %d steps (%d per epoch), σ=%.6g (%s), δ=%g\n",
		t.train.N, t.q, t.q*float64(t.train.N), t.q*float64(t.train.N)/float64(t.world), t.total, t.spe, t.sigma, how, c.Delta)
	if t.step > 0 {
		fmt.Fprintf(t.out, "dptrain: resumed at step %d; ledger holds %d steps (ε=%.4g so far)\n", t.step, t.acct.History().Steps(), t.epsilon())
	}
	if t.maxTotal >= 0 && t.maxTotal < t.acct.History().Steps()+(t.total-t.step) {
		fmt.Fprintf(t.out, "dptrain: budget guard: ε ≤ %v allows %d recorded steps; training will stop early\n", c.budget(), t.maxTotal)
	}
}

func (t *trainer) finish(acc, testLoss float64, wall time.Duration, steps int, samples float64) error {
	c := t.c
	if err := writeWeights(c.WeightsOut, t.arena); err != nil {
		return fmt.Errorf("writing --weights-out: %w", err)
	}
	h := t.acct.History()
	epsText := func(name string) string {
		if h.Steps() == 0 {
			return "0"
		}
		m, err := accountant.NewMechanism(name)
		if err != nil {
			return err.Error()
		}
		e, err := m.Epsilon(h, c.Delta)
		if err != nil {
			return fmt.Sprintf("n/a (%v)", err)
		}
		return fmt.Sprintf("%.4f", e)
	}
	if err := t.writeMetric(metric{Step: t.step, Epoch: float64(t.step) / float64(t.spe), Accuracy: &acc, TestLoss: &testLoss, Epsilon: t.epsilon(), Sigma: t.sigma}); err != nil {
		return err
	}
	if c.Plot != "none" {
		if err := plotPrivacy(c.Plot, h, t.q, c.Delta); err != nil {
			return fmt.Errorf("writing --plot: %w", err)
		}
	}
	fmt.Fprintf(t.out, "\n== dptrain summary ==\n")
	fmt.Fprintf(t.out, "test accuracy   %.2f%% (test loss %.4f, %d test images)\n", 100*acc, testLoss, t.test.N)
	fmt.Fprintf(t.out, "privacy         ε = %s (RDP), %s (PRV) at δ = %g; %d steps recorded in %s\n", epsText("rdp"), epsText("prv"), c.Delta, h.Steps(), c.Ledger)
	fmt.Fprintf(t.out, "noise           σ = %.6g, q = %.6g, %s clipping ‖C‖₂ = %.4g\n", t.sigma, t.q, c.Clipping, l2(t.id.Thresholds))
	fmt.Fprintf(t.out, "steps           %d of %d (%.2f epochs), %d in this invocation on %d rank(s)\n", t.step, t.total, float64(t.step)/float64(t.spe), steps, t.world)
	fmt.Fprintf(t.out, "wall time       %s, %.0f samples/s\n", wall.Round(time.Millisecond), samples/wall.Seconds())
	fmt.Fprintf(t.out, "files           weights %s, metrics %s", c.WeightsOut, c.Metrics)
	if c.Plot != "none" {
		fmt.Fprintf(t.out, ", privacy curve %s", c.Plot)
	}
	fmt.Fprintf(t.out, ", checkpoint %s\n", filepath.Join(c.CheckpointDir, ckptName))
	return nil
}
