package vecmath

// SumSquares returns Σ x[i]², summed in four interleaved groups of four
// lanes with AVX2 and FMA on amd64 (the lanes and groups added pairwise at
// the end), and in order elsewhere.
func SumSquares(x []float64) float64 {
	n := 0
	var s float64
	if useAVX2 && len(x) >= 16 {
		n = len(x) &^ 15
		s = sumSquaresAVX2(x[:n])
	}
	for _, v := range x[n:] {
		s += v * v
	}
	return s
}

// AddScaled adds alpha·x[i] to dst[i] for every i, with AVX2 and FMA on
// amd64 (one fused multiply-add per element there, a multiply and an add
// elsewhere). It panics if len(dst) < len(x).
func AddScaled(dst []float64, alpha float64, x []float64) {
	dst = dst[:len(x)]
	n := 0
	if useAVX2 {
		n = len(x) &^ 7
		if n > 0 {
			addScaledAVX2(dst[:n], alpha, x[:n])
		}
	}
	for i := n; i < len(x); i++ {
		dst[i] += alpha * x[i]
	}
}
