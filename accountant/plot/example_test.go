package plot_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/dpmpi/dpmpi/accountant"
	"github.com/dpmpi/dpmpi/accountant/plot"
)

// Two privacy curves of the MNIST setting (batch 256 of 60,000) on one
// chart, one per noise multiplier.
func ExampleCurves() {
	dir, err := os.MkdirTemp("", "plot")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	q := 256.0 / 60000
	var series []plot.Series
	for _, sigma := range []float64{1.1, 2} {
		pts, err := accountant.RDPCurve(accountant.History{{NoiseMultiplier: sigma, SampleRate: q, Steps: 2000}}, 1e-5, 200, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		series = append(series, plot.Series{Label: fmt.Sprintf("rdp, σ = %g", sigma), Points: pts})
	}
	path := filepath.Join(dir, "epsilon.svg")
	if err := plot.Curves(path, fmt.Sprintf("ε against epochs, δ = 1e-5, q = %.4g", q), series); err != nil {
		fmt.Println(err)
		return
	}
	_, err = os.Stat(path)
	fmt.Println("written:", err == nil)
	// Output: written: true
}
