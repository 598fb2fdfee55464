//go:build amd64

#include "textflag.h"

DATA iota4<>+0(SB)/8, $0.0
DATA iota4<>+8(SB)/8, $1.0
DATA iota4<>+16(SB)/8, $2.0
DATA iota4<>+24(SB)/8, $3.0
GLOBL iota4<>(SB), RODATA|NOPTR, $32

DATA onef<>+0(SB)/8, $1.0
GLOBL onef<>(SB), RODATA|NOPTR, $8

DATA fourf<>+0(SB)/8, $4.0
GLOBL fourf<>(SB), RODATA|NOPTR, $8

// func maxPool2AVX2(y []float64, arg []int32, x []float64, off, w, n int)
//
// Four windows per iteration. Indices are kept as doubles (exact below
// 2^53) so that they can be blended with the same masks as the values:
// t = top pair's maximum (right only if strictly greater), b likewise for
// the bottom pair, then b only if strictly greater than t.
TEXT ·maxPool2AVX2(SB), NOSPLIT, $0-96
	MOVQ y_base+0(FP), DI
	MOVQ arg_base+24(FP), R8
	MOVQ x_base+48(FP), SI
	MOVQ off+72(FP), AX
	MOVQ w+80(FP), BX
	MOVQ n+88(FP), CX
	LEAQ (SI)(AX*8), SI          // top row
	LEAQ (SI)(BX*8), DX          // bottom row
	VXORPD X8, X8, X8
	VCVTSI2SDQ AX, X8, X8        // VEX form: no SSE/AVX transition
	VBROADCASTSD X8, Y8
	VADDPD iota4<>(SB), Y8, Y8   // indices of top[j..j+3]
	VXORPD X9, X9, X9
	VCVTSI2SDQ BX, X9, X9
	VBROADCASTSD X9, Y9          // w
	VBROADCASTSD onef<>(SB), Y10 // 1
	VBROADCASTSD fourf<>(SB), Y11 // 4
	SHRQ $2, CX

loop:
	VMOVUPD 0(SI), Y0            // top[j..j+3]
	VMOVUPD 8(SI), Y1            // top[j+1..j+4]
	VMOVUPD 0(DX), Y2            // bottom[j..j+3]
	VMOVUPD 8(DX), Y3            // bottom[j+1..j+4]
	VCMPPD $0x1e, Y0, Y1, Y4     // top[j+1] > top[j] (GT_OQ)
	VBLENDVPD Y4, Y1, Y0, Y0     // t
	VADDPD Y10, Y8, Y5
	VBLENDVPD Y4, Y5, Y8, Y5     // index of t
	VCMPPD $0x1e, Y2, Y3, Y6     // bottom[j+1] > bottom[j]
	VBLENDVPD Y6, Y3, Y2, Y2     // b
	VADDPD Y9, Y8, Y7            // index of bottom[j]
	VADDPD Y10, Y7, Y12
	VBLENDVPD Y6, Y12, Y7, Y7    // index of b
	VCMPPD $0x1e, Y0, Y2, Y6     // b > t
	VBLENDVPD Y6, Y2, Y0, Y0
	VBLENDVPD Y6, Y7, Y5, Y5
	VMOVUPD Y0, 0(DI)
	VCVTTPD2DQY Y5, X5
	VMOVDQU X5, 0(R8)
	VADDPD Y11, Y8, Y8
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	ADDQ $16, R8
	DECQ CX
	JNZ  loop
	VZEROUPPER
	RET
