package main

import (
	"fmt"
	"io"
	"math"
	"os"

	"github.com/dpmpi/dpmpi/accountant"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

func l2(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
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
// PRV accountants (accountant.Curve and accountant.PlotCurves), about 25
// points per curve.
func plotPrivacy(path string, h accountant.History, q, delta float64) error {
	every := max(1, h.Steps()/25)
	var series []accountant.Series
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
		series = append(series, accountant.Series{Label: name, Points: pts})
	}
	return accountant.PlotCurves(path, fmt.Sprintf("ε against epochs, δ = %g, q = %.4g", delta, q), series)
}
