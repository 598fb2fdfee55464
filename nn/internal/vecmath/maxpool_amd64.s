//go:build amd64 && !purego

#include "textflag.h"

// iotaq is {0, 1, 2, 3} as 64-bit integers.
DATA iotaq<>+0(SB)/8, $0
DATA iotaq<>+8(SB)/8, $1
DATA iotaq<>+16(SB)/8, $2
DATA iotaq<>+24(SB)/8, $3
GLOBL iotaq<>(SB), RODATA|NOPTR, $32

// evend selects the low halves of four 64-bit lanes for VPERMD.
DATA evend<>+0(SB)/4, $0
DATA evend<>+4(SB)/4, $2
DATA evend<>+8(SB)/4, $4
DATA evend<>+12(SB)/4, $6
DATA evend<>+16(SB)/4, $0
DATA evend<>+20(SB)/4, $0
DATA evend<>+24(SB)/4, $0
DATA evend<>+28(SB)/4, $0
GLOBL evend<>(SB), RODATA|NOPTR, $32

// func maxPool2S1AVX2(y []float64, arg []int32, x []float64, c, h, w int) (nan bool)
//
// 2×2 max pooling with stride 1 of c channels of h×w values, wo = w−1 ≥ 4
// outputs per row, four windows at a time: columns 0, 4, 8, … and, when 4
// does not divide wo, once more at wo−4, overlapping the previous four
// (the same windows give the same results). For each window, t is the top
// pair's maximum (the right value only if strictly greater), b the bottom
// pair's, and the result b only if strictly greater than t, which keeps
// the first occurrence of the maximum in row-major order. The indices are
// 64-bit integers blended with the same masks: a comparison's mask is −1
// where true, so index − mask adds 1 there. Every value of a row is in a
// window, and an unordered comparison of each pair ORs into Y15 whether
// there was a NaN.
//
// Registers: AX channels left, R10 rows left, BX column, SI top row, R14
// bottom row, R11 the top row's index in x, DI and R8 the output row in y
// and arg, R9 the row width in bytes, R12 = wo−4, R13 = wo; Y13 iotaq,
// Y14 w in every lane, Y12 evend, Y15 NaN mask.
TEXT ·maxPool2S1AVX2(SB), NOSPLIT, $0-97
	MOVQ y_base+0(FP), DI
	MOVQ arg_base+24(FP), R8
	MOVQ x_base+48(FP), SI
	MOVQ c+72(FP), AX
	MOVQ w+88(FP), R13
	VMOVQ R13, X14
	VPBROADCASTQ X14, Y14
	LEAQ 0(R13*8), R9
	DECQ R13                // wo
	LEAQ -4(R13), R12       // wo−4
	VMOVDQU iotaq<>(SB), Y13
	VMOVDQU evend<>(SB), Y12
	VXORPD Y15, Y15, Y15
	XORQ R11, R11

channel:
	MOVQ h+80(FP), R10
	DECQ R10                // ho rows

row:
	LEAQ (SI)(R9*1), R14
	XORQ BX, BX

col:
	VMOVUPD 0(SI)(BX*8), Y0      // top[j..j+3]
	VMOVUPD 8(SI)(BX*8), Y1      // top[j+1..j+4]
	VMOVUPD 0(R14)(BX*8), Y2     // bottom[j..j+3]
	VMOVUPD 8(R14)(BX*8), Y3     // bottom[j+1..j+4]
	VCMPPD $3, Y1, Y0, Y4        // unordered
	VCMPPD $3, Y3, Y2, Y5
	VORPD  Y4, Y15, Y15
	VORPD  Y5, Y15, Y15
	VCMPPD $0x1e, Y0, Y1, Y4     // top[j+1] > top[j] (GT_OQ)
	VCMPPD $0x1e, Y2, Y3, Y5     // bottom[j+1] > bottom[j]
	VBLENDVPD Y4, Y1, Y0, Y0     // t
	VBLENDVPD Y5, Y3, Y2, Y2     // b
	VCMPPD $0x1e, Y0, Y2, Y6     // b > t
	VBLENDVPD Y6, Y2, Y0, Y0
	VMOVUPD Y0, 0(DI)(BX*8)
	LEAQ (R11)(BX*1), CX
	VMOVQ CX, X7
	VPBROADCASTQ X7, Y7
	VPADDQ Y13, Y7, Y7           // indices of top[j..j+3]
	VPSUBQ Y4, Y7, Y8            // indices of t
	VPADDQ Y14, Y7, Y9           // indices of bottom[j..j+3]
	VPSUBQ Y5, Y9, Y9            // indices of b
	VBLENDVPD Y6, Y9, Y8, Y8
	VPERMD Y8, Y12, Y8           // low halves to the low 128 bits
	VMOVDQU X8, 0(R8)(BX*4)
	ADDQ $4, BX
	CMPQ BX, R12
	JLE  col
	CMPQ BX, R13
	JEQ  rowdone
	MOVQ R12, BX                 // the last four windows, overlapping
	JMP  col

rowdone:
	ADDQ R9, SI
	ADDQ w+88(FP), R11
	LEAQ (DI)(R13*8), DI
	LEAQ (R8)(R13*4), R8
	DECQ R10
	JNZ  row
	ADDQ R9, SI                  // skip the channel's last row
	ADDQ w+88(FP), R11
	DECQ AX
	JNZ  channel

	VPTEST Y15, Y15
	SETNE  nan+96(FP)
	VZEROUPPER
	RET

// iotad is {0, 1, …, 7} as 32-bit integers.
DATA iotad<>+0(SB)/4, $0
DATA iotad<>+4(SB)/4, $1
DATA iotad<>+8(SB)/4, $2
DATA iotad<>+12(SB)/4, $3
DATA iotad<>+16(SB)/4, $4
DATA iotad<>+20(SB)/4, $5
DATA iotad<>+24(SB)/4, $6
DATA iotad<>+28(SB)/4, $7
GLOBL iotad<>(SB), RODATA|NOPTR, $32

// func maxPool2S1AVX2_32(y []float32, arg []int32, x []float32, c, h, w int) (nan bool)
//
// maxPool2S1AVX2 for float32: eight windows at a time (Y registers) when
// wo = w−1 ≥ 8, four (X registers) when 4 ≤ wo < 8, at columns 0, 8, 16, …
// (0, 4, …) and, when the width does not divide wo, once more at wo−8
// (wo−4), overlapping the previous windows. The selections are those of
// maxPool2S1AVX2; the indices are 32-bit integers, as arg is, so that the
// comparisons' masks (−1 where true) adjust them lane for lane and the
// blended indices are stored as they are.
//
// Registers: AX channels left, R10 rows left, BX column, SI top row, R14
// bottom row, R11 the top row's index in x, DI and R8 the output row in y
// and arg, R9 the row width in bytes, R12 = wo − the block width, R13 = wo;
// Y13 iotad, Y14 w in every lane, Y15 NaN mask.
TEXT ·maxPool2S1AVX2_32(SB), NOSPLIT, $0-97
	MOVQ y_base+0(FP), DI
	MOVQ arg_base+24(FP), R8
	MOVQ x_base+48(FP), SI
	MOVQ c+72(FP), AX
	MOVQ w+88(FP), R13
	VMOVD R13, X14
	VPBROADCASTD X14, Y14
	LEAQ 0(R13*4), R9
	DECQ R13                // wo
	VMOVDQU iotad<>(SB), Y13
	VXORPS Y15, Y15, Y15
	XORQ R11, R11
	CMPQ R13, $8
	JLT  narrow
	LEAQ -8(R13), R12       // wo−8

channel8:
	MOVQ h+80(FP), R10
	DECQ R10                // ho rows

row8:
	LEAQ (SI)(R9*1), R14
	XORQ BX, BX

col8:
	VMOVUPS 0(SI)(BX*4), Y0      // top[j..j+7]
	VMOVUPS 4(SI)(BX*4), Y1      // top[j+1..j+8]
	VMOVUPS 0(R14)(BX*4), Y2     // bottom[j..j+7]
	VMOVUPS 4(R14)(BX*4), Y3     // bottom[j+1..j+8]
	VCMPPS $3, Y1, Y0, Y4        // unordered
	VCMPPS $3, Y3, Y2, Y5
	VORPS  Y4, Y15, Y15
	VORPS  Y5, Y15, Y15
	VCMPPS $0x1e, Y0, Y1, Y4     // top[j+1] > top[j] (GT_OQ)
	VCMPPS $0x1e, Y2, Y3, Y5     // bottom[j+1] > bottom[j]
	VBLENDVPS Y4, Y1, Y0, Y0     // t
	VBLENDVPS Y5, Y3, Y2, Y2     // b
	VCMPPS $0x1e, Y0, Y2, Y6     // b > t
	VBLENDVPS Y6, Y2, Y0, Y0
	VMOVUPS Y0, 0(DI)(BX*4)
	LEAQ (R11)(BX*1), CX
	VMOVD CX, X7
	VPBROADCASTD X7, Y7
	VPADDD Y13, Y7, Y7           // indices of top[j..j+7]
	VPSUBD Y4, Y7, Y8            // indices of t
	VPADDD Y14, Y7, Y9           // indices of bottom[j..j+7]
	VPSUBD Y5, Y9, Y9            // indices of b
	VBLENDVPS Y6, Y9, Y8, Y8
	VMOVDQU Y8, 0(R8)(BX*4)
	ADDQ $8, BX
	CMPQ BX, R12
	JLE  col8
	CMPQ BX, R13
	JEQ  rowdone8
	MOVQ R12, BX                 // the last eight windows, overlapping
	JMP  col8

rowdone8:
	ADDQ R9, SI
	ADDQ w+88(FP), R11
	LEAQ (DI)(R13*4), DI
	LEAQ (R8)(R13*4), R8
	DECQ R10
	JNZ  row8
	ADDQ R9, SI                  // skip the channel's last row
	ADDQ w+88(FP), R11
	DECQ AX
	JNZ  channel8
	JMP  done

narrow:
	LEAQ -4(R13), R12       // wo−4

channel4:
	MOVQ h+80(FP), R10
	DECQ R10

row4:
	LEAQ (SI)(R9*1), R14
	XORQ BX, BX

col4:
	VMOVUPS 0(SI)(BX*4), X0
	VMOVUPS 4(SI)(BX*4), X1
	VMOVUPS 0(R14)(BX*4), X2
	VMOVUPS 4(R14)(BX*4), X3
	VCMPPS $3, X1, X0, X4
	VCMPPS $3, X3, X2, X5
	VORPS  Y4, Y15, Y15          // the upper halves are zero
	VORPS  Y5, Y15, Y15
	VCMPPS $0x1e, X0, X1, X4
	VCMPPS $0x1e, X2, X3, X5
	VBLENDVPS X4, X1, X0, X0
	VBLENDVPS X5, X3, X2, X2
	VCMPPS $0x1e, X0, X2, X6
	VBLENDVPS X6, X2, X0, X0
	VMOVUPS X0, 0(DI)(BX*4)
	LEAQ (R11)(BX*1), CX
	VMOVD CX, X7
	VPBROADCASTD X7, X7
	VPADDD X13, X7, X7
	VPSUBD X4, X7, X8
	VPADDD X14, X7, X9
	VPSUBD X5, X9, X9
	VBLENDVPS X6, X9, X8, X8
	VMOVDQU X8, 0(R8)(BX*4)
	ADDQ $4, BX
	CMPQ BX, R12
	JLE  col4
	CMPQ BX, R13
	JEQ  rowdone4
	MOVQ R12, BX
	JMP  col4

rowdone4:
	ADDQ R9, SI
	ADDQ w+88(FP), R11
	LEAQ (DI)(R13*4), DI
	LEAQ (R8)(R13*4), R8
	DECQ R10
	JNZ  row4
	ADDQ R9, SI
	ADDQ w+88(FP), R11
	DECQ AX
	JNZ  channel4

done:
	VPTEST Y15, Y15
	SETNE  nan+96(FP)
	VZEROUPPER
	RET
