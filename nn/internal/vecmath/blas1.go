package vecmath

// SumSquares returns Σ x[i]², accumulated and returned in float64 for
// either element type: a per-sample squared gradient norm decides whether
// the sample is clipped, and float32 accumulation would lose up to
// len(x)·2⁻²⁴ of it. Each float32 value is converted to float64 exactly, so
// its square is exact and the float32 sum is that of float64 on the
// converted values, bit for bit. With AVX2 and FMA on amd64 the blocks of
// sixteen are summed in four interleaved groups of four lanes (the lanes
// and groups added pairwise at the end, the rest in order after them), and
// in order elsewhere (sumSquaresGo, sumSquares32Go).
func SumSquares[F Float](x []F) float64 {
	if is32[F]() {
		return sumSquares32(as32(x))
	}
	return sumSquares(as64(x))
}

// sumSquaresGo is SumSquares in Go, in order: the Go twin of
// sumSquaresAVX2, and the tail after it.
func sumSquaresGo(s float64, x []float64) float64 {
	for _, v := range x {
		s += v * v
	}
	return s
}

// sumSquares32Go is sumSquaresGo for float32 values, each converted to
// float64 (the product of two float32 values is exact in float64): the Go
// twin of sumSquares32AVX2, and the tail after it.
func sumSquares32Go(s float64, x []float32) float64 {
	for _, v := range x {
		w := float64(v)
		s += w * w
	}
	return s
}

// AddScaled adds alpha·x[i] to dst[i] for every i, in F, with AVX2 and FMA
// on amd64 for the blocks of eight (float64) or sixteen (float32) values
// (one fused multiply-add per element there, a multiply and an add
// elsewhere and in the tail). It panics if len(dst) < len(x).
func AddScaled[F Float](dst []F, alpha F, x []F) {
	dst = dst[:len(x)]
	if is32[F]() {
		addScaled32(as32(dst), float32(alpha), as32(x))
		return
	}
	addScaled(as64(dst), float64(alpha), as64(x))
}

// addScaledGo is AddScaled in Go, the Go twin of addScaledAVX2 and
// addScaled32AVX2.
func addScaledGo[F Float](dst []F, alpha F, x []F) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] += alpha * v
	}
}
