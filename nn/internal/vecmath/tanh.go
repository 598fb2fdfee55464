package vecmath

import "math"

// Tanh stores tanh(x[i]) in y[i] for every i, with tanh(±0) = ±0,
// tanh(±Inf) = ±1 and tanh(NaN) = NaN.
//
// In float64 it is within 3 ulp of math.Tanh on the tests. On amd64 with
// AVX2 and FMA it computes the blocks of 8 values with vector instructions
// (tanh_amd64.s: the method of tanh64 with a longer polynomial instead of
// the table) and the tail with tanhGo; elsewhere tanhGo computes every
// value, bit for bit as tanh64 does.
//
// In float32 it is within 2 ulp of float32(math.Tanh(float64(x))) on the
// tests. On amd64 with AVX2 and FMA the blocks of 8 are computed in float32
// arithmetic (tanh32AVX2: tanh64's reduction without the table, a Taylor
// polynomial of degree 7 for e^r − 1, and m/(m+2) corrected for the
// roundings of m+2 and of the quotient), and the tail and every value
// elsewhere as tanh64 rounded to float32 (tanh32Go).
//
// It panics if len(y) < len(x).
func Tanh[F Float](y, x []F) {
	y = y[:len(x)]
	if is32[F]() {
		tanh32(as32(y), as32(x))
		return
	}
	tanh(as64(y), as64(x))
}

// TanhGrad stores dy[i]·(1 − y[i]²) in dx[i] for every i, the gradient
// through tanh from its output y, in F. On amd64 with AVX2 and FMA the
// blocks of four (float64) or eight (float32) are computed as g − (g·y)·y
// with fused multiply-adds, within an ulp or two of tanhGradGo's
// dy[i]·(1 − y[i]·y[i]), which computes the tail and every value elsewhere.
// It panics if dx or y is shorter than dy.
func TanhGrad[F Float](dx, y, dy []F) {
	dx, y = dx[:len(dy)], y[:len(dy)]
	if is32[F]() {
		tanhGrad32(as32(dx), as32(y), as32(dy))
		return
	}
	tanhGrad(as64(dx), as64(y), as64(dy))
}

// tanhGradGo is TanhGrad in Go, the Go twin of tanhGradAVX2 and
// tanhGrad32AVX2.
func tanhGradGo[F Float](dx, y, dy []F) {
	dx, y = dx[:len(dy)], y[:len(dy)]
	for i, g := range dy {
		dx[i] = g * (1 - y[i]*y[i])
	}
}

// exp2Sixteenths holds 2^(j/16) and 2^(j/16) − 1, each correctly rounded,
// for j = 0, …, 15. The second column keeps e^t − 1 accurate for small t,
// where 2^(j/16) − 1 computed from the first column would lose digits.
var exp2Sixteenths = [16][2]float64{
	{1.0, 0.0},
	{1.0442737824274138, 0.04427378242741384},
	{1.0905077326652577, 0.09050773266525766},
	{1.1387886347566916, 0.13878863475669165},
	{1.189207115002721, 0.18920711500272105},
	{1.241857812073484, 0.24185781207348406},
	{1.2968395546510096, 0.29683955465100964},
	{1.3542555469368927, 0.3542555469368927},
	{1.4142135623730951, 0.41421356237309503},
	{1.4768261459394993, 0.4768261459394993},
	{1.5422108254079407, 0.5422108254079409},
	{1.6104903319492543, 0.6104903319492543},
	{1.681792830507429, 0.6817928305074291},
	{1.7562521603732995, 0.7562521603732995},
	{1.8340080864093424, 0.8340080864093424},
	{1.9152065613971474, 0.9152065613971473},
}

const (
	// ln 2/16 in two parts (math.Exp's split of ln 2, scaled), so that
	// k·ln2Hi16 is exact for the k used here.
	ln2Hi16 = 6.93147180369123816490e-01 / 16
	ln2Lo16 = 1.90821492927058770002e-10 / 16
)

// tanh64 returns tanh(x) within a few ulp (see TestTanh64), with
// tanh64(±0) = ±0, tanh64(±Inf) = ±1 and tanh64(NaN) = NaN.
//
// It evaluates tanh|x| = m/(m+2), m = e^{2|x|} − 1, without branches on
// the value of x (math.Tanh switches between a rational function and Exp
// at |x| = 0.625, which mispredicts on activations of both sizes, and
// divides twice on one of its paths). With 2|x| = (16h + j)·ln2/16 + r,
// |r| ≤ ln2/32,
//
//	m = 2^h·((2^(j/16) − 1) + 2^(j/16)·q) + (2^h − 1),  q = e^r − 1,
//
// with q a Taylor polynomial of degree 7 without its constant term
// (truncation error below 2^-59) and both 2^(j/16) and 2^(j/16) − 1 from a
// table, so m keeps a small relative error even for tiny |x|, where h = j =
// 0. |x| is clamped at 20, where tanh already rounds to 1.
func tanh64(x float64) float64 {
	r, tab, s := tanhReduce(x)
	return tanhFinish(x, r, tab, s)
}

// tanhReduce returns r, the table row for j and 2^h for x as in tanh64.
func tanhReduce(x float64) (r float64, tab *[2]float64, s float64) {
	t := 2 * min(math.Abs(x), 20)
	k := int64(t*(16/math.Ln2) + 0.5) // t ≥ 0: rounds to nearest
	fk := float64(k)
	r = (t - fk*ln2Hi16) - fk*ln2Lo16
	return r, &exp2Sixteenths[k&15], math.Float64frombits(uint64(k>>4+1023) << 52)
}

// tanhFinish completes tanh64 from tanhReduce's results.
func tanhFinish(x, r float64, tab *[2]float64, s float64) float64 {
	r2 := r * r
	q := r + r2*((1.0/2+r*(1.0/6))+r2*((1.0/24+r*(1.0/120))+r2*(1.0/720+r*(1.0/5040))))
	m := s*(tab[1]+tab[0]*q) + (s - 1)
	return math.Copysign(m/(m+2), x)
}

// tanhBlock is the block size of tanhGo.
const tanhBlock = 8

// tanhGo is Tanh in Go, the Go twin of tanhAVX2: it stores tanh64(x[i])
// in y[i]. It runs tanh64's two halves
// stage by stage over blocks of tanhBlock values, so that the processor
// overlaps the dependency chains of several values instead of waiting on
// one; the results are bit-identical to tanh64's. It panics if
// len(y) < len(x).
func tanhGo(y, x []float64) {
	y = y[:len(x)]
	n := len(x) - len(x)%tanhBlock
	for i := 0; i < n; i += tanhBlock {
		tanh8((*[tanhBlock]float64)(y[i:]), (*[tanhBlock]float64)(x[i:]))
	}
	for i := n; i < len(x); i++ {
		y[i] = tanh64(x[i])
	}
}

func tanh8(y, x *[tanhBlock]float64) {
	var (
		r, s [tanhBlock]float64
		tab  [tanhBlock]*[2]float64
	)
	for j, v := range x {
		r[j], tab[j], s[j] = tanhReduce(v)
	}
	for j, v := range x { // tanhFinish, inlined by hand
		rj := r[j]
		r2 := rj * rj
		q := rj + r2*((1.0/2+rj*(1.0/6))+r2*((1.0/24+rj*(1.0/120))+r2*(1.0/720+rj*(1.0/5040))))
		m := s[j]*(tab[j][1]+tab[j][0]*q) + (s[j] - 1)
		y[j] = math.Copysign(m/(m+2), v)
	}
}

// tanh32Go is Tanh for float32 in Go: tanh64 of each value rounded to
// float32, computed in blocks of tanhBlock as tanhGo does. tanh64 is within
// a few float64 ulp of tanh, so the result is tanh correctly rounded to
// float32 but for values within about 2⁻⁵⁰ of a rounding boundary. It is
// the Go twin of tanh32AVX2 within the tolerance of twin_test.go (a
// different method in float32 arithmetic), and its tail. It panics if
// len(y) < len(x).
func tanh32Go(y, x []float32) {
	y = y[:len(x)]
	var xb, yb [tanhBlock]float64
	n := len(x) - len(x)%tanhBlock
	for i := 0; i < n; i += tanhBlock {
		for j, v := range x[i : i+tanhBlock] {
			xb[j] = float64(v)
		}
		tanh8(&yb, &xb)
		for j, v := range yb {
			y[i+j] = float32(v)
		}
	}
	for i := n; i < len(x); i++ {
		y[i] = float32(tanh64(float64(x[i])))
	}
}
