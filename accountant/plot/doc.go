// Package plot draws privacy curves: ε against epochs for one or more
// runs, as computed by accountant.Curve or accountant.RDPCurve, on one
// chart saved as PNG or SVG. Build a Series per curve and call Curves:
//
//	pts, err := accountant.RDPCurve(history, 1e-5, 100, nil)
//	...
//	err = plot.Curves("epsilon.png", "ε against epochs, δ = 1e-5, q = 0.0043",
//		[]plot.Series{{Label: "rdp", Points: pts}})
//
// It lives apart from package accountant so that only the programs that
// draw pay for gonum.org/v1/plot and its dependencies (fonts, image
// encoders, PDF and SVG back ends); accountant itself imports none of
// them.
package plot
