package nn

import "math"

// tanh64 returns tanh(x) within a few ulp (see TestTanh64), with
// tanh64(±0) = ±0, tanh64(±Inf) = ±1 and tanh64(NaN) = NaN.
//
// It evaluates tanh|x| = m/(m+2), m = e^{2|x|} − 1, without branches on
// the value of x (math.Tanh switches between a rational function and Exp
// at |x| = 0.625, which mispredicts on activations of both sizes, and
// divides twice on one of its paths). With 2|x| = k·ln 2 + r, |r| ≤ ln2/2,
// m = 2^k·q + (2^k − 1), where q = e^r − 1 is a Taylor polynomial of degree
// 13 without its constant term (truncation error below 2^-57), so m has a
// small relative error even for tiny |x|, where k = 0. |x| is clamped at
// 20, where tanh already rounds to 1.
func tanh64(x float64) float64 {
	const (
		ln2Hi = 6.93147180369123816490e-01 // math.Exp's two-part ln 2
		ln2Lo = 1.90821492927058770002e-10
	)
	t := 2 * min(math.Abs(x), 20)
	k := int64(t*math.Log2E + 0.5) // t ≥ 0: rounds to nearest
	fk := float64(k)
	r := (t - fk*ln2Hi) - fk*ln2Lo
	r2 := r * r
	lo := r * (1 + r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	hi := 1.0/5040 + r*(1.0/40320+r*(1.0/362880+r*(1.0/3628800+r*(1.0/39916800+r*(1.0/479001600+r*(1.0/6227020800))))))
	q := lo + hi*(r2*r2*r2*r)
	s := math.Float64frombits(uint64(k+1023) << 52) // 2^k, 0 ≤ k ≤ 58
	m := s*q + (s - 1)
	return math.Copysign(m/(m+2), x)
}

// tanhBlock is the block size of tanhSlice.
const tanhBlock = 8

// tanhSlice stores tanh64(x[i]) in y[i]. It evaluates tanh64's steps
// stage by stage over blocks of tanhBlock values, so that the processor
// overlaps the long dependency chains of several values instead of waiting
// on one; the results are bit-identical to tanh64's. It panics if
// len(y) < len(x).
func tanhSlice(y, x []float64) {
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
	const (
		ln2Hi = 6.93147180369123816490e-01
		ln2Lo = 1.90821492927058770002e-10
	)
	var r, s [tanhBlock]float64
	for j, v := range x {
		t := 2 * min(math.Abs(v), 20)
		k := int64(t*math.Log2E + 0.5)
		fk := float64(k)
		r[j] = (t - fk*ln2Hi) - fk*ln2Lo
		s[j] = math.Float64frombits(uint64(k+1023) << 52)
	}
	for j, rj := range r {
		r2 := rj * rj
		lo := rj * (1 + rj*(1.0/2+rj*(1.0/6+rj*(1.0/24+rj*(1.0/120+rj*(1.0/720))))))
		hi := 1.0/5040 + rj*(1.0/40320+rj*(1.0/362880+rj*(1.0/3628800+rj*(1.0/39916800+rj*(1.0/479001600+rj*(1.0/6227020800))))))
		q := lo + hi*(r2*r2*r2*rj)
		m := s[j]*q + (s[j] - 1)
		y[j] = math.Copysign(m/(m+2), x[j])
	}
}
