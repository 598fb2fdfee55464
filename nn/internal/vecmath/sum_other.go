//go:build purego || !amd64

package vecmath

func sumAVX2(x []float64) float64 { panic("vecmath: no vector kernel") }
