package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/dpmpi/dpmpi/accountant"
	"github.com/dpmpi/dpmpi/accountant/plot"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `dpaccount: differential-privacy accounting (RDP, PRV, GDP; Opacus-compatible)

subcommands:
  epsilon   ε spent by a history              (--sample-rate --noise-multiplier --steps | --history) --delta
  sigma     noise multiplier for a target ε    --target-epsilon --delta --sample-rate (--steps | --epochs)
  curve     ε against steps/epochs, CSV/JSON/plot
  ledger    ε of the steps recorded in a ledger file (e.g. dptrain's <checkpoint-dir>/ledger.txt)
run "dpaccount SUBCOMMAND -h" for its flags`

// usageError marks errors in the command line (exit status 2).
type usageError struct{ error }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "epsilon":
		err = cmdEpsilon(args[1:], stdout, stderr)
	case "sigma":
		err = cmdSigma(args[1:], stdout, stderr)
	case "curve":
		err = cmdCurve(args[1:], stdout, stderr)
	case "ledger":
		err = cmdLedger(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return 0
	default:
		err = usageError{fmt.Errorf("unknown subcommand %q", args[0])}
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "dpaccount:", err)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// historyFlags are the flags that describe what was spent.
type historyFlags struct {
	q, sigma float64
	steps    int
	epochs   float64
	history  string
	delta    float64
	mech     string
	json     bool
	set      map[string]bool
	fs       *flag.FlagSet
}

func newFlags(name string, stderr io.Writer) (*flag.FlagSet, *historyFlags) {
	fs := flag.NewFlagSet("dpaccount "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	h := &historyFlags{fs: fs}
	fs.Float64Var(&h.q, "sample-rate", math.NaN(), "Poisson sampling rate q in [0, 1] (batch size / dataset size)")
	fs.Float64Var(&h.sigma, "noise-multiplier", math.NaN(), "noise multiplier σ ≥ 0")
	fs.IntVar(&h.steps, "steps", -1, "number of steps")
	fs.Float64Var(&h.delta, "delta", math.NaN(), "δ in (0, 1)")
	fs.StringVar(&h.mech, "accountant", "rdp", "accountant: rdp, prv or gdp")
	fs.BoolVar(&h.json, "json", false, "print JSON for scripts")
	return fs, h
}

// parse parses flags given before or after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (h *historyFlags) visited() {
	h.set = map[string]bool{}
	h.fs.Visit(func(f *flag.Flag) { h.set[f.Name] = true })
}

// parseFlagsOnly parses the flags of a subcommand that takes no positional
// argument and checks --delta.
func (h *historyFlags) parseFlagsOnly(args []string) error {
	pos, err := parse(h.fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", pos[0])}
	}
	h.visited()
	return h.checkDelta()
}

func (h *historyFlags) checkDelta() error {
	if !h.set["delta"] {
		return usageError{errors.New("--delta is required (δ in (0, 1), e.g. 1e-5)")}
	}
	if !(h.delta > 0 && h.delta < 1) {
		return usageError{fmt.Errorf("--delta is %v; δ must lie in the open interval (0, 1)", h.delta)}
	}
	return nil
}

// historyOf builds the history from --history or from the three flags.
func (h *historyFlags) historyOf() (accountant.History, error) {
	if h.set["history"] {
		if h.set["sample-rate"] || h.set["noise-multiplier"] || h.set["steps"] {
			return nil, usageError{errors.New("give either --history or --sample-rate/--noise-multiplier/--steps, not both")}
		}
		hist, err := accountant.ParseHistory(h.history)
		if err != nil {
			return nil, usageError{err}
		}
		return hist, nil
	}
	var missing []string
	for _, f := range []string{"sample-rate", "noise-multiplier", "steps"} {
		if !h.set[f] && !(f == "steps" && h.set["epochs"]) {
			missing = append(missing, "--"+f)
		}
	}
	if len(missing) > 0 {
		return nil, usageError{fmt.Errorf("missing %s (or give --history σ:q:steps,…)", strings.Join(missing, ", "))}
	}
	steps := h.steps
	if h.set["epochs"] {
		if h.set["steps"] {
			return nil, usageError{errors.New("give --steps or --epochs, not both")}
		}
		s, err := accountant.StepsForEpochs(h.epochs, h.q)
		if err != nil {
			return nil, usageError{err}
		}
		steps = s
	}
	e := accountant.Entry{NoiseMultiplier: h.sigma, SampleRate: h.q, Steps: steps}
	if err := e.Validate(); err != nil {
		return nil, usageError{err}
	}
	return accountant.History{e}, nil
}

// jsonFloat renders ±Inf as a string, since JSON has no infinity.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsInf(v, 1) {
		return []byte(`"+Inf"`), nil
	}
	if math.IsNaN(v) || math.IsInf(v, -1) {
		return nil, fmt.Errorf("non-finite value %v", v)
	}
	return []byte(strconv.FormatFloat(v, 'g', -1, 64)), nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// epsilonOf computes ε and, for RDP, the best order, for PRV the bounds.
func epsilonOf(mech string, hist accountant.History, delta float64) (map[string]any, error) {
	out := map[string]any{"accountant": mech, "delta": delta, "history": hist.String(), "steps": hist.Steps()}
	switch mech {
	case "rdp":
		eps, alpha, err := accountant.RDP{}.EpsilonAlpha(hist, delta)
		if err != nil {
			return nil, err
		}
		out["epsilon"], out["best_alpha"] = jsonFloat(eps), jsonFloat(alpha)
		if math.IsNaN(alpha) {
			delete(out, "best_alpha")
		}
	case "prv":
		b, err := accountant.PRV{}.Bounds(hist, delta)
		if err != nil {
			return nil, err
		}
		out["epsilon"], out["epsilon_estimate"], out["epsilon_lower"] = jsonFloat(b.Upper), jsonFloat(b.Estimate), jsonFloat(b.Lower)
		out["domain_size"] = b.DomainSize
	case "gdp":
		eps, err := accountant.GDP{}.Epsilon(hist, delta)
		if err != nil {
			return nil, err
		}
		out["epsilon"] = jsonFloat(eps)
	default:
		return nil, usageError{fmt.Errorf("--accountant is %q; choose rdp, prv or gdp", mech)}
	}
	return out, nil
}

// printEpsilonOf prints ε of hist for the flags' accountant and δ, as text
// or JSON.
func (h *historyFlags) printEpsilonOf(w io.Writer, hist accountant.History) error {
	out, err := epsilonOf(h.mech, hist, h.delta)
	if err != nil {
		return err
	}
	return printEpsilon(w, out, h.json)
}

func printEpsilon(w io.Writer, out map[string]any, asJSON bool) error {
	if asJSON {
		return printJSON(w, out)
	}
	eps := float64(out["epsilon"].(jsonFloat))
	fmt.Fprintf(w, "ε = %s  (δ = %v, %s accountant, %d steps", fmtF(eps), out["delta"], out["accountant"], out["steps"])
	if a, ok := out["best_alpha"]; ok {
		fmt.Fprintf(w, ", best α = %v", float64(a.(jsonFloat)))
	}
	if l, ok := out["epsilon_lower"]; ok {
		fmt.Fprintf(w, ", true ε in [%s, %s], estimate %s", fmtF(float64(l.(jsonFloat))), fmtF(eps), fmtF(float64(out["epsilon_estimate"].(jsonFloat))))
	}
	fmt.Fprintln(w, ")")
	return nil
}

func fmtF(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func cmdEpsilon(args []string, stdout, stderr io.Writer) error {
	fs, h := newFlags("epsilon", stderr)
	fs.StringVar(&h.history, "history", "", `segments σ:q:steps, e.g. "1.0:0.01:500,2.0:0.02:300"`)
	fs.Float64Var(&h.epochs, "epochs", math.NaN(), "epochs instead of --steps (steps = int(epochs/q))")
	if err := h.parseFlagsOnly(args); err != nil {
		return err
	}
	hist, err := h.historyOf()
	if err != nil {
		return err
	}
	return h.printEpsilonOf(stdout, hist)
}

func cmdSigma(args []string, stdout, stderr io.Writer) error {
	fs, h := newFlags("sigma", stderr)
	var target, tol float64
	fs.Float64Var(&target, "target-epsilon", math.NaN(), "target ε > 0")
	fs.Float64Var(&tol, "tolerance", accountant.DefaultEpsilonTolerance, "how far below the target ε may be")
	fs.Float64Var(&h.epochs, "epochs", math.NaN(), "epochs instead of --steps (steps = int(epochs/q))")
	if err := h.parseFlagsOnly(args); err != nil {
		return err
	}
	if !h.set["target-epsilon"] {
		return usageError{errors.New("--target-epsilon is required")}
	}
	if !h.set["sample-rate"] {
		return usageError{errors.New("--sample-rate is required")}
	}
	if h.set["steps"] == h.set["epochs"] {
		return usageError{errors.New("give exactly one of --steps and --epochs")}
	}
	steps := h.steps
	if h.set["epochs"] {
		var err error
		if steps, err = accountant.StepsForEpochs(h.epochs, h.q); err != nil {
			return usageError{err}
		}
	}
	m, err := accountant.NewMechanism(h.mech)
	if err != nil {
		return usageError{err}
	}
	sigma, eps, err := accountant.Calibrate(m, accountant.Calibration{
		TargetEpsilon: target, Delta: h.delta, SampleRate: h.q, Steps: steps, Tolerance: tol})
	if err != nil {
		return err
	}
	if h.json {
		return printJSON(stdout, map[string]any{"noise_multiplier": sigma, "epsilon": eps, "target_epsilon": target,
			"delta": h.delta, "sample_rate": h.q, "steps": steps, "accountant": h.mech})
	}
	fmt.Fprintf(stdout, "σ = %s  (ε = %s ≤ %v at δ = %v, q = %v, %d steps, %s accountant)\n", fmtF(sigma), fmtF(eps), target, h.delta, h.q, steps, h.mech)
	return nil
}

func cmdLedger(args []string, stdout, stderr io.Writer) error {
	fs, h := newFlags("ledger", stderr)
	var repair bool
	fs.BoolVar(&repair, "repair", false, "remove a torn last record (after a crash) and report it")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{errors.New("give exactly one ledger file: dpaccount ledger FILE --delta D")}
	}
	h.visited()
	if repair {
		removed, err := accountant.RepairLedger(pos[0])
		if err != nil {
			return err
		}
		if removed == "" {
			fmt.Fprintln(stderr, "dpaccount: ledger is intact, nothing removed")
		} else {
			fmt.Fprintf(stderr, "dpaccount: removed torn record %q\n", removed)
		}
	}
	if err := h.checkDelta(); err != nil {
		return err
	}
	hist, err := accountant.ReadLedger(pos[0])
	if err != nil {
		return err
	}
	return h.printEpsilonOf(stdout, hist)
}

func cmdCurve(args []string, stdout, stderr io.Writer) error {
	fs, h := newFlags("curve", stderr)
	fs.StringVar(&h.history, "history", "", `segments σ:q:steps, e.g. "1.0:0.01:500,2.0:0.02:300"`)
	fs.Float64Var(&h.epochs, "epochs", math.NaN(), "epochs instead of --steps (steps = int(epochs/q))")
	var every, points int
	var csvPath, plotPath, sigmas string
	var compare bool
	fs.IntVar(&every, "every", 0, "a point every M steps (default: about 1000 points for rdp, 40 for prv/gdp)")
	fs.IntVar(&points, "compare-points", 40, "points per prv/gdp curve in plots")
	fs.StringVar(&csvPath, "csv", "", "write the curve as CSV to this file")
	fs.StringVar(&plotPath, "plot", "", "draw the curve(s) to this .png or .svg file")
	fs.StringVar(&sigmas, "sigmas", "", "comma-separated σ values: plot one curve per σ (same q and steps)")
	fs.BoolVar(&compare, "compare", false, "plot rdp, prv and gdp on one chart")
	if err := h.parseFlagsOnly(args); err != nil {
		return err
	}
	if h.set["sigmas"] {
		if h.set["noise-multiplier"] || h.set["history"] || csvPath != "" || h.json || plotPath == "" {
			return usageError{errors.New("--sigmas draws one curve per σ to --plot; it excludes --noise-multiplier, --history, --csv and --json")}
		}
		h.sigma, h.set["noise-multiplier"] = 1, true // each σ of the list replaces it below
	}
	hist, err := h.historyOf()
	if err != nil {
		return err
	}
	m, err := accountant.NewMechanism(h.mech)
	if err != nil {
		return usageError{err}
	}
	n := hist.Steps()
	spacing := func(mech string) int {
		if every > 0 && mech == "rdp" {
			return every
		}
		k := points
		if mech == "rdp" {
			k = 1000
		}
		if every > 0 {
			return max(every, n/k)
		}
		return max(1, n/k)
	}
	if h.set["every"] && every <= 0 {
		return usageError{fmt.Errorf("--every is %d; it must be ≥ 1", every)}
	}
	var pts []accountant.CurvePoint
	if !h.set["sigmas"] {
		if pts, err = accountant.Curve(m, hist, h.delta, spacing(h.mech)); err != nil {
			return err
		}
	}
	if csvPath != "" {
		f, err := os.Create(csvPath)
		if err != nil {
			return err
		}
		if err := accountant.WriteCurveCSV(f, pts); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if plotPath != "" {
		var series []plot.Series
		label := func(mech string, hs accountant.History) string {
			if len(hs) == 1 {
				return fmt.Sprintf("%s, σ = %v", mech, hs[0].NoiseMultiplier)
			}
			return mech
		}
		switch {
		case sigmas != "":
			if len(hist) != 1 {
				return usageError{errors.New("--sigmas needs a single (q, steps) segment, not --history")}
			}
			for _, s := range strings.Split(sigmas, ",") {
				sv, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
				if err != nil {
					return usageError{fmt.Errorf("--sigmas: %q: %v", s, err)}
				}
				hs := accountant.History{{NoiseMultiplier: sv, SampleRate: hist[0].SampleRate, Steps: n}}
				p, err := accountant.Curve(m, hs, h.delta, spacing(h.mech))
				if err != nil {
					return err
				}
				series = append(series, plot.Series{Label: label(h.mech, hs), Points: p})
			}
		case compare:
			for _, mech := range []string{"rdp", "prv", "gdp"} {
				mm, _ := accountant.NewMechanism(mech)
				p, err := accountant.Curve(mm, hist, h.delta, spacing(mech))
				if err != nil {
					fmt.Fprintf(stderr, "dpaccount: %s curve left out: %v\n", mech, err)
					continue
				}
				series = append(series, plot.Series{Label: label(mech, hist), Points: p})
			}
		default:
			series = append(series, plot.Series{Label: label(h.mech, hist), Points: pts})
		}
		title := fmt.Sprintf("Privacy spent: ε against epochs, δ = %v", h.delta)
		if len(hist) == 1 {
			title += fmt.Sprintf(", q = %.4g", hist[0].SampleRate)
		} else {
			title += ", history " + hist.String()
		}
		if err := plot.Curves(plotPath, title, series); err != nil {
			return err
		}
	}
	if h.json {
		return accountant.WriteCurveJSON(stdout, pts)
	}
	if h.set["sigmas"] {
		fmt.Fprintf(stdout, "plotted %s for σ in {%s}, %d steps, δ = %v\n", h.mech, sigmas, n, h.delta)
		return nil
	}
	last := pts[len(pts)-1]
	fmt.Fprintf(stdout, "%d points; final ε = %s at step %d (%.4g epochs), δ = %v, %s accountant\n",
		len(pts), fmtF(last.Epsilon), last.Step, last.Epoch, h.delta, h.mech)
	return nil
}
