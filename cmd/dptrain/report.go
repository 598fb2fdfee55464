package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/dpmpi/dpmpi/accountant"
	"github.com/dpmpi/dpmpi/accountant/plot"
	"github.com/dpmpi/dpmpi/nn/safetensors"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
	"gonum.org/v1/gonum/floats"
)

// noiseDrawers describes --noise for the summary.
func noiseDrawers(mode string) string {
	if mode == "sharded" {
		return "every rank (sharded)"
	}
	return "rank 0"
}

// progress is rank 0's display: a progress bar on a terminal, plain lines
// otherwise. A nil *progress shows nothing.
type progress struct {
	bar   *progressbar.ProgressBar
	out   io.Writer
	total int
}

func newProgress(mode string, total, start int, out io.Writer) *progress {
	if mode == "none" {
		return nil
	}
	if mode == "auto" {
		mode = "lines"
		// The bar is drawn on stderr. (Open MPI gives ranks a pseudo-terminal
		// on stdout only, so stdout is no guide under mpirun.)
		if term.IsTerminal(int(os.Stderr.Fd())) {
			mode = "bar"
		}
	}
	p := &progress{out: out, total: total}
	if mode == "bar" {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription("training"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("steps"),
			progressbar.OptionShowIts(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetWidth(30),
		)
		p.bar.Set(start)
	}
	return p
}

func (p *progress) update(step int, loss, eps float64) {
	if p == nil {
		return
	}
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("loss %.4f ε %.3f", loss, eps))
		p.bar.Set(step)
		return
	}
	fmt.Fprintf(p.out, "step %d/%d  loss %.4f  ε %.4f\n", step, p.total, loss, eps)
}

func (p *progress) epoch(e int, acc, eps float64) {
	if p == nil {
		return
	}
	if p.bar != nil {
		p.bar.Clear()
	}
	fmt.Fprintf(p.out, "epoch %d  test accuracy %.2f%%  ε %.4f\n", e, 100*acc, eps)
}

func (p *progress) finish() {
	if p != nil && p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(os.Stderr)
	}
}

// plotPrivacy draws ε against epoch for the recorded history with the RDP and
// PRV accountants (accountant.Curve and plot.Curves), about 25
// points per curve.
func plotPrivacy(path string, h accountant.History, q, delta float64) error {
	every := max(1, h.Steps()/25)
	var series []plot.Series
	for _, name := range []string{"rdp", "prv"} {
		m, err := accountant.NewMechanism(name)
		if err != nil {
			return err
		}
		pts, err := accountant.Curve(m, h, delta, every)
		if err != nil {
			if name == "prv" {
				continue // out of PRV's domain (e.g. σ = 0): RDP alone
			}
			return err
		}
		series = append(series, plot.Series{Label: name, Points: pts})
	}
	return plot.Curves(path, fmt.Sprintf("ε against epochs, δ = %g, q = %.4g", delta, q), series)
}

// metric is one record of the metrics file (JSON lines).
type metric struct {
	Step     int      `json:"step"`
	Epoch    float64  `json:"epoch"`
	Loss     *float64 `json:"loss,omitempty"`
	Accuracy *float64 `json:"test_accuracy,omitempty"`
	TestLoss *float64 `json:"test_loss,omitempty"`
	Epsilon  float64  `json:"epsilon"`
	Sigma    float64  `json:"sigma"`
	// Thresholds are the adaptive clipping thresholds after the step.
	Thresholds []float64 `json:"thresholds,omitempty"`
}

// adaptiveThresholds returns the current thresholds with adaptive
// clipping, nil with fixed ones.
func (t *trainer[F]) adaptiveThresholds() []float64 {
	if !t.c.adaptive() {
		return nil
	}
	return t.net.opt.Clipping().Thresholds()
}

// writeMetric appends one record to the metrics file (rank 0; a no-op
// elsewhere).
func (t *trainer[F]) writeMetric(m metric) error {
	if t.log.metrics == nil {
		return nil
	}
	b, _ := json.Marshal(m)
	if _, err := t.log.metrics.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing --metrics %s: %w", t.c.Metrics, err)
	}
	return nil
}

// openOutputs opens rank 0's metrics file (appending: a resumed run
// continues it).
func (t *trainer[F]) openOutputs() error {
	c := t.c
	if err := os.MkdirAll(filepath.Dir(c.Metrics), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(c.Metrics, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening --metrics: %w", err)
	}
	t.log.metrics = f
	return nil
}

// banner prints the run's settings before the first step (rank 0).
func (t *trainer[F]) banner() {
	c := t.c
	th := t.id.Thresholds
	how := "given"
	if c.TargetEpsilon > 0 {
		how = fmt.Sprintf("calibrated for ε=%v over %d steps (%s)", c.TargetEpsilon, t.plan.total, c.Accountant)
	}
	fmt.Fprintf(t.log.out, "dptrain: %d rank(s), model %s in %s, %s clipping %v (‖C‖₂=%.4g), %s lr=%v momentum=%v\n",
		t.world, c.Model, t.id.Precision, c.Clipping, th, floats.Norm(th, 2), c.Optimizer, c.LR, c.Momentum)
	if z := t.net.opt.MechanismNoise(); z != nil {
		fmt.Fprintf(t.log.out, "dptrain: adaptive thresholds: target quantile %v, clip lr %v, count noise σ_b=%.4g; σ split as gradient z=%.6g, counts z=%.6g\n",
			c.TargetQuantile, c.ClipLR, t.countNoiseStd(), z[0], z[1])
	}
	fmt.Fprintf(t.log.out, "dptrain: N=%d q=%.6g (expected batch %.1f global, %.2f per rank), %d steps (%d per epoch), σ=%.6g (%s), δ=%g\n",
		t.data.train.Len(), t.priv.q, t.priv.q*float64(t.data.train.Len()), t.priv.q*float64(t.data.train.Len())/float64(t.world), t.plan.total, t.plan.spe, t.priv.sigma, how, c.Delta)
	if t.priv.prior != nil {
		fmt.Fprintf(t.log.out, "dptrain: features centred by their private mean (dpmean: norm bound R=%v, σ=%v, recorded before the steps)\n", c.CenterNorm, c.CenterSigma)
	}
	if t.step > 0 {
		fmt.Fprintf(t.log.out, "dptrain: resumed at step %d; ledger holds %d steps%s (ε=%.4g so far)\n", t.step, t.priv.stepsRecorded(), priorText(t.priv.prior), t.epsilon())
	}
	if t.stopsEarly() {
		fmt.Fprintf(t.log.out, "dptrain: budget guard: ε ≤ %v allows %d recorded steps%s; training will stop early\n", c.budget(), t.priv.maxSteps, priorText(t.priv.prior))
	}
}

// finish writes the final weights, metrics record and privacy plot and
// prints the summary (rank 0).
func (t *trainer[F]) finish(acc, testLoss float64, wall time.Duration, steps int, samples float64) error {
	c := t.c
	h := t.priv.acct.History()
	err := t.net.avg.with(t.net.arena.Params, func() error {
		if err := writeWeights(c.WeightsOut, t.net.arena); err != nil {
			return fmt.Errorf("writing --weights-out: %w", err)
		}
		if c.TorchOut != "none" {
			if err := t.writeTorch(h); err != nil {
				return fmt.Errorf("writing --torch-out: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
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
	if err := t.writeMetric(metric{Step: t.step, Epoch: t.epoch(), Accuracy: &acc, TestLoss: &testLoss, Epsilon: t.epsilon(), Sigma: t.priv.sigma}); err != nil {
		return err
	}
	if c.Plot != "none" {
		if err := plotPrivacy(c.Plot, h, t.priv.q, c.Delta); err != nil {
			return fmt.Errorf("writing --plot: %w", err)
		}
	}
	fmt.Fprintf(t.log.out, "\n== dptrain summary ==\n")
	fmt.Fprintf(t.log.out, "test accuracy   %.2f%% (test loss %.4f, %d test images)\n", 100*acc, testLoss, t.data.test.Len())
	fmt.Fprintf(t.log.out, "privacy         ε = %s (RDP), %s (PRV) at δ = %g; %d steps%s recorded in %s\n", epsText("rdp"), epsText("prv"), c.Delta, t.priv.stepsRecorded(), priorText(t.priv.prior), c.Ledger)
	if p := t.priv.prior; p != nil {
		alone, _ := t.priv.acct.Mechanism().Epsilon(p, c.Delta)
		fmt.Fprintf(t.log.out, "features' mean  private estimate subtracted from every sample: norm bound R = %v, σ = %v (ε = %.4f alone, %s)\n", c.CenterNorm, c.CenterSigma, alone, c.Accountant)
	}
	fmt.Fprintf(t.log.out, "noise           σ = %.6g, q = %.6g, %s clipping ‖C‖₂ = %.4g, drawn by %s\n", t.priv.sigma, t.priv.q, c.Clipping, floats.Norm(t.id.Thresholds, 2), noiseDrawers(c.Noise))
	if z := t.net.opt.MechanismNoise(); z != nil {
		fmt.Fprintf(t.log.out, "thresholds      adaptive to quantile %v: %.4g (started at %.4g); σ = %.6g split as gradient z = %.6g, counts z = %.6g (σ_b = %.4g)\n",
			c.TargetQuantile, t.net.opt.Clipping().Thresholds(), t.id.Thresholds, t.priv.sigma, z[0], z[1], t.countNoiseStd())
	}
	fmt.Fprintf(t.log.out, "steps           %d of %d (%.2f epochs), %d in this invocation on %d rank(s)\n", t.step, t.plan.total, float64(t.step)/float64(t.plan.spe), steps, t.world)
	fmt.Fprintf(t.log.out, "wall time       %s, %.0f samples/s\n", wall.Round(time.Millisecond), samples/wall.Seconds())
	fmt.Fprintf(t.log.out, "files           weights %s, metrics %s", c.WeightsOut, c.Metrics)
	if c.TorchOut != "none" {
		fmt.Fprintf(t.log.out, ", PyTorch weights %s", c.TorchOut)
	}
	if c.Plot != "none" {
		fmt.Fprintf(t.log.out, ", privacy curve %s", c.Plot)
	}
	fmt.Fprintf(t.log.out, ", checkpoint %s\n", filepath.Join(c.CheckpointDir, ckptName))
	return nil
}

// writeTorch writes the final parameters to --torch-out as safetensors with
// PyTorch's state_dict names, in float32, with the model and the privacy
// spent in the metadata; torch.nn modules built as docs/models.md describes
// load them with load_state_dict.
func (t *trainer[F]) writeTorch(h accountant.History) error {
	ts, err := t.net.model.StateDict()
	if err != nil {
		return err
	}
	meta := map[string]string{
		"format":        "pt",
		"dptrain_model": t.c.Model,
		"steps":         fmt.Sprint(h.Steps()),
		"delta":         fmt.Sprint(t.c.Delta),
	}
	if t.id.ModelSpec != "" {
		meta["dptrain_spec"] = t.id.ModelSpec
	}
	meta["epsilon_"+t.c.Accountant] = fmt.Sprint(t.epsilon())
	return safetensors.WriteFile(t.c.TorchOut, ts, safetensors.Float32, meta)
}
