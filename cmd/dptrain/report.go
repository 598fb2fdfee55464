package main

import (
	"fmt"
	"io"
	"math"
	"os"

	"github.com/dpmpi/dpmpi/accountant"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

func l2(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

func math0() float64 { return 0 }
func nan() float64   { return math.NaN() }

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
			progressbar.OptionFullWidth(),
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

// prefix returns the first n steps of h.
func prefix(h accountant.History, n int) accountant.History {
	var out accountant.History
	for _, e := range h {
		if n <= 0 {
			break
		}
		k := min(e.Steps, n)
		out = out.Add(e.NoiseMultiplier, e.SampleRate, k)
		n -= k
	}
	return out
}

// plotPrivacy draws ε against epoch for the recorded history with the RDP and
// PRV accountants.
func plotPrivacy(path string, h accountant.History, spe int, delta float64) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Privacy spent (δ = %g)", delta)
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = "ε"
	total := h.Steps()
	const points = 25
	for i, name := range []string{"rdp", "prv"} {
		m, err := accountant.NewMechanism(name)
		if err != nil {
			return err
		}
		var xy plotter.XYs
		for j := 0; j <= points && total > 0; j++ {
			n := total * j / points
			e := 0.0
			if n > 0 {
				if e, err = m.Epsilon(prefix(h, n), delta); err != nil || math.IsInf(e, 0) || math.IsNaN(e) {
					continue
				}
			}
			xy = append(xy, plotter.XY{X: float64(n) / float64(spe), Y: e})
		}
		if len(xy) == 0 {
			continue
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		l.Color = plotter.DefaultLineStyle.Color
		if i == 1 {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l)
		p.Legend.Add(name, l)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	return p.Save(6*vg.Inch, 4*vg.Inch, path)
}
