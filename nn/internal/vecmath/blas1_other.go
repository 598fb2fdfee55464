//go:build purego || !amd64

package vecmath

func sumSquaresAVX2(x []float64) float64 { panic("vecmath: no vector kernel") }

func addScaledAVX2(dst []float64, alpha float64, x []float64) { panic("vecmath: no vector kernel") }
