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

// series is one line of the sweep plot: a value of each result against σ.
type series struct {
	name  string
	value func(*audit.Result) float64
	col   color.Color
	dash  []vg.Length
}

var (
	red    = color.RGBA{R: 200, A: 255}
	blue   = color.RGBA{B: 200, A: 255}
	green  = color.RGBA{G: 140, A: 255}
	grey   = color.RGBA{R: 120, G: 120, B: 120, A: 255}
	purple = color.RGBA{R: 150, B: 150, A: 255}
	dashed = []vg.Length{vg.Points(5), vg.Points(3)}
	dotted = []vg.Length{vg.Points(2), vg.Points(2)}
	shapes = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{}, draw.RingGlyph{}, draw.PlusGlyph{}}
)

// plotSweep draws, against σ, the claimed ε (RDP, PRV) and the empirical
// lower bounds (many trials, one run) at the headline δ, and the PRV claim
// and the empirical bound at the profile's largest δ, where the audit is
// tightest; it saves the plot to path (the format follows the extension).
func plotSweep(path string, rs []*audit.Result) error {
	x := rs[0].Experiment
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Claimed vs empirical ε (%s, W=%d, q=%g, %d steps, %.0f%% confidence)",
		x.Optimizer, rs[0].World, x.SampleRate, x.Steps, 100*x.Confidence)
	p.X.Label.Text = "noise multiplier σ"
	p.Y.Label.Text = "ε"
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	d := x.Delta
	lines := []series{
		{fmt.Sprintf("claimed (RDP), δ=%g", d), func(r *audit.Result) float64 { return r.ClaimedRDP }, red, nil},
		{fmt.Sprintf("claimed (PRV), δ=%g", d), func(r *audit.Result) float64 { return r.ClaimedPRV }, blue, nil},
		{fmt.Sprintf("empirical lower bound (white box), δ=%g", d), func(r *audit.Result) float64 { return r.Bound.Epsilon }, green, dashed},
		{fmt.Sprintf("empirical lower bound (one run), δ=%g", d), func(r *audit.Result) float64 { return r.OneRun.Epsilon }, grey, dotted},
	}
	if pd := x.ProfileDeltas[len(x.ProfileDeltas)-1]; pd != d {
		last := func(r *audit.Result) audit.ProfilePoint { return r.Profile[len(r.Profile)-1] }
		lines = append(lines,
			series{fmt.Sprintf("claimed (PRV), δ=%g", pd), func(r *audit.Result) float64 { return last(r).ClaimedPRV }, purple, nil},
			series{fmt.Sprintf("empirical lower bound (white box), δ=%g", pd), func(r *audit.Result) float64 { return last(r).Bound.Epsilon }, purple, dashed})
	}
	for i, s := range lines {
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
