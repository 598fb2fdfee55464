package vecmath

// SumSquares returns Σ x[i]², summed in four interleaved groups of four
// lanes with AVX2 and FMA on amd64 for the blocks of sixteen (the lanes
// and groups added pairwise at the end, the rest in order after them), and
// in order elsewhere (sumSquaresGo).
func SumSquares(x []float64) float64 { return sumSquares(x) }

// sumSquaresGo is SumSquares in Go, in order: the Go twin of
// sumSquaresAVX2, and the tail after it.
func sumSquaresGo(s float64, x []float64) float64 {
	for _, v := range x {
		s += v * v
	}
	return s
}

// AddScaled adds alpha·x[i] to dst[i] for every i, with AVX2 and FMA on
// amd64 for the blocks of eight (one fused multiply-add per element there,
// a multiply and an add elsewhere and in the tail). It panics if
// len(dst) < len(x).
func AddScaled(dst []float64, alpha float64, x []float64) {
	addScaled(dst[:len(x)], alpha, x)
}

// addScaledGo is AddScaled in Go, the Go twin of addScaledAVX2.
func addScaledGo(dst []float64, alpha float64, x []float64) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] += alpha * v
	}
}
