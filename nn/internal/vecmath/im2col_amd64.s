//go:build amd64 && !purego

#include "textflag.h"

// func gather4(dst, src []float64, chans, rowStride, chanStride int)
//
// For each of chans channels, copies 4 runs of 4 values, rowStride apart,
// to dst contiguously; the next channel starts chanStride values later.
TEXT ·gather4(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ chans+48(FP), R9
	MOVQ rowStride+56(FP), R10
	MOVQ chanStride+64(FP), R11
	SHLQ $3, R10
	SHLQ $3, R11
	LEAQ (R10)(R10*2), R12 // 3 rows

chan4:
	MOVUPS 0(SI), X0
	MOVUPS 16(SI), X1
	MOVUPS 0(SI)(R10*1), X2
	MOVUPS 16(SI)(R10*1), X3
	MOVUPS 0(SI)(R10*2), X4
	MOVUPS 16(SI)(R10*2), X5
	MOVUPS 0(SI)(R12*1), X6
	MOVUPS 16(SI)(R12*1), X7
	MOVUPS X0, 0(DI)
	MOVUPS X1, 16(DI)
	MOVUPS X2, 32(DI)
	MOVUPS X3, 48(DI)
	MOVUPS X4, 64(DI)
	MOVUPS X5, 80(DI)
	MOVUPS X6, 96(DI)
	MOVUPS X7, 112(DI)
	ADDQ $128, DI
	ADDQ R11, SI
	DECQ R9
	JNZ  chan4
	RET

// func gather8(dst, src []float64, chans, rowStride, chanStride int)
//
// For each of chans channels, copies 8 runs of 8 values, rowStride apart,
// to dst contiguously; the next channel starts chanStride values later.
TEXT ·gather8(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ chans+48(FP), R9
	MOVQ rowStride+56(FP), R10
	MOVQ chanStride+64(FP), R11
	SHLQ $3, R10
	SHLQ $3, R11

chan8:
	MOVQ SI, AX
	MOVQ $8, CX

row8:
	MOVUPS 0(AX), X0
	MOVUPS 16(AX), X1
	MOVUPS 32(AX), X2
	MOVUPS 48(AX), X3
	MOVUPS X0, 0(DI)
	MOVUPS X1, 16(DI)
	MOVUPS X2, 32(DI)
	MOVUPS X3, 48(DI)
	ADDQ R10, AX
	ADDQ $64, DI
	DECQ CX
	JNZ  row8
	ADDQ R11, SI
	DECQ R9
	JNZ  chan8
	RET

// func scatter4(dst, src []float64, chans, rowStride, chanStride int)
//
// For each of chans channels, adds 16 contiguous values of src to 4 runs
// of 4 values of dst, rowStride apart; the next channel starts chanStride
// values later. The additions are dst + src, as in Go's d[b] += v.
TEXT ·scatter4(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ chans+48(FP), R9
	MOVQ rowStride+56(FP), R10
	MOVQ chanStride+64(FP), R11
	SHLQ $3, R10
	SHLQ $3, R11
	LEAQ (R10)(R10*2), R12 // 3 rows

schan4:
	VMOVUPD 0(DI), Y0
	VMOVUPD 0(DI)(R10*1), Y1
	VMOVUPD 0(DI)(R10*2), Y2
	VMOVUPD 0(DI)(R12*1), Y3
	VADDPD  0(SI), Y0, Y0
	VADDPD  32(SI), Y1, Y1
	VADDPD  64(SI), Y2, Y2
	VADDPD  96(SI), Y3, Y3
	VMOVUPD Y0, 0(DI)
	VMOVUPD Y1, 0(DI)(R10*1)
	VMOVUPD Y2, 0(DI)(R10*2)
	VMOVUPD Y3, 0(DI)(R12*1)
	ADDQ $128, SI
	ADDQ R11, DI
	DECQ R9
	JNZ  schan4
	VZEROUPPER
	RET

// func scatter8(dst, src []float64, chans, rowStride, chanStride int)
//
// For each of chans channels, adds 64 contiguous values of src to 8 runs
// of 8 values of dst, rowStride apart; the next channel starts chanStride
// values later.
TEXT ·scatter8(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ chans+48(FP), R9
	MOVQ rowStride+56(FP), R10
	MOVQ chanStride+64(FP), R11
	SHLQ $3, R10
	SHLQ $3, R11

schan8:
	MOVQ DI, AX
	MOVQ $8, CX

srow8:
	VMOVUPD 0(AX), Y0
	VMOVUPD 32(AX), Y1
	VADDPD  0(SI), Y0, Y0
	VADDPD  32(SI), Y1, Y1
	VMOVUPD Y0, 0(AX)
	VMOVUPD Y1, 32(AX)
	ADDQ R10, AX
	ADDQ $64, SI
	DECQ CX
	JNZ  srow8
	ADDQ R11, DI
	DECQ R9
	JNZ  schan8
	VZEROUPPER
	RET

// func gather4x32(dst, src []float32, chans, rowStride, chanStride int)
//
// gather4 for float32: each run of 4 values is one 16-byte move.
TEXT ·gather4x32(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ chans+48(FP), R9
	MOVQ rowStride+56(FP), R10
	MOVQ chanStride+64(FP), R11
	SHLQ $2, R10
	SHLQ $2, R11
	LEAQ (R10)(R10*2), R12 // 3 rows

chan4x32:
	MOVUPS 0(SI), X0
	MOVUPS 0(SI)(R10*1), X1
	MOVUPS 0(SI)(R10*2), X2
	MOVUPS 0(SI)(R12*1), X3
	MOVUPS X0, 0(DI)
	MOVUPS X1, 16(DI)
	MOVUPS X2, 32(DI)
	MOVUPS X3, 48(DI)
	ADDQ $64, DI
	ADDQ R11, SI
	DECQ R9
	JNZ  chan4x32
	RET

// func gather8x32(dst, src []float32, chans, rowStride, chanStride int)
//
// gather8 for float32: each run of 8 values is two 16-byte moves.
TEXT ·gather8x32(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ chans+48(FP), R9
	MOVQ rowStride+56(FP), R10
	MOVQ chanStride+64(FP), R11
	SHLQ $2, R10
	SHLQ $2, R11

chan8x32:
	MOVQ SI, AX
	MOVQ $8, CX

row8x32:
	MOVUPS 0(AX), X0
	MOVUPS 16(AX), X1
	MOVUPS X0, 0(DI)
	MOVUPS X1, 16(DI)
	ADDQ R10, AX
	ADDQ $32, DI
	DECQ CX
	JNZ  row8x32
	ADDQ R11, SI
	DECQ R9
	JNZ  chan8x32
	RET

// func scatter4x32(dst, src []float32, chans, rowStride, chanStride int)
//
// scatter4 for float32: one four-wide addition (VEX, 128 bits) per run.
TEXT ·scatter4x32(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ chans+48(FP), R9
	MOVQ rowStride+56(FP), R10
	MOVQ chanStride+64(FP), R11
	SHLQ $2, R10
	SHLQ $2, R11
	LEAQ (R10)(R10*2), R12 // 3 rows

schan4x32:
	VMOVUPS 0(DI), X0
	VMOVUPS 0(DI)(R10*1), X1
	VMOVUPS 0(DI)(R10*2), X2
	VMOVUPS 0(DI)(R12*1), X3
	VADDPS  0(SI), X0, X0
	VADDPS  16(SI), X1, X1
	VADDPS  32(SI), X2, X2
	VADDPS  48(SI), X3, X3
	VMOVUPS X0, 0(DI)
	VMOVUPS X1, 0(DI)(R10*1)
	VMOVUPS X2, 0(DI)(R10*2)
	VMOVUPS X3, 0(DI)(R12*1)
	ADDQ $64, SI
	ADDQ R11, DI
	DECQ R9
	JNZ  schan4x32
	RET

// func scatter8x32(dst, src []float32, chans, rowStride, chanStride int)
//
// scatter8 for float32: one eight-wide addition per run.
TEXT ·scatter8x32(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ chans+48(FP), R9
	MOVQ rowStride+56(FP), R10
	MOVQ chanStride+64(FP), R11
	SHLQ $2, R10
	SHLQ $2, R11

schan8x32:
	MOVQ DI, AX
	MOVQ $8, CX

srow8x32:
	VMOVUPS 0(AX), Y0
	VADDPS  0(SI), Y0, Y0
	VMOVUPS Y0, 0(AX)
	ADDQ R10, AX
	ADDQ $32, SI
	DECQ CX
	JNZ  srow8x32
	ADDQ R11, DI
	DECQ R9
	JNZ  schan8x32
	VZEROUPPER
	RET
