package main

import (
	"fmt"
	"image/color"

	"github.com/dpmpi/dpmpi/audit"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// plotSweep draws the claimed ε (RDP, PRV) and the empirical lower bounds
// (many trials, one run) at the headline δ against σ, and saves the plot
// to path (the format follows the extension).
func plotSweep(path string, rs []*audit.Result) error {
	x := rs[0].Experiment
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Claimed vs empirical ε at δ=%g (%s, W=%d, q=%g, %d steps, %.0f%% confidence)",
		x.Delta, x.Optimizer, rs[0].World, x.SampleRate, x.Steps, 100*x.Confidence)
	p.X.Label.Text = "noise multiplier σ"
	p.Y.Label.Text = "ε"
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	series := []struct {
		name  string
		value func(*audit.Result) float64
		col   color.Color
		dash  []vg.Length
	}{
		{"claimed (RDP)", func(r *audit.Result) float64 { return r.ClaimedRDP }, color.RGBA{R: 200, A: 255}, nil},
		{"claimed (PRV)", func(r *audit.Result) float64 { return r.ClaimedPRV }, color.RGBA{B: 200, A: 255}, nil},
		{"empirical lower bound (white box, many trials)", func(r *audit.Result) float64 { return r.Bound.Epsilon }, color.RGBA{G: 140, A: 255}, []vg.Length{vg.Points(5), vg.Points(3)}},
		{"empirical lower bound (one run)", func(r *audit.Result) float64 { return r.OneRun.Epsilon }, color.RGBA{R: 120, G: 120, B: 120, A: 255}, []vg.Length{vg.Points(2), vg.Points(2)}},
	}
	for i, s := range series {
		xy := make(plotter.XYs, len(rs))
		for j, r := range rs {
			xy[j] = plotter.XY{X: r.Experiment.NoiseMultiplier, Y: s.value(r)}
		}
		l, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return fmt.Errorf("plot: series %q: %w", s.name, err)
		}
		l.Color, l.Width, l.Dashes = s.col, vg.Points(1.5), s.dash
		pts.Color, pts.Shape = s.col, shapes[i%len(shapes)]
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
	}
	if err := p.Save(8*vg.Inch, 5*vg.Inch, path); err != nil {
		return fmt.Errorf("plot: writing %s: %w", path, err)
	}
	return nil
}

var shapes = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{}}
