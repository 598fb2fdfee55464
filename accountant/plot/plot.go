package plot

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/dpmpi/dpmpi/accountant"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Series is one labelled privacy curve for a plot.
type Series struct {
	Label  string                  // the legend entry, for example "rdp, σ = 1.1"
	Points []accountant.CurvePoint // from accountant.Curve or accountant.RDPCurve
}

// Curves draws ε against epochs for each series on one chart and saves it
// to path; the format follows the extension (.png or .svg). The title
// should name δ and q, for example "ε against epochs, δ = 1e-5, q = 0.0043".
// Points with an infinite or NaN ε are left out; a series with no finite
// point, an empty series list or another extension is an error.
func Curves(path, title string, series []Series) error {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".png" && ext != ".svg" {
		return fmt.Errorf("plot: file %q: the extension must be .png or .svg", path)
	}
	if len(series) == 0 {
		return fmt.Errorf("plot: no series to draw")
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "epochs (expected passes over the data)"
	p.Y.Label.Text = "ε"
	p.Add(plotter.NewGrid())
	p.Legend.Top = false
	p.Legend.Left = false
	for i, s := range series {
		xy := make(plotter.XYs, 0, len(s.Points))
		for _, pt := range s.Points {
			if math.IsInf(pt.Epsilon, 0) || math.IsNaN(pt.Epsilon) {
				continue
			}
			xy = append(xy, plotter.XY{X: pt.Epoch, Y: pt.Epsilon})
		}
		if len(xy) == 0 {
			return fmt.Errorf("plot: series %q has no finite point", s.Label)
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return fmt.Errorf("plot: series %q: %w", s.Label, err)
		}
		l.Color = plotutil.Color(i)
		l.Dashes = plotutil.Dashes(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.Label, l)
	}
	if err := p.Save(8*vg.Inch, 5*vg.Inch, path); err != nil {
		return fmt.Errorf("plot: saving %s: %w", path, err)
	}
	return nil
}
