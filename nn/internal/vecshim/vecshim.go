// Package vecshim is a TEMPORARY stand-in for the generic API of package
// vecmath (being written on branch f32-vecmath), so that package nn can be
// made generic and tested before that branch lands: float64 calls go to
// vecmath unchanged, float32 calls to plain Go loops. It is deleted when
// f32-vecmath is merged.
package vecshim

import (
	"math"
	"unsafe"

	"github.com/dpmpi/dpmpi/nn/internal/vecmath"
)

type Float interface{ float32 | float64 }

func is32[F Float]() bool { var z F; _, ok := any(z).(float32); return ok }
func as64[F Float](x []F) []float64 {
	return unsafe.Slice((*float64)(unsafe.Pointer(unsafe.SliceData(x))), len(x))
}

type Offsets struct {
	v   vecmath.Offsets
	off []int
}

func NewOffsets(off []int) Offsets { return Offsets{vecmath.NewOffsets(off), off} }
func (o Offsets) Len() int         { return o.v.Len() }

func SumSquares[F Float](x []F) float64 {
	if !is32[F]() {
		return vecmath.SumSquares(as64(x))
	}
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s
}

func AddScaled[F Float](dst []F, alpha F, x []F) {
	if !is32[F]() {
		vecmath.AddScaled(as64(dst), float64(alpha), as64(x))
		return
	}
	for i, v := range x {
		dst[i] += alpha * v
	}
}

func Sum[F Float](x []F) F {
	if !is32[F]() {
		return F(vecmath.Sum(as64(x)))
	}
	var s F
	for _, v := range x {
		s += v
	}
	return s
}

func Tanh[F Float](y, x []F) {
	if !is32[F]() {
		vecmath.Tanh(as64(y), as64(x))
		return
	}
	for i, v := range x {
		y[i] = F(math.Tanh(float64(v)))
	}
}

func TanhGrad[F Float](dx, y, dy []F) {
	if !is32[F]() {
		vecmath.TanhGrad(as64(dx), as64(y), as64(dy))
		return
	}
	for i, g := range dy {
		dx[i] = g - g*y[i]*y[i]
	}
}

func Gemm[F Float](m, n, k int, a []F, rsA, csA int, b []F, ldb int, c []F, ldc int, acc bool) {
	if !is32[F]() {
		vecmath.Gemm(m, n, k, as64(a), rsA, csA, as64(b), ldb, as64(c), ldc, acc)
		return
	}
	for i := 0; i < m; i++ {
		cr := c[i*ldc : i*ldc+n]
		if !acc {
			clear(cr)
		}
		for p := 0; p < k; p++ {
			av := a[i*rsA+p*csA]
			for j, bv := range b[p*ldb : p*ldb+n] {
				cr[j] += av * bv
			}
		}
	}
}

func GemmGather[F Float](m, n, k int, a []F, rsA, csA int, b []F, rowOff, blockOff Offsets, half int, c []F, ldc int, acc bool) {
	if !is32[F]() {
		vecmath.GemmGather(m, n, k, as64(a), rsA, csA, as64(b), rowOff.v, blockOff.v, half, as64(c), ldc, acc)
		return
	}
	// B(p, j) = b[rowOff[p] + blockOff[j/8] + (j%8 < 4 ? j%8 : half + j%8 - 4)]
	for i := 0; i < m; i++ {
		cr := c[i*ldc : i*ldc+n]
		if !acc {
			clear(cr)
		}
		for p := 0; p < k; p++ {
			av := a[i*rsA+p*csA]
			for j := range cr {
				q := j % 8
				off := q
				if q >= 4 {
					off = half + q - 4
				}
				cr[j] += av * b[rowOff.off[p]+blockOff.off[j/8]+off]
			}
		}
	}
}

func GemmGatherA[F Float](m, n, k int, a []F, rowOff, colOff Offsets, b []F, ldb int, c []F, ldc int, acc bool) {
	if !is32[F]() {
		vecmath.GemmGatherA(m, n, k, as64(a), rowOff.v, colOff.v, as64(b), ldb, as64(c), ldc, acc)
		return
	}
	for i := 0; i < m; i++ {
		cr := c[i*ldc : i*ldc+n]
		if !acc {
			clear(cr)
		}
		for p := 0; p < k; p++ {
			av := a[rowOff.off[i]+colOff.off[p]]
			for j, bv := range b[p*ldb : p*ldb+n] {
				cr[j] += av * bv
			}
		}
	}
}

func Im2col[F Float](u, xp []F, k, chans, hw, w, s, ho, wo int) {
	if !is32[F]() {
		vecmath.Im2col(as64(u), as64(xp), k, chans, hw, w, s, ho, wo)
		return
	}
	kk := chans * k * k
	for oh := 0; oh < ho; oh++ {
		for ow := 0; ow < wo; ow++ {
			r := oh*wo + ow
			dst, src := u[r*kk:(r+1)*kk], xp[oh*s*w+ow*s:]
			j := 0
			for c := 0; c < chans; c++ {
				for a := 0; a < k; a++ {
					off := c*hw + a*w
					copy(dst[j:j+k], src[off:off+k])
					j += k
				}
			}
		}
	}
}

func Col2im[F Float](xp, u []F, k, chans, hw, w, s, ho, wo int) {
	if !is32[F]() {
		vecmath.Col2im(as64(xp), as64(u), k, chans, hw, w, s, ho, wo)
		return
	}
	kk := chans * k * k
	for oh := 0; oh < ho; oh++ {
		for ow := 0; ow < wo; ow++ {
			r := oh*wo + ow
			dst, src := xp[oh*s*w+ow*s:], u[r*kk:(r+1)*kk]
			j := 0
			for c := 0; c < chans; c++ {
				for a := 0; a < k; a++ {
					off := c*hw + a*w
					d := dst[off : off+k]
					for b, v := range src[j : j+k] {
						d[b] += v
					}
					j += k
				}
			}
		}
	}
}

func MaxPool2[F Float](y []F, arg []int32, x []F, c, h, w, s int) bool {
	if !is32[F]() {
		return vecmath.MaxPool2(as64(y), arg, as64(x), c, h, w, s)
	}
	for _, v := range x[:c*h*w] {
		if v != v {
			return false
		}
	}
	ho, wo := (h-2)/s+1, (w-2)/s+1
	o := 0
	for ch := 0; ch < c; ch++ {
		for oh := 0; oh < ho; oh++ {
			for ow := 0; ow < wo; ow++ {
				st := ch*h*w + oh*s*w + ow*s
				best, bi := x[st], st
				for _, q := range [3]int{st + 1, st + w, st + w + 1} {
					if x[q] > best {
						best, bi = x[q], q
					}
				}
				y[o], arg[o] = best, int32(bi)
				o++
			}
		}
	}
	return true
}

func TransposeAddBias[F Float](y, a, bias []F, m, n int) {
	if !is32[F]() {
		vecmath.TransposeAddBias(as64(y), as64(a), as64(bias), m, n)
		return
	}
	for j, b := range bias[:n] {
		for i := 0; i < m; i++ {
			y[j*m+i] = a[i*n+j] + b
		}
	}
}
