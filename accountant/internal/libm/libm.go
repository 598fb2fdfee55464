package libm

import "math"

var (
	expInvLn2N   = math.Float64frombits(expConsts[0])
	expNegLn2hiN = math.Float64frombits(expConsts[1])
	expNegLn2loN = math.Float64frombits(expConsts[2])
	expC2        = math.Float64frombits(expConsts[3])
	expC3        = math.Float64frombits(expConsts[4])
	expC4        = math.Float64frombits(expConsts[5])
	expC5        = math.Float64frombits(expConsts[6])
	expShift     = math.Float64frombits(expConsts[7])
)

// Exp returns e^x rounded exactly as glibc 2.36's exp (FMA variant).
func Exp(x float64) float64 {
	abstop := uint32(math.Float64bits(x)>>52) & 0x7ff
	if abstop-0x3c9 >= 0x408-0x3c9 { // |x| < 2^-54 or |x| ≥ 512 or not finite
		if abstop-0x3c9 >= 0x80000000 {
			return 1 + x
		}
		if abstop >= 0x409 { // |x| ≥ 1024
			switch {
			case math.IsInf(x, -1):
				return 0
			case abstop >= 0x7ff:
				return 1 + x
			case x < 0:
				return 0
			default:
				return math.Inf(1)
			}
		}
		abstop = 0 // large |x|: the scale may overflow or underflow
	}
	return expCore(x, 0, 0, abstop)
}

var (
	logLn2hi = math.Float64frombits(logConsts[0])
	logLn2lo = math.Float64frombits(logConsts[1])
	logA     = [5]float64{
		math.Float64frombits(logConsts[2]), math.Float64frombits(logConsts[3]),
		math.Float64frombits(logConsts[4]), math.Float64frombits(logConsts[5]),
		math.Float64frombits(logConsts[6]),
	}
	logB = func() (b [11]float64) {
		for i := range b {
			b[i] = math.Float64frombits(logConsts[7+i])
		}
		return b
	}()
)

// Log returns the natural logarithm of x rounded exactly as glibc
// 2.36's log (FMA variant).
func Log(x float64) float64 {
	ix := math.Float64bits(x)
	top := uint32(ix >> 48)
	const lo, hi = 0x3fee000000000000, 0x3ff1090000000000 // 1 − 2^−4, 1 + 0x1.09p−4
	if ix-lo < hi-lo {
		// x close to 1: a polynomial in r = x − 1 with r² split for accuracy.
		if ix == 0x3ff0000000000000 {
			return 0
		}
		b := &logB
		r := x - 1
		r2 := r * r
		r3 := r * r2
		p := math.FMA(r, b[8], b[7])
		p = math.FMA(r2, b[9], p)
		p = math.FMA(r3, b[10], p)
		p = math.FMA(p, r3, math.FMA(r2, b[6], math.FMA(r, b[5], b[4])))
		p = math.FMA(p, r3, math.FMA(r2, b[3], math.FMA(r, b[2], b[1])))
		t := math.FMA(r, 0x1p27, r) // r + w, w = r·2^27
		rhi := math.FMA(-r, 0x1p27, t)
		rlo := r - rhi
		rr := rhi * rhi
		h := math.FMA(rr, b[0], r)
		l := math.FMA(rr, b[0], r-h)
		l = math.FMA(b[0]*rlo, rhi+r, l)
		return h + math.FMA(p, r3, l)
	}
	if top-0x0010 >= 0x7ff0-0x0010 {
		// x < 2^−1022, or x is Inf or NaN.
		switch {
		case ix<<1 == 0:
			return math.Inf(-1)
		case ix == 0x7ff0000000000000:
			return x
		case top&0x8000 != 0 || top&0x7ff0 == 0x7ff0:
			return math.NaN()
		}
		ix = math.Float64bits(x*0x1p52) - 52<<52 // subnormal: normalise
	}
	// x = 2^k·z with z in [0x1.6p−1, 0x1.6p0); c is near the centre of z's
	// subinterval: log(x) = k·ln2 + log(c) + log1p(z/c − 1).
	const off = 0x3fe6000000000000
	tmp := ix - off
	i := (tmp >> 45) % 128
	k := int64(tmp) >> 52
	z := math.Float64frombits(ix - tmp&(0xfff<<52))
	invc := math.Float64frombits(logTab[2*i])
	logc := math.Float64frombits(logTab[2*i+1])
	r := math.FMA(z, invc, -1)
	kd := float64(int32(k))
	w := math.FMA(kd, logLn2hi, logc)
	h := w + r
	l := math.FMA(kd, logLn2lo, w-h+r)
	r2 := r * r
	a := &logA
	p := math.FMA(math.FMA(r, a[4], a[3]), r2, math.FMA(r, a[2], a[1]))
	y := math.FMA(r*r2, p, math.FMA(r2, a[0], l))
	return y + h
}

// fdlibm constants shared by log1p and expm1.
const (
	fdLn2Hi  = 6.93147180369123816490e-01 // 0x3fe62e42fee00000
	fdLn2Lo  = 1.90821492927058770002e-10 // 0x3dea39ef35793c76
	fdInvLn2 = 1.44269504088896338700e+00 // 0x3ff71547652b82fe
)

// Log1p returns log(1+x) rounded exactly as glibc 2.36's log1p (the
// fdlibm algorithm of sysdeps/ieee754/dbl-64/s_log1p.c, FMA variant).
func Log1p(x float64) float64 {
	const (
		lp1 = 6.666666666666735130e-01
		lp2 = 3.999999999940941908e-01
		lp3 = 2.857142874366239149e-01
		lp4 = 2.222219843214978396e-01
		lp5 = 1.818357216161805012e-01
		lp6 = 1.531383769920937332e-01
		lp7 = 1.479819860511658591e-01
	)
	hx := int32(math.Float64bits(x) >> 32)
	ax := hx & 0x7fffffff
	k := int32(1)
	var f, c float64
	var hu int32
	if hx < 0x3fda827a { // x < 0.41422
		if ax >= 0x3ff00000 { // x ≤ −1
			if x == -1 {
				return math.Inf(-1)
			}
			return math.NaN()
		}
		if ax < 0x3e200000 { // |x| < 2^−29
			if ax < 0x3c900000 {
				return x
			}
			return math.FMA(-(x * x), 0.5, x)
		}
		if hx > 0 || hx <= -0x402d413d { // −0.2929 < x < 0.41422
			k, f, hu = 0, x, 1
		}
	} else if hx >= 0x7ff00000 {
		return x + x
	}
	if k != 0 {
		var u float64
		if hx < 0x43400000 {
			u = 1 + x
			hu = int32(math.Float64bits(u) >> 32)
			k = hu>>20 - 1023
			if k > 0 {
				c = 1 - (u - x)
			} else {
				c = x - (u - 1)
			}
			c /= u
		} else {
			u = x
			hu = int32(math.Float64bits(u) >> 32)
			k = hu>>20 - 1023
			c = 0
		}
		hu &= 0x000fffff
		lo := math.Float64bits(u) & 0xffffffff
		if hu < 0x6a09e {
			u = math.Float64frombits(uint64(uint32(hu|0x3ff00000))<<32 | lo)
		} else {
			k++
			u = math.Float64frombits(uint64(uint32(hu|0x3fe00000))<<32 | lo)
			hu = (0x00100000 - hu) >> 2
		}
		f = u - 1
	}
	hfsq := float64(0.5 * f * f)
	kd := float64(k)
	if hu == 0 { // |f| < 2^−20
		if f == 0 {
			if k == 0 {
				return 0
			}
			return math.FMA(kd, fdLn2Hi, math.FMA(kd, fdLn2Lo, c))
		}
		r := float64(math.FMA(-f, 0.66666666666666666, 1) * hfsq)
		if k == 0 {
			return f - r
		}
		return math.FMA(kd, fdLn2Hi, -((r - math.FMA(kd, fdLn2Lo, c)) - f))
	}
	s := f / (2 + f)
	z := s * s
	z2 := z * z
	z4 := z2 * z2
	z6 := z2 * z4
	r := math.FMA(z, lp1, z2*math.FMA(z, lp3, lp2))
	r = math.FMA(z4, math.FMA(z, lp5, lp4), r)
	r = math.FMA(z6, math.FMA(z, lp7, lp6), r)
	sr := float64((r + hfsq) * s)
	if k == 0 {
		return f - (hfsq - sr)
	}
	return math.FMA(kd, fdLn2Hi, -((hfsq - (sr + math.FMA(kd, fdLn2Lo, c))) - f))
}

// Expm1 returns e^x − 1 rounded exactly as glibc 2.36's expm1 (the
// fdlibm algorithm of sysdeps/ieee754/dbl-64/s_expm1.c, FMA variant).
func Expm1(x float64) float64 {
	const (
		q1 = -3.33333333333331316428e-02
		q2 = 1.58730158725481460165e-03
		q3 = -7.93650757867487942473e-05
		q4 = 4.00821782732936239552e-06
		q5 = -2.01099218183624371326e-07
	)
	hx := uint32(math.Float64bits(x) >> 32)
	neg := hx&0x80000000 != 0
	hx &= 0x7fffffff
	if hx >= 0x4043687a { // |x| ≥ 56·ln2
		if hx >= 0x40862e42 { // |x| ≥ 709.78
			if hx >= 0x7ff00000 {
				if math.IsNaN(x) {
					return x + x
				}
				if neg {
					return -1
				}
				return x
			}
			if x > 7.09782712893383973096e+02 {
				return math.Inf(1)
			}
		}
		if neg {
			return -1
		}
	}
	var k int32
	var c float64
	switch {
	case hx > 0x3fd62e42: // |x| > ln2/2
		var hi, lo float64
		if hx < 0x3ff0a2b2 { // and |x| < 1.5·ln2
			if !neg {
				hi, lo, k = x-fdLn2Hi, fdLn2Lo, 1
			} else {
				hi, lo, k = x+fdLn2Hi, -fdLn2Lo, -1
			}
		} else {
			h := 0.5
			if neg {
				h = -0.5
			}
			k = int32(h + float64(fdInvLn2*x))
			t := float64(k)
			hi = math.FMA(-t, fdLn2Hi, x)
			lo = float64(t * fdLn2Lo)
		}
		x = hi - lo
		c = (hi - x) - lo
	case hx < 0x3c900000: // |x| < 2^−54
		return x
	}
	hfx := 0.5 * x
	hxs := float64(x * hfx)
	h2 := hxs * hxs
	h4 := h2 * h2
	r1 := math.FMA(h2, math.FMA(hxs, q3, q2), math.FMA(hxs, q1, 1))
	r1 = math.FMA(h4, math.FMA(hxs, q5, q4), r1)
	t := math.FMA(-r1, hfx, 3)
	e := float64((r1 - t) / math.FMA(-x, t, 6) * hxs)
	if k == 0 {
		return x - math.FMA(e, x, -hxs)
	}
	e = math.FMA(e-c, x, -c)
	e -= hxs
	switch {
	case k == -1:
		return math.FMA(x-e, 0.5, -0.5)
	case k == 1:
		if x < -0.25 {
			return (e - (x + 0.5)) * -2
		}
		return math.FMA(x-e, 2, 1)
	case k <= -2 || k > 56:
		y := 1 - (e - x)
		y = math.Float64frombits(math.Float64bits(y) + uint64(uint32(k))<<52)
		return y - 1
	case k < 20:
		t := math.Float64frombits(uint64(0x3ff00000-(0x200000>>uint(k))) << 32)
		y := t - (e - x)
		return math.Float64frombits(math.Float64bits(y) + uint64(k)<<52)
	default:
		t := math.Float64frombits(uint64(0x3ff-k) << 52)
		y := x - (e + t)
		y++
		return math.Float64frombits(math.Float64bits(y) + uint64(k)<<52)
	}
}

var (
	powLn2hi = math.Float64frombits(powLogConsts[0])
	powLn2lo = math.Float64frombits(powLogConsts[1])
	powA     = func() (a [7]float64) {
		for i := range a {
			a[i] = math.Float64frombits(powLogConsts[2+i])
		}
		return a
	}()
)

// powLog is glibc pow's log_inline: log(x) as hi + lo with about 2^−68
// relative error, for the bits ix of a positive normal x.
func powLog(ix uint64) (hi, lo float64) {
	const off = 0x3fe6955500000000
	tmp := ix - off
	i := (tmp >> 45) % 128
	k := int64(tmp) >> 52
	z := math.Float64frombits(ix - tmp&(0xfff<<52))
	kd := float64(int32(k))
	e := powLogTab[4*i:]
	invc := math.Float64frombits(e[0])
	logc := math.Float64frombits(e[2])
	logctail := math.Float64frombits(e[3])
	a := &powA
	r := math.FMA(z, invc, -1)
	t1 := math.FMA(kd, powLn2hi, logc)
	t2 := t1 + r
	lo1 := math.FMA(kd, powLn2lo, logctail)
	lo2 := t1 - t2 + r
	ar := float64(r * a[0])
	ar2 := float64(r * ar)
	ar3 := float64(r * ar2)
	h := t2 + ar2
	lo3 := math.FMA(ar, r, -ar2)
	lo4 := t2 - h + ar2
	q := math.FMA(math.FMA(math.FMA(r, a[6], a[5]), ar2, math.FMA(r, a[4], a[3])), ar2, math.FMA(r, a[2], a[1]))
	l := math.FMA(ar3, q, lo1+lo2+lo3+lo4)
	y := h + l
	return y, h - y + l
}

// powExp is glibc pow's exp_inline: e^(x+xtail), negated if signBias is
// set.
func powExp(x, xtail float64, signBias uint64) float64 {
	abstop := uint32(math.Float64bits(x)>>52) & 0x7ff
	if abstop-0x3c9 >= 0x408-0x3c9 {
		if abstop-0x3c9 >= 0x80000000 {
			one := 1 + x
			if signBias != 0 {
				return -one
			}
			return one
		}
		if abstop >= 0x409 {
			r := math.Inf(1)
			if x < 0 {
				r = 0
			}
			if signBias != 0 {
				return -r
			}
			return r
		}
		abstop = 0
	}
	return expCore(x, xtail, signBias, abstop)
}

// expCore is the common body of glibc's exp and pow's exp_inline after
// their special cases: e^(x+xtail) = 2^(k/N)·e^r with x = k·ln2/N + r,
// |r| ≤ ln2/2N, N = 128, negated if signBias is set; abstop = 0 marks an
// x whose scale may overflow or underflow. For exp, xtail and signBias are
// 0 and the result is bit for bit glibc's exp.
func expCore(x, xtail float64, signBias uint64, abstop uint32) float64 {
	kd := math.FMA(x, expInvLn2N, expShift)
	ki := math.Float64bits(kd)
	kd -= expShift
	r := math.FMA(kd, expNegLn2hiN, x)
	r = math.FMA(kd, expNegLn2loN, r)
	r += xtail
	idx := 2 * (ki % 128)
	tail := math.Float64frombits(expTab[idx])
	sbits := expTab[idx+1] + (ki+signBias)<<45
	r2 := r * r
	tmp := math.FMA(math.FMA(r, expC3, expC2), r2, tail+r)
	tmp = math.FMA(r2*r2, math.FMA(r, expC5, expC4), tmp)
	if abstop == 0 {
		return powSpecial(tmp, sbits, ki)
	}
	scale := math.Float64frombits(sbits)
	return math.FMA(scale, tmp, scale)
}

// powSpecial is glibc's specialcase for exp results that may overflow or
// fall into the subnormal range, with a possibly negative scale (pow); with
// a positive scale it is exp's specialcase.
func powSpecial(tmp float64, sbits, ki uint64) float64 {
	if ki&0x80000000 == 0 {
		scale := math.Float64frombits(sbits - 1009<<52)
		return 0x1p1009 * math.FMA(scale, tmp, scale)
	}
	sbits += 1022 << 52
	scale := math.Float64frombits(sbits)
	st := float64(scale * tmp)
	y := scale + st
	if math.Abs(y) < 1 {
		one := 1.0
		if y < 0 {
			one = -1
		}
		lo := scale - y + st
		hi := one + y
		lo = one - hi + y + lo
		y = (lo + hi) - one
		if y == 0 {
			y = math.Float64frombits(sbits & 0x8000000000000000)
		}
	}
	return 0x1p-1022 * y
}

// powCheckInt returns 0 if iy is not an integer, 1 if odd, 2 if even.
func powCheckInt(iy uint64) int {
	e := int(iy >> 52 & 0x7ff)
	if e < 0x3ff {
		return 0
	}
	if e > 0x3ff+52 {
		return 2
	}
	if iy&(1<<(0x3ff+52-e)-1) != 0 {
		return 0
	}
	if iy&(1<<(0x3ff+52-e)) != 0 {
		return 1
	}
	return 2
}

// Pow returns x^y rounded exactly as glibc 2.36's pow (FMA variant).
func Pow(x, y float64) float64 {
	var signBias uint64
	ix, iy := math.Float64bits(x), math.Float64bits(y)
	topx, topy := uint32(ix>>52), uint32(iy>>52)
	zeroInfNaN := func(i uint64) bool { return 2*i-1 >= 2*0x7ff0000000000000-1 }
	if topx-0x001 >= 0x7ff-0x001 || (topy&0x7ff)-0x3be >= 0x43e-0x3be {
		if zeroInfNaN(iy) {
			switch {
			case 2*iy == 0:
				return 1
			case ix == 0x3ff0000000000000:
				return 1
			case 2*ix > 2*0x7ff0000000000000 || 2*iy > 2*0x7ff0000000000000:
				return x + y
			case 2*ix == 2*0x3ff0000000000000:
				return 1
			case (2*ix < 2*0x3ff0000000000000) == (iy>>63 == 0):
				return 0
			}
			return y * y
		}
		if zeroInfNaN(ix) {
			x2 := x * x
			if ix>>63 != 0 && powCheckInt(iy) == 1 {
				x2 = -x2
			}
			if iy>>63 != 0 {
				return 1 / x2
			}
			return x2
		}
		if ix>>63 != 0 { // finite x < 0
			switch powCheckInt(iy) {
			case 0:
				return math.NaN()
			case 1:
				signBias = 0x800 << 7
			}
			ix &= 0x7fffffffffffffff
			topx &= 0x7ff
		}
		if (topy&0x7ff)-0x3be >= 0x43e-0x3be {
			if ix == 0x3ff0000000000000 {
				return 1
			}
			if topy&0x7ff < 0x3be { // |y| < 2^−65
				if ix > 0x3ff0000000000000 {
					return 1 + y
				}
				return 1 - y
			}
			if (ix > 0x3ff0000000000000) == (topy < 0x800) {
				return math.Inf(1)
			}
			return 0
		}
		if topx == 0 { // subnormal x
			ix = math.Float64bits(x*0x1p52) & 0x7fffffffffffffff
			ix -= 52 << 52
		}
	}
	hi, lo := powLog(ix)
	ehi := float64(y * hi)
	elo := math.FMA(y, lo, math.FMA(hi, y, -ehi))
	return powExp(ehi, elo, signBias)
}

// Sin returns sin(x) rounded exactly as glibc 2.36's sin (IBM
// Accurate Mathematical Library, sysdeps/ieee754/dbl-64/s_sin.c, FMA
// variant) for |x| < 2.426265, which covers the arguments π·z, |z| ≤ ½, of
// the Cephes reflection formulas. Larger |x| return NaN: glibc reduces them
// modulo π/2 first, which this port does not implement.
func Sin(x float64) float64 {
	const (
		s1   = -0x1.5555555555555p-3 // Taylor series of sin
		s2   = 0x1.1111111110ecep-7
		s3   = -0x1.a01a019db08b8p-13
		s4   = 0x1.71de27b9a7ed9p-19
		s5   = -0x1.addffc2fcdf59p-26
		hp0  = 0x1.921fb54442d18p0 // π/2 high part
		hp1  = 0x1.1a62633145c07p-54
		negZ = -0.0
	)
	k := uint32(math.Float64bits(x)>>32) & 0x7fffffff
	switch {
	case k < 0x3e500000: // |x| < 2^−26
		return x
	case k < 0x3feb6000: // |x| < 0.855469
		ax := math.Abs(x)
		if ax < 0.126 {
			xx := x * x
			p := math.FMA(xx, s5, s4)
			p = math.FMA(xx, p, s3)
			p = math.FMA(xx, p, s2)
			p = math.FMA(xx, p, s1)
			t := math.FMA(xx, math.FMA(p, x, negZ), 0)
			return x + t
		}
		dx := 0.0
		if x <= 0 {
			dx = negZ
		}
		return math.Copysign(sinTable(ax, dx), x)
	case k < 0x400368fd: // |x| < 2.426265
		t := hp0 - math.Abs(x)
		dx := hp1
		if t < 0 {
			dx = -hp1
		}
		return math.Copysign(cosTable(math.Abs(t), dx), x)
	}
	return math.NaN()
}

const (
	sinBig = 0x1.8p45 // rounds |x| to a multiple of 1/128
	sinSn3 = -0x1.5555555555515p-3
	sinSn5 = 0x1.11110e829872fp-7
	sinCs2 = 0.5
	sinCs4 = -0x1.5555555555535p-5
	sinCs6 = 0x1.6c16bedd9e239p-10
)

// sinTable is glibc's do_sin for 0.126 ≤ x < 0.855469: sin(x+dx) from the
// table entry nearest x and short Taylor series of the remainder.
func sinTable(x, dx float64) float64 {
	u := sinBig + x
	x -= u - sinBig
	sn, ssn, cs, ccs := sinCosEntry(u)
	xx := x * x
	s := x + math.FMA(x*xx, math.FMA(xx, sinSn5, sinSn3), dx)
	c := math.FMA(x, dx, xx*math.FMA(xx, math.FMA(xx, sinCs6, sinCs4), sinCs2))
	cor := math.FMA(s, cs, math.FMA(-c, sn, math.FMA(s, ccs, ssn)))
	return sn + cor
}

// sinCosEntry returns the table entry that u = sinBig + x selects: sin and
// cos of the nearest table point, each as a value and a correction.
func sinCosEntry(u float64) (sn, ssn, cs, ccs float64) {
	i := 4 * (math.Float64bits(u) & 0xffffffff)
	return math.Float64frombits(sinCosTab[i]), math.Float64frombits(sinCosTab[i+1]),
		math.Float64frombits(sinCosTab[i+2]), math.Float64frombits(sinCosTab[i+3])
}

// cosTable is glibc's do_cos for |x| < 0.855469 with x ≥ 0 here: cos(x+dx).
func cosTable(x, dx float64) float64 {
	u := sinBig + x
	x = x - (u - sinBig) + dx
	sn, ssn, cs, ccs := sinCosEntry(u)
	xx := x * x
	s := math.FMA(x*xx, math.FMA(xx, sinSn5, sinSn3), x)
	c := xx * math.FMA(xx, math.FMA(xx, sinCs6, sinCs4), sinCs2)
	cor := math.FMA(-s, sn, math.FMA(-c, cs, math.FMA(-s, ssn, ccs)))
	return cs + cor
}
