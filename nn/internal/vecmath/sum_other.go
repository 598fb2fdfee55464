//go:build purego || !amd64

package vecmath

func sum(x []float64) float64 { return sumGo(x) }

func sum32(x []float32) float32 { return sumGo(x) }
