//go:build purego || !amd64

package vecmath

func transposeBias4x4(y, a, bias *float64, m, n, mb, nb int) {
	panic("vecmath: no vector kernel")
}
