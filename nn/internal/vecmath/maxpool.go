package vecmath

// MaxPool2Row computes n outputs of one output row of 2×2 max pooling with
// stride 1 over an image without NaN: with top = x[off:] the input row and
// bottom = x[off+w:] the row below it, y[j] is the maximum of top[j],
// top[j+1], bottom[j], bottom[j+1], and arg[j] the index in x of its first
// occurrence in that order (a later value wins only if strictly larger).
// It returns how many outputs it computed: n rounded down to a multiple of
// 4 on amd64 with AVX2, 0 otherwise; the caller does the rest. It panics
// if a slice is too short.
func MaxPool2Row(y []float64, arg []int32, x []float64, off, w, n int) int {
	m := maxPool2Row(y, arg, x, off, w, n)
	return m
}
