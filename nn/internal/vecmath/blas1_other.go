//go:build purego || !amd64

package vecmath

func sumSquares(x []float64) float64 { return sumSquaresGo(0, x) }

func sumSquares32(x []float32) float64 { return sumSquares32Go(0, x) }

func addScaled(dst []float64, alpha float64, x []float64) { addScaledGo(dst, alpha, x) }

func addScaled32(dst []float32, alpha float32, x []float32) { addScaledGo(dst, alpha, x) }
