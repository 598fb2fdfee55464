// Command dpaudit audits dpmpi's DP-SGD empirically: it trains a tiny model
// of Dirac canaries through the real code path (Poisson sampler, clipping,
// the distributed optimizers over MPI, the accountant behind the step hook)
// and prints the ε the accountants claim (RDP and PRV) next to the empirical
// lower bound of a white-box adversary who sees every noisy update, with
// its confidence, the audit of the privacy profile and the one-run bound.
// See package audit for the method.
//
// Usage:
//
//	dpaudit [flags]                           one audit
//	dpaudit --sigmas 0.5,1,2,4 --plot a.png   a sweep of σ, with a plot
//	mpirun -np 2 dpaudit --optimizer hooks    on two ranks
//
// Flags:
//
//	--optimizer flat|simple|hooks  the distributed optimizer (default simple)
//	--sigma S             noise multiplier σ (default 1)
//	--sigmas S1,S2,...    a sweep of σ instead of --sigma
//	--sample-rate Q       Poisson rate of a logical batch (default 0.5)
//	--steps T             logical steps (default 8)
//	--passes K            backward passes accumulated per step (default 1)
//	--max-physical M      virtual steps: physical batches of at most M samples (default 0: none)
//	--layers L            model layers (default 4)
//	--noise rank0|sharded which ranks draw the noise (default rank0)
//	--canaries M          canaries (parameters per layer) per run (default 32768)
//	--runs R              independent training runs (default 4)
//	--max-grad-norm C     clipping threshold per layer, or for flat clipping (default 1)
//	--delta D             δ of the headline bound (default 1e-5)
//	--confidence P        confidence of every bound (default 0.95)
//	--seed N              seed of the canaries, batches and noise (default 1)
//	--plot FILE           with --sigmas: plot claimed and empirical ε against σ (.png, .svg or .pdf)
//	--profile             print the audit at every δ of the privacy profile
//
// Run it under mpirun like dptrain; only rank 0 prints. Exit status: 0 when
// no audit is flagged, 3 when one is (the empirical bound exceeds the claim
// somewhere on the privacy profile), 2 for bad arguments, 1 for failures.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/dpmpi/dpmpi/audit"
	"github.com/dpmpi/dpmpi/mpi"
	"github.com/dpmpi/dpmpi/optimizer"
)

func main() {
	comm, err := mpi.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dpaudit:", err)
		os.Exit(1)
	}
	out := io.Discard
	if comm.Rank() == 0 {
		out = os.Stdout
	}
	code := run(os.Args[1:], comm, out, os.Stderr)
	if code == 1 && comm.Size() > 1 {
		comm.Abort(1) // the other ranks may be waiting in a collective
	}
	if err := comm.Finalize(); err != nil && code == 0 {
		fmt.Fprintln(os.Stderr, "dpaudit:", err)
		code = 1
	}
	os.Exit(code)
}

// config is the parsed command line.
type config struct {
	x       audit.Experiment
	sigmas  []float64
	plot    string
	profile bool
}

// usageError marks errors in the command line (exit status 2).
type usageError struct{ error }

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("dpaudit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opt := fs.String("optimizer", string(audit.Simple), "distributed optimizer: flat, simple or hooks")
	fs.Float64Var(&c.x.NoiseMultiplier, "sigma", 1, "noise multiplier σ")
	sigmas := fs.String("sigmas", "", "comma-separated σ values to sweep instead of --sigma")
	fs.Float64Var(&c.x.SampleRate, "sample-rate", 0.5, "Poisson sampling rate q of a logical batch")
	fs.IntVar(&c.x.Steps, "steps", 8, "logical steps T")
	fs.IntVar(&c.x.Passes, "passes", 1, "backward passes k accumulated per logical step")
	fs.IntVar(&c.x.MaxPhysical, "max-physical", 0, "virtual steps: physical batches of at most this many samples (0: none)")
	fs.IntVar(&c.x.Layers, "layers", 4, "layers L of the model")
	fs.IntVar(&c.x.Canaries, "canaries", 1<<15, "canaries (parameters per layer) per run")
	fs.IntVar(&c.x.Runs, "runs", 4, "independent training runs")
	fs.Float64Var(&c.x.MaxGradNorm, "max-grad-norm", 1, "clipping threshold (per layer; the whole model for flat)")
	fs.Float64Var(&c.x.Delta, "delta", 1e-5, "δ of the headline bound")
	fs.Float64Var(&c.x.Confidence, "confidence", 0.95, "confidence of every bound, in (0, 1)")
	seed := fs.Uint64("seed", 1, "seed of the canaries, batches and noise")
	noise := fs.String("noise", "rank0", "which ranks draw the noise: rank0 or sharded")
	fs.StringVar(&c.plot, "plot", "", "with --sigmas: write a plot of claimed and empirical ε against σ (.png, .svg, .pdf)")
	fs.BoolVar(&c.profile, "profile", false, "print the audit at every δ of the privacy profile")
	if err := fs.Parse(args); err != nil {
		return c, usageError{err}
	}
	if fs.NArg() > 0 {
		return c, usageError{fmt.Errorf("unexpected argument %q; every setting is a flag (see -h)", fs.Arg(0))}
	}
	c.x.Optimizer, c.x.Seed = audit.Optimizer(*opt), *seed
	switch *noise {
	case "rank0":
		c.x.NoiseMode = optimizer.RankZeroNoise
	case "sharded":
		c.x.NoiseMode = optimizer.ShardedNoise
	default:
		return c, usageError{fmt.Errorf("--noise %q: use rank0 or sharded", *noise)}
	}
	if !slices.Contains(audit.Optimizers, c.x.Optimizer) {
		return c, usageError{fmt.Errorf("--optimizer %q: use flat, simple or hooks", *opt)}
	}
	if *sigmas != "" {
		for _, f := range strings.Split(*sigmas, ",") {
			s, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || !(s > 0) {
				return c, usageError{fmt.Errorf("--sigmas: %q is not a positive number", f)}
			}
			c.sigmas = append(c.sigmas, s)
		}
	}
	if c.plot != "" {
		if len(c.sigmas) < 2 {
			return c, usageError{errors.New("--plot needs a sweep: give at least two values with --sigmas")}
		}
		if ext := strings.ToLower(filepath.Ext(c.plot)); ext != ".png" && ext != ".svg" && ext != ".pdf" {
			return c, usageError{fmt.Errorf("--plot %q: the file name must end in .png, .svg or .pdf", c.plot)}
		}
	}
	return c, nil
}

func run(args []string, comm optimizer.Communicator[float64], stdout, stderr io.Writer) int {
	c, err := parse(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "dpaudit:", err)
		return 2
	}
	sigmas := c.sigmas
	if sigmas == nil {
		sigmas = []float64{c.x.NoiseMultiplier}
	}
	xs := make([]audit.Experiment, len(sigmas))
	for i, s := range sigmas {
		xs[i] = c.x
		xs[i].NoiseMultiplier = s
		if _, err := xs[i].WithDefaults(); err != nil {
			fmt.Fprintln(stderr, "dpaudit:", err)
			return 2
		}
	}
	var results []*audit.Result
	for _, x := range xs {
		r, err := audit.Run(x, comm)
		if err != nil {
			fmt.Fprintln(stderr, "dpaudit:", err)
			return 1
		}
		results = append(results, r)
	}
	if comm.Rank() != 0 {
		return exitCode(results)
	}
	printResults(stdout, results, c.profile)
	if c.plot != "" {
		if err := plotSweep(c.plot, results); err != nil {
			fmt.Fprintln(stderr, "dpaudit:", err)
			return 1
		}
		fmt.Fprintf(stdout, "plot: %s\n", c.plot)
	}
	return exitCode(results)
}

// exitCode is 3 if any analysed result is flagged.
func exitCode(rs []*audit.Result) int {
	for _, r := range rs {
		if r.Analysed && r.Flagged {
			return 3
		}
	}
	return 0
}

func printResults(w io.Writer, rs []*audit.Result, profile bool) {
	x := rs[0].Experiment
	sched := "plain steps"
	switch {
	case x.MaxPhysical > 0:
		sched = fmt.Sprintf("virtual steps (physical batches ≤ %d)", x.MaxPhysical)
	case x.Passes > 1:
		sched = fmt.Sprintf("k = %d accumulated passes", x.Passes)
	}
	if x.NoiseMode == optimizer.ShardedNoise {
		sched += ", sharded noise"
	}
	fmt.Fprintf(w, "dpaudit: %s optimizer, W = %d, %s, q = %g, %d steps, %d layers, C = %g; %d runs × %d canaries; δ = %g, %.0f%% confidence\n",
		x.Optimizer, rs[0].World, sched, x.SampleRate, x.Steps, x.Layers, x.MaxGradNorm, x.Runs, x.Canaries, x.Delta, 100*x.Confidence)
	fmt.Fprintf(w, "%8s %12s %12s %14s %12s %14s %8s %9s\n", "σ", "claimed RDP", "claimed PRV", "empirical ε ≥", "one-run ε ≥", "worst profile", "flagged", "train")
	for _, r := range rs {
		worst := r.Profile[0]
		for _, p := range r.Profile {
			if p.Bound.Epsilon/max(min(p.ClaimedRDP, p.ClaimedPRV), 1e-9) > worst.Bound.Epsilon/max(min(worst.ClaimedRDP, worst.ClaimedPRV), 1e-9) {
				worst = p
			}
		}
		fmt.Fprintf(w, "%8g %12.3f %12.3f %14.3f %12.3f %14s %8v %9v\n", r.Experiment.NoiseMultiplier, r.ClaimedRDP, r.ClaimedPRV, r.Bound.Epsilon, r.OneRun.Epsilon,
			fmt.Sprintf("%.2f@δ=%g", worst.Bound.Epsilon/max(min(worst.ClaimedRDP, worst.ClaimedPRV), 1e-9), worst.Delta), r.Flagged, r.Train.Round(1e6))
		if profile {
			for _, p := range r.Profile {
				fmt.Fprintf(w, "    δ=%-7g claimed RDP %.3f PRV %.3f; %v\n", p.Delta, p.ClaimedRDP, p.ClaimedPRV, p.Bound)
			}
			fmt.Fprintf(w, "    headline: %v\n    one run:  %v\n", r.Bound, r.OneRun)
		}
	}
	fmt.Fprintln(w, "worst profile: the largest ratio of empirical bound to claim over the profile's δ (flagged when above 1)")
}
