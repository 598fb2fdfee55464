//go:build amd64

package vecmath

// maxPool2AVX2 is MaxPool2Row for n a positive multiple of 4 (maxpool_amd64.s).
// It does not check bounds.
//
//go:noescape
func maxPool2AVX2(y []float64, arg []int32, x []float64, off, w, n int)

func maxPool2Row(y []float64, arg []int32, x []float64, off, w, n int) int {
	n &^= 3
	if !useAVX2 || n <= 0 {
		return 0
	}
	if len(y) < n || len(arg) < n || off < 0 || len(x) < off+w+n+1 || off+w+n > 1<<31 {
		panic("vecmath: MaxPool2Row: slice too short")
	}
	maxPool2AVX2(y, arg, x, off, w, n)
	return n
}
