//go:build amd64 && !purego

#include "textflag.h"

DATA absmask<>+0(SB)/8, $0x7fffffffffffffff
DATA absmask<>+8(SB)/8, $0x7fffffffffffffff
DATA absmask<>+16(SB)/8, $0x7fffffffffffffff
DATA absmask<>+24(SB)/8, $0x7fffffffffffffff
GLOBL absmask<>(SB), RODATA|NOPTR, $32
DATA signmask<>+0(SB)/8, $0x8000000000000000
DATA signmask<>+8(SB)/8, $0x8000000000000000
DATA signmask<>+16(SB)/8, $0x8000000000000000
DATA signmask<>+24(SB)/8, $0x8000000000000000
GLOBL signmask<>(SB), RODATA|NOPTR, $32
DATA twenty<>+0(SB)/8, $0x4034000000000000
DATA twenty<>+8(SB)/8, $0x4034000000000000
DATA twenty<>+16(SB)/8, $0x4034000000000000
DATA twenty<>+24(SB)/8, $0x4034000000000000
GLOBL twenty<>(SB), RODATA|NOPTR, $32
DATA log2e<>+0(SB)/8, $0x3ff71547652b82fe
DATA log2e<>+8(SB)/8, $0x3ff71547652b82fe
DATA log2e<>+16(SB)/8, $0x3ff71547652b82fe
DATA log2e<>+24(SB)/8, $0x3ff71547652b82fe
GLOBL log2e<>(SB), RODATA|NOPTR, $32
DATA ln2hi<>+0(SB)/8, $0x3fe62e42fee00000
DATA ln2hi<>+8(SB)/8, $0x3fe62e42fee00000
DATA ln2hi<>+16(SB)/8, $0x3fe62e42fee00000
DATA ln2hi<>+24(SB)/8, $0x3fe62e42fee00000
GLOBL ln2hi<>(SB), RODATA|NOPTR, $32
DATA ln2lo<>+0(SB)/8, $0x3dea39ef35793c76
DATA ln2lo<>+8(SB)/8, $0x3dea39ef35793c76
DATA ln2lo<>+16(SB)/8, $0x3dea39ef35793c76
DATA ln2lo<>+24(SB)/8, $0x3dea39ef35793c76
GLOBL ln2lo<>(SB), RODATA|NOPTR, $32
DATA one<>+0(SB)/8, $0x3ff0000000000000
DATA one<>+8(SB)/8, $0x3ff0000000000000
DATA one<>+16(SB)/8, $0x3ff0000000000000
DATA one<>+24(SB)/8, $0x3ff0000000000000
GLOBL one<>(SB), RODATA|NOPTR, $32
DATA two<>+0(SB)/8, $0x4000000000000000
DATA two<>+8(SB)/8, $0x4000000000000000
DATA two<>+16(SB)/8, $0x4000000000000000
DATA two<>+24(SB)/8, $0x4000000000000000
GLOBL two<>(SB), RODATA|NOPTR, $32
DATA bias<>+0(SB)/8, $0x00000000000003ff
DATA bias<>+8(SB)/8, $0x00000000000003ff
DATA bias<>+16(SB)/8, $0x00000000000003ff
DATA bias<>+24(SB)/8, $0x00000000000003ff
GLOBL bias<>(SB), RODATA|NOPTR, $32
DATA c1<>+0(SB)/8, $0x3ff0000000000000
DATA c1<>+8(SB)/8, $0x3ff0000000000000
DATA c1<>+16(SB)/8, $0x3ff0000000000000
DATA c1<>+24(SB)/8, $0x3ff0000000000000
GLOBL c1<>(SB), RODATA|NOPTR, $32
DATA c2<>+0(SB)/8, $0x3fe0000000000000
DATA c2<>+8(SB)/8, $0x3fe0000000000000
DATA c2<>+16(SB)/8, $0x3fe0000000000000
DATA c2<>+24(SB)/8, $0x3fe0000000000000
GLOBL c2<>(SB), RODATA|NOPTR, $32
DATA c3<>+0(SB)/8, $0x3fc5555555555555
DATA c3<>+8(SB)/8, $0x3fc5555555555555
DATA c3<>+16(SB)/8, $0x3fc5555555555555
DATA c3<>+24(SB)/8, $0x3fc5555555555555
GLOBL c3<>(SB), RODATA|NOPTR, $32
DATA c4<>+0(SB)/8, $0x3fa5555555555555
DATA c4<>+8(SB)/8, $0x3fa5555555555555
DATA c4<>+16(SB)/8, $0x3fa5555555555555
DATA c4<>+24(SB)/8, $0x3fa5555555555555
GLOBL c4<>(SB), RODATA|NOPTR, $32
DATA c5<>+0(SB)/8, $0x3f81111111111111
DATA c5<>+8(SB)/8, $0x3f81111111111111
DATA c5<>+16(SB)/8, $0x3f81111111111111
DATA c5<>+24(SB)/8, $0x3f81111111111111
GLOBL c5<>(SB), RODATA|NOPTR, $32
DATA c6<>+0(SB)/8, $0x3f56c16c16c16c17
DATA c6<>+8(SB)/8, $0x3f56c16c16c16c17
DATA c6<>+16(SB)/8, $0x3f56c16c16c16c17
DATA c6<>+24(SB)/8, $0x3f56c16c16c16c17
GLOBL c6<>(SB), RODATA|NOPTR, $32
DATA c7<>+0(SB)/8, $0x3f2a01a01a01a01a
DATA c7<>+8(SB)/8, $0x3f2a01a01a01a01a
DATA c7<>+16(SB)/8, $0x3f2a01a01a01a01a
DATA c7<>+24(SB)/8, $0x3f2a01a01a01a01a
GLOBL c7<>(SB), RODATA|NOPTR, $32
DATA c8<>+0(SB)/8, $0x3efa01a01a01a01a
DATA c8<>+8(SB)/8, $0x3efa01a01a01a01a
DATA c8<>+16(SB)/8, $0x3efa01a01a01a01a
DATA c8<>+24(SB)/8, $0x3efa01a01a01a01a
GLOBL c8<>(SB), RODATA|NOPTR, $32
DATA c9<>+0(SB)/8, $0x3ec71de3a556c734
DATA c9<>+8(SB)/8, $0x3ec71de3a556c734
DATA c9<>+16(SB)/8, $0x3ec71de3a556c734
DATA c9<>+24(SB)/8, $0x3ec71de3a556c734
GLOBL c9<>(SB), RODATA|NOPTR, $32
DATA c10<>+0(SB)/8, $0x3e927e4fb7789f5c
DATA c10<>+8(SB)/8, $0x3e927e4fb7789f5c
DATA c10<>+16(SB)/8, $0x3e927e4fb7789f5c
DATA c10<>+24(SB)/8, $0x3e927e4fb7789f5c
GLOBL c10<>(SB), RODATA|NOPTR, $32
DATA c11<>+0(SB)/8, $0x3e5ae64567f544e4
DATA c11<>+8(SB)/8, $0x3e5ae64567f544e4
DATA c11<>+16(SB)/8, $0x3e5ae64567f544e4
DATA c11<>+24(SB)/8, $0x3e5ae64567f544e4
GLOBL c11<>(SB), RODATA|NOPTR, $32
DATA c12<>+0(SB)/8, $0x3e21eed8eff8d898
DATA c12<>+8(SB)/8, $0x3e21eed8eff8d898
DATA c12<>+16(SB)/8, $0x3e21eed8eff8d898
DATA c12<>+24(SB)/8, $0x3e21eed8eff8d898
GLOBL c12<>(SB), RODATA|NOPTR, $32
DATA c13<>+0(SB)/8, $0x3de6124613a86d09
DATA c13<>+8(SB)/8, $0x3de6124613a86d09
DATA c13<>+16(SB)/8, $0x3de6124613a86d09
DATA c13<>+24(SB)/8, $0x3de6124613a86d09
GLOBL c13<>(SB), RODATA|NOPTR, $32

// func tanhAVX2(y, x []float64)
//
// y[i] = tanh(x[i]) for i < len(x) rounded down to a multiple of 8, eight
// values (two vectors) per iteration, as nn's tanh64 computes it: with
// t = 2·min(|x|, 20), k = round(t·log2 e), r = t − k·ln 2 (two-part ln 2),
// q = e^r − 1 by its Taylor polynomial of degree 13 (Horner, FMA),
// s = 2^k from the exponent bits, m = s·q + (s − 1) and
// tanh = copysign(m/(m+2), x). min(20, |x|) keeps a NaN (VMINPD returns its
// second source when either is NaN).
TEXT ·tanhAVX2(SB), NOSPLIT, $0-48
	MOVQ y_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	SHRQ $3, CX
	JZ   done
	VMOVUPD twenty<>(SB), Y15

loop:
	VMOVUPD 0(SI), Y0
	VANDPD absmask<>(SB), Y0, Y1
	VMINPD Y1, Y15, Y1          // min(20, |x|), NaN from |x|
	VADDPD Y1, Y1, Y1          // t = 2·min(|x|, 20)
	VMULPD log2e<>(SB), Y1, Y2
	VROUNDPD $0, Y2, Y2         // k = round(t·log2 e)
	VFNMADD231PD ln2hi<>(SB), Y2, Y1
	VFNMADD231PD ln2lo<>(SB), Y2, Y1 // r = t − k·ln 2
	VMOVUPD c13<>(SB), Y3
	VFMADD213PD c12<>(SB), Y1, Y3
	VFMADD213PD c11<>(SB), Y1, Y3
	VFMADD213PD c10<>(SB), Y1, Y3
	VFMADD213PD c9<>(SB), Y1, Y3
	VFMADD213PD c8<>(SB), Y1, Y3
	VFMADD213PD c7<>(SB), Y1, Y3
	VFMADD213PD c6<>(SB), Y1, Y3
	VFMADD213PD c5<>(SB), Y1, Y3
	VFMADD213PD c4<>(SB), Y1, Y3
	VFMADD213PD c3<>(SB), Y1, Y3
	VFMADD213PD c2<>(SB), Y1, Y3
	VFMADD213PD c1<>(SB), Y1, Y3
	VMULPD Y1, Y3, Y3          // q = e^r − 1
	VCVTPD2DQY Y2, X2
	VPMOVSXDQ X2, Y2
	VPADDQ bias<>(SB), Y2, Y2
	VPSLLQ $52, Y2, Y2          // s = 2^k
	VSUBPD one<>(SB), Y2, Y4    // s − 1
	VFMADD231PD Y3, Y2, Y4     // m = s·q + (s − 1)
	VADDPD two<>(SB), Y4, Y3
	VDIVPD Y3, Y4, Y4          // m/(m+2)
	VANDPD signmask<>(SB), Y0, Y0
	VORPD Y0, Y4, Y4
	VMOVUPD Y4, 0(DI)
	VMOVUPD 32(SI), Y5
	VANDPD absmask<>(SB), Y5, Y6
	VMINPD Y6, Y15, Y6          // min(20, |x|), NaN from |x|
	VADDPD Y6, Y6, Y6          // t = 2·min(|x|, 20)
	VMULPD log2e<>(SB), Y6, Y7
	VROUNDPD $0, Y7, Y7         // k = round(t·log2 e)
	VFNMADD231PD ln2hi<>(SB), Y7, Y6
	VFNMADD231PD ln2lo<>(SB), Y7, Y6 // r = t − k·ln 2
	VMOVUPD c13<>(SB), Y8
	VFMADD213PD c12<>(SB), Y6, Y8
	VFMADD213PD c11<>(SB), Y6, Y8
	VFMADD213PD c10<>(SB), Y6, Y8
	VFMADD213PD c9<>(SB), Y6, Y8
	VFMADD213PD c8<>(SB), Y6, Y8
	VFMADD213PD c7<>(SB), Y6, Y8
	VFMADD213PD c6<>(SB), Y6, Y8
	VFMADD213PD c5<>(SB), Y6, Y8
	VFMADD213PD c4<>(SB), Y6, Y8
	VFMADD213PD c3<>(SB), Y6, Y8
	VFMADD213PD c2<>(SB), Y6, Y8
	VFMADD213PD c1<>(SB), Y6, Y8
	VMULPD Y6, Y8, Y8          // q = e^r − 1
	VCVTPD2DQY Y7, X7
	VPMOVSXDQ X7, Y7
	VPADDQ bias<>(SB), Y7, Y7
	VPSLLQ $52, Y7, Y7          // s = 2^k
	VSUBPD one<>(SB), Y7, Y9    // s − 1
	VFMADD231PD Y8, Y7, Y9     // m = s·q + (s − 1)
	VADDPD two<>(SB), Y9, Y8
	VDIVPD Y8, Y9, Y9          // m/(m+2)
	VANDPD signmask<>(SB), Y5, Y5
	VORPD Y5, Y9, Y9
	VMOVUPD Y9, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  loop
	VZEROUPPER

done:
	RET

// func tanhGradAVX2(dx, y, dy []float64)
//
// dx[i] = dy[i] − dy[i]·y[i]² for i < len(dy) &^ 3: g·(1 − y²) as
// g − (g·y)·y, one multiply and one FMA.
TEXT ·tanhGradAVX2(SB), NOSPLIT, $0-72
	MOVQ dx_base+0(FP), DI
	MOVQ y_base+24(FP), SI
	MOVQ dy_base+48(FP), DX
	MOVQ dy_len+56(FP), CX
	SHRQ $2, CX
	JZ   gdone

gloop:
	VMOVUPD (SI), Y0
	VMOVUPD (DX), Y1
	VMULPD Y0, Y1, Y2           // g·y
	VFNMADD231PD Y0, Y2, Y1     // g − (g·y)·y
	VMOVUPD Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ  gloop
	VZEROUPPER

gdone:
	RET

// Constants of tanh32AVX2, eight float32 lanes each.
DATA absmask32<>+0(SB)/4, $0x7fffffff
DATA absmask32<>+4(SB)/4, $0x7fffffff
DATA absmask32<>+8(SB)/4, $0x7fffffff
DATA absmask32<>+12(SB)/4, $0x7fffffff
DATA absmask32<>+16(SB)/4, $0x7fffffff
DATA absmask32<>+20(SB)/4, $0x7fffffff
DATA absmask32<>+24(SB)/4, $0x7fffffff
DATA absmask32<>+28(SB)/4, $0x7fffffff
GLOBL absmask32<>(SB), RODATA|NOPTR, $32
DATA signmask32<>+0(SB)/4, $0x80000000
DATA signmask32<>+4(SB)/4, $0x80000000
DATA signmask32<>+8(SB)/4, $0x80000000
DATA signmask32<>+12(SB)/4, $0x80000000
DATA signmask32<>+16(SB)/4, $0x80000000
DATA signmask32<>+20(SB)/4, $0x80000000
DATA signmask32<>+24(SB)/4, $0x80000000
DATA signmask32<>+28(SB)/4, $0x80000000
GLOBL signmask32<>(SB), RODATA|NOPTR, $32
DATA ten32<>+0(SB)/4, $0x41200000
DATA ten32<>+4(SB)/4, $0x41200000
DATA ten32<>+8(SB)/4, $0x41200000
DATA ten32<>+12(SB)/4, $0x41200000
DATA ten32<>+16(SB)/4, $0x41200000
DATA ten32<>+20(SB)/4, $0x41200000
DATA ten32<>+24(SB)/4, $0x41200000
DATA ten32<>+28(SB)/4, $0x41200000
GLOBL ten32<>(SB), RODATA|NOPTR, $32
DATA log2e32<>+0(SB)/4, $0x3fb8aa3b
DATA log2e32<>+4(SB)/4, $0x3fb8aa3b
DATA log2e32<>+8(SB)/4, $0x3fb8aa3b
DATA log2e32<>+12(SB)/4, $0x3fb8aa3b
DATA log2e32<>+16(SB)/4, $0x3fb8aa3b
DATA log2e32<>+20(SB)/4, $0x3fb8aa3b
DATA log2e32<>+24(SB)/4, $0x3fb8aa3b
DATA log2e32<>+28(SB)/4, $0x3fb8aa3b
GLOBL log2e32<>(SB), RODATA|NOPTR, $32
DATA ln2hi32<>+0(SB)/4, $0x3f317180
DATA ln2hi32<>+4(SB)/4, $0x3f317180
DATA ln2hi32<>+8(SB)/4, $0x3f317180
DATA ln2hi32<>+12(SB)/4, $0x3f317180
DATA ln2hi32<>+16(SB)/4, $0x3f317180
DATA ln2hi32<>+20(SB)/4, $0x3f317180
DATA ln2hi32<>+24(SB)/4, $0x3f317180
DATA ln2hi32<>+28(SB)/4, $0x3f317180
GLOBL ln2hi32<>(SB), RODATA|NOPTR, $32
DATA ln2lo32<>+0(SB)/4, $0x3717f7d1
DATA ln2lo32<>+4(SB)/4, $0x3717f7d1
DATA ln2lo32<>+8(SB)/4, $0x3717f7d1
DATA ln2lo32<>+12(SB)/4, $0x3717f7d1
DATA ln2lo32<>+16(SB)/4, $0x3717f7d1
DATA ln2lo32<>+20(SB)/4, $0x3717f7d1
DATA ln2lo32<>+24(SB)/4, $0x3717f7d1
DATA ln2lo32<>+28(SB)/4, $0x3717f7d1
GLOBL ln2lo32<>(SB), RODATA|NOPTR, $32
DATA one32<>+0(SB)/4, $0x3f800000
DATA one32<>+4(SB)/4, $0x3f800000
DATA one32<>+8(SB)/4, $0x3f800000
DATA one32<>+12(SB)/4, $0x3f800000
DATA one32<>+16(SB)/4, $0x3f800000
DATA one32<>+20(SB)/4, $0x3f800000
DATA one32<>+24(SB)/4, $0x3f800000
DATA one32<>+28(SB)/4, $0x3f800000
GLOBL one32<>(SB), RODATA|NOPTR, $32
DATA two32<>+0(SB)/4, $0x40000000
DATA two32<>+4(SB)/4, $0x40000000
DATA two32<>+8(SB)/4, $0x40000000
DATA two32<>+12(SB)/4, $0x40000000
DATA two32<>+16(SB)/4, $0x40000000
DATA two32<>+20(SB)/4, $0x40000000
DATA two32<>+24(SB)/4, $0x40000000
DATA two32<>+28(SB)/4, $0x40000000
GLOBL two32<>(SB), RODATA|NOPTR, $32
DATA bias32<>+0(SB)/4, $0x0000007f
DATA bias32<>+4(SB)/4, $0x0000007f
DATA bias32<>+8(SB)/4, $0x0000007f
DATA bias32<>+12(SB)/4, $0x0000007f
DATA bias32<>+16(SB)/4, $0x0000007f
DATA bias32<>+20(SB)/4, $0x0000007f
DATA bias32<>+24(SB)/4, $0x0000007f
DATA bias32<>+28(SB)/4, $0x0000007f
GLOBL bias32<>(SB), RODATA|NOPTR, $32
DATA e232<>+0(SB)/4, $0x3f000000
DATA e232<>+4(SB)/4, $0x3f000000
DATA e232<>+8(SB)/4, $0x3f000000
DATA e232<>+12(SB)/4, $0x3f000000
DATA e232<>+16(SB)/4, $0x3f000000
DATA e232<>+20(SB)/4, $0x3f000000
DATA e232<>+24(SB)/4, $0x3f000000
DATA e232<>+28(SB)/4, $0x3f000000
GLOBL e232<>(SB), RODATA|NOPTR, $32
DATA e332<>+0(SB)/4, $0x3e2aaaab
DATA e332<>+4(SB)/4, $0x3e2aaaab
DATA e332<>+8(SB)/4, $0x3e2aaaab
DATA e332<>+12(SB)/4, $0x3e2aaaab
DATA e332<>+16(SB)/4, $0x3e2aaaab
DATA e332<>+20(SB)/4, $0x3e2aaaab
DATA e332<>+24(SB)/4, $0x3e2aaaab
DATA e332<>+28(SB)/4, $0x3e2aaaab
GLOBL e332<>(SB), RODATA|NOPTR, $32
DATA e432<>+0(SB)/4, $0x3d2aaaab
DATA e432<>+4(SB)/4, $0x3d2aaaab
DATA e432<>+8(SB)/4, $0x3d2aaaab
DATA e432<>+12(SB)/4, $0x3d2aaaab
DATA e432<>+16(SB)/4, $0x3d2aaaab
DATA e432<>+20(SB)/4, $0x3d2aaaab
DATA e432<>+24(SB)/4, $0x3d2aaaab
DATA e432<>+28(SB)/4, $0x3d2aaaab
GLOBL e432<>(SB), RODATA|NOPTR, $32
DATA e532<>+0(SB)/4, $0x3c088889
DATA e532<>+4(SB)/4, $0x3c088889
DATA e532<>+8(SB)/4, $0x3c088889
DATA e532<>+12(SB)/4, $0x3c088889
DATA e532<>+16(SB)/4, $0x3c088889
DATA e532<>+20(SB)/4, $0x3c088889
DATA e532<>+24(SB)/4, $0x3c088889
DATA e532<>+28(SB)/4, $0x3c088889
GLOBL e532<>(SB), RODATA|NOPTR, $32
DATA e632<>+0(SB)/4, $0x3ab60b61
DATA e632<>+4(SB)/4, $0x3ab60b61
DATA e632<>+8(SB)/4, $0x3ab60b61
DATA e632<>+12(SB)/4, $0x3ab60b61
DATA e632<>+16(SB)/4, $0x3ab60b61
DATA e632<>+20(SB)/4, $0x3ab60b61
DATA e632<>+24(SB)/4, $0x3ab60b61
DATA e632<>+28(SB)/4, $0x3ab60b61
GLOBL e632<>(SB), RODATA|NOPTR, $32
DATA e732<>+0(SB)/4, $0x39500d01
DATA e732<>+4(SB)/4, $0x39500d01
DATA e732<>+8(SB)/4, $0x39500d01
DATA e732<>+12(SB)/4, $0x39500d01
DATA e732<>+16(SB)/4, $0x39500d01
DATA e732<>+20(SB)/4, $0x39500d01
DATA e732<>+24(SB)/4, $0x39500d01
DATA e732<>+28(SB)/4, $0x39500d01
GLOBL e732<>(SB), RODATA|NOPTR, $32

// func tanh32AVX2(y, x []float32)
//
// y[i] = tanh(x[i]) for i < len(x) rounded down to a multiple of 8, in
// float32 arithmetic, eight values (one vector) per iteration: t =
// 2·min(|x|, 10) (tanh rounds to ±1 in float32 from |x| ≈ 9.01),
// k = round(t·log2 e), r = t − k·ln 2 (fdlibm's two-part ln 2 of expf,
// k·ln2hi exact), q = e^r − 1 = r + r²·(1/2 + r/6 + … + r⁵/7!) (Horner,
// FMA; the truncation is below 2⁻²⁶ relative for |r| ≤ ln 2/2, and the
// rounding errors of the polynomial are scaled by r/2 ≤ 0.18), s = 2^k from
// the exponent bits, m = s·q + (s − 1), and tanh = copysign(m/(m+2), x)
// with the quotient corrected for the rounding of d = m + 2 and of the
// division: y0 = m/d, y = y0 + (m − y0·d − y0·e)/d, with e = m + 2 − d
// exact (Fast2Sum of max(m, 2) and min(m, 2)), m − y0·d exact (a fused
// multiply-add; the remainder of a rounded quotient is a float) and the
// last division by VRCPPS's 12-bit reciprocal (it scales a correction of
// an ulp or so). min(10, |x|) keeps a NaN (VMINPS returns its second
// source when either is NaN), and y0 is then NaN.
TEXT ·tanh32AVX2(SB), NOSPLIT, $0-48
	MOVQ y_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	SHRQ $3, CX
	JZ   done32
	VMOVUPS ten32<>(SB), Y15
	VMOVUPS two32<>(SB), Y14

loop32:
	VMOVUPS 0(SI), Y0
	VANDPS absmask32<>(SB), Y0, Y1
	VMINPS Y1, Y15, Y1          // min(10, |x|), NaN from |x|
	VADDPS Y1, Y1, Y1           // t = 2·min(|x|, 10)
	VMULPS log2e32<>(SB), Y1, Y2
	VROUNDPS $0, Y2, Y2         // k = round(t·log2 e)
	VFNMADD231PS ln2hi32<>(SB), Y2, Y1
	VFNMADD231PS ln2lo32<>(SB), Y2, Y1 // r = t − k·ln 2
	VMULPS Y1, Y1, Y5           // r²
	VMOVUPS e732<>(SB), Y3
	VFMADD213PS e632<>(SB), Y1, Y3
	VFMADD213PS e532<>(SB), Y1, Y3
	VFMADD213PS e432<>(SB), Y1, Y3
	VFMADD213PS e332<>(SB), Y1, Y3
	VFMADD213PS e232<>(SB), Y1, Y3
	VFMADD213PS Y1, Y5, Y3      // q = r + r²·(…) = e^r − 1
	VCVTPS2DQ Y2, Y2
	VPADDD bias32<>(SB), Y2, Y2
	VPSLLD $23, Y2, Y2          // s = 2^k
	VSUBPS one32<>(SB), Y2, Y4  // s − 1
	VFMADD231PS Y3, Y2, Y4      // m = s·q + (s − 1)
	VADDPS Y14, Y4, Y3          // d = m + 2
	VMAXPS Y14, Y4, Y5
	VMINPS Y14, Y4, Y6
	VSUBPS Y3, Y5, Y5
	VADDPS Y6, Y5, Y5           // e = (max(m, 2) − d) + min(m, 2)
	VDIVPS Y3, Y4, Y6           // y0 = m/d
	VFNMADD231PS Y6, Y3, Y4     // m − y0·d
	VFNMADD231PS Y6, Y5, Y4     // − y0·e
	VRCPPS Y3, Y7
	VFMADD231PS Y7, Y4, Y6      // y = y0 + (m − y0·(d + e))/d
	VANDPS signmask32<>(SB), Y0, Y0
	VORPS Y0, Y6, Y6
	VMOVUPS Y6, 0(DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  loop32
	VZEROUPPER

done32:
	RET

// func tanhGrad32AVX2(dx, y, dy []float32)
//
// dx[i] = dy[i] − dy[i]·y[i]² for i < len(dy) &^ 7: g·(1 − y²) as
// g − (g·y)·y, one multiply and one FMA.
TEXT ·tanhGrad32AVX2(SB), NOSPLIT, $0-72
	MOVQ dx_base+0(FP), DI
	MOVQ y_base+24(FP), SI
	MOVQ dy_base+48(FP), DX
	MOVQ dy_len+56(FP), CX
	SHRQ $3, CX
	JZ   gdone32

gloop32:
	VMOVUPS (SI), Y0
	VMOVUPS (DX), Y1
	VMULPS Y0, Y1, Y2           // g·y
	VFNMADD231PS Y0, Y2, Y1     // g − (g·y)·y
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ  gloop32
	VZEROUPPER

gdone32:
	RET
