package vecmath

// Sum returns the sum of the values of x, in an order that depends only on
// len(x), so that a sum repeats bit for bit on every machine: sixteen
// partial sums s[k] of x[k], x[k+16], …, over the blocks of sixteen; four
// partial sums v[k] = (s[k] + s[k+4]) + (s[k+8] + s[k+12]), to which the
// remaining blocks of four are added; (v[0] + v[2]) + (v[1] + v[3]); then
// the last len(x) mod 4 values one by one. The order and the sums, rounded
// to F, are the same in both precisions. On amd64 with AVX2 the partial
// sums are the lanes of four vector registers (float64) or two (float32).
// The error bound is that of a recursive sum of about len(x)/16 terms.
func Sum[F Float](x []F) F {
	if is32[F]() {
		return F(sum32(as32(x)))
	}
	return F(sum(as64(x)))
}

// sumGo is Sum in Go, the Go twin of sumAVX2 and sum32AVX2.
func sumGo[F Float](x []F) F {
	var s [16]F
	i := 0
	for ; i+16 <= len(x); i += 16 {
		for k, v := range x[i : i+16] {
			s[k] += v
		}
	}
	var v [4]F
	for k := range v {
		v[k] = (s[k] + s[k+4]) + (s[k+8] + s[k+12])
	}
	for ; i+4 <= len(x); i += 4 {
		for k, w := range x[i : i+4] {
			v[k] += w
		}
	}
	sum := (v[0] + v[2]) + (v[1] + v[3])
	for _, w := range x[i:] {
		sum += w
	}
	return sum
}
