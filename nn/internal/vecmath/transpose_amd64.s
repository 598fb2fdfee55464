//go:build amd64 && !purego

#include "textflag.h"

// func transposeBias4x4(y, a, bias *float64, m, n, mb, nb int)
//
// For each block of four columns j of a (nb of them), the four bias values
// are broadcast once; then for each block of four rows i (mb of them), the
// 4×4 block is loaded as two-value halves, rows i and i+2 in one register
// and rows i+1 and i+3 in another, so that the unpack instructions give
// its columns directly, which plus the bias are four rows of y. The sums
// are a + bias, as in Go's a[i·n+j] + bias[j].
//
// Registers: SI a's column block, DI y's row block, DX the bias, AX and BX
// the current block of a and of y, CX the row blocks left, R11 the column
// blocks left, R8 and R9 the row lengths of y (m) and a (n) in bytes, R12
// three rows of a, R13 three rows of y, R14 four rows of a.
TEXT ·transposeBias4x4(SB), NOSPLIT, $0-56
	MOVQ y+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ bias+16(FP), DX
	MOVQ m+24(FP), R8
	MOVQ n+32(FP), R9
	MOVQ nb+48(FP), R11
	SHLQ $3, R8
	SHLQ $3, R9
	LEAQ (R9)(R9*2), R12
	LEAQ (R8)(R8*2), R13
	LEAQ 0(R9*4), R14

colblock:
	VBROADCASTSD 0(DX), Y8
	VBROADCASTSD 8(DX), Y9
	VBROADCASTSD 16(DX), Y10
	VBROADCASTSD 24(DX), Y11
	MOVQ SI, AX
	MOVQ DI, BX
	MOVQ mb+40(FP), CX

rowblock:
	VMOVUPD     0(AX), X0                // a[i][j], a[i][j+1]
	VMOVUPD     0(AX)(R9*1), X1          // a[i+1][j], a[i+1][j+1]
	VINSERTF128 $1, 0(AX)(R9*2), Y0, Y0  // | a[i+2][j], a[i+2][j+1]
	VINSERTF128 $1, 0(AX)(R12*1), Y1, Y1 // | a[i+3][j], a[i+3][j+1]
	VMOVUPD     16(AX), X2               // the same for columns j+2, j+3
	VMOVUPD     16(AX)(R9*1), X3
	VINSERTF128 $1, 16(AX)(R9*2), Y2, Y2
	VINSERTF128 $1, 16(AX)(R12*1), Y3, Y3
	VUNPCKLPD   Y1, Y0, Y4               // column j: a[i..i+3][j]
	VUNPCKHPD   Y1, Y0, Y5               // column j+1
	VUNPCKLPD   Y3, Y2, Y6               // column j+2
	VUNPCKHPD   Y3, Y2, Y7               // column j+3
	VADDPD      Y8, Y4, Y4
	VADDPD      Y9, Y5, Y5
	VADDPD      Y10, Y6, Y6
	VADDPD      Y11, Y7, Y7
	VMOVUPD     Y4, 0(BX)
	VMOVUPD     Y5, 0(BX)(R8*1)
	VMOVUPD     Y6, 0(BX)(R8*2)
	VMOVUPD     Y7, 0(BX)(R13*1)
	ADDQ        R14, AX
	ADDQ        $32, BX
	DECQ        CX
	JNZ         rowblock

	ADDQ $32, SI
	LEAQ (DI)(R8*4), DI
	ADDQ $32, DX
	DECQ R11
	JNZ  colblock
	VZEROUPPER
	RET

// func transposeBias8x8_32(y, a, bias *float32, m, n, mb, nb int)
//
// transposeBias4x4 for float32 in 8×8 blocks. For each block of eight
// columns j of a (nb of them), the eight bias values are broadcast once;
// then for each block of eight rows i (mb of them), each half of four
// columns is loaded as four registers, rows i+r and i+4+r in the two
// 128-bit lanes of register r, so that two rounds of unpack instructions
// (pairs of values, then pairs of pairs) transpose both 4×4 blocks lane by
// lane and give the columns as eight-value rows of y. The sums are
// a + bias, as in Go's a[i·n+j] + bias[j].
//
// Registers: SI a's column block, DI y's row block, DX the bias, AX and R10
// rows i and i+4 of the current block of a, BX and R14 rows j and j+4 of
// the current block of y, CX the row blocks left, R11 the column blocks
// left, R8 and R9 the row lengths of y (m) and a (n) in bytes, R12 three
// rows of a, R13 three rows of y; Y8–Y15 the bias.
TEXT ·transposeBias8x8_32(SB), NOSPLIT, $0-56
	MOVQ y+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ bias+16(FP), DX
	MOVQ m+24(FP), R8
	MOVQ n+32(FP), R9
	MOVQ nb+48(FP), R11
	SHLQ $2, R8
	SHLQ $2, R9
	LEAQ (R9)(R9*2), R12
	LEAQ (R8)(R8*2), R13

colblock32:
	VBROADCASTSS 0(DX), Y8
	VBROADCASTSS 4(DX), Y9
	VBROADCASTSS 8(DX), Y10
	VBROADCASTSS 12(DX), Y11
	VBROADCASTSS 16(DX), Y12
	VBROADCASTSS 20(DX), Y13
	VBROADCASTSS 24(DX), Y14
	VBROADCASTSS 28(DX), Y15
	MOVQ SI, AX
	LEAQ (SI)(R9*4), R10
	MOVQ DI, BX
	LEAQ (DI)(R8*4), R14
	MOVQ mb+40(FP), CX

rowblock32:
	// Columns j..j+3.
	VMOVUPS     0(AX), X0                // a[i][j..j+3]
	VMOVUPS     0(AX)(R9*1), X1          // a[i+1][j..j+3]
	VMOVUPS     0(AX)(R9*2), X2
	VMOVUPS     0(AX)(R12*1), X3
	VINSERTF128 $1, 0(R10), Y0, Y0       // | a[i+4][j..j+3]
	VINSERTF128 $1, 0(R10)(R9*1), Y1, Y1 // | a[i+5][j..j+3]
	VINSERTF128 $1, 0(R10)(R9*2), Y2, Y2
	VINSERTF128 $1, 0(R10)(R12*1), Y3, Y3
	VUNPCKLPS   Y1, Y0, Y4               // a[i][j] a[i+1][j] a[i][j+1] a[i+1][j+1] | rows i+4, i+5
	VUNPCKHPS   Y1, Y0, Y5               // the same for columns j+2, j+3
	VUNPCKLPS   Y3, Y2, Y6               // rows i+2, i+3 (i+6, i+7), columns j, j+1
	VUNPCKHPS   Y3, Y2, Y7               // columns j+2, j+3
	VUNPCKLPD   Y6, Y4, Y0               // column j: a[i..i+7][j]
	VUNPCKHPD   Y6, Y4, Y1               // column j+1
	VUNPCKLPD   Y7, Y5, Y2               // column j+2
	VUNPCKHPD   Y7, Y5, Y3               // column j+3
	VADDPS      Y8, Y0, Y0
	VADDPS      Y9, Y1, Y1
	VADDPS      Y10, Y2, Y2
	VADDPS      Y11, Y3, Y3
	VMOVUPS     Y0, 0(BX)
	VMOVUPS     Y1, 0(BX)(R8*1)
	VMOVUPS     Y2, 0(BX)(R8*2)
	VMOVUPS     Y3, 0(BX)(R13*1)

	// Columns j+4..j+7.
	VMOVUPS     16(AX), X0
	VMOVUPS     16(AX)(R9*1), X1
	VMOVUPS     16(AX)(R9*2), X2
	VMOVUPS     16(AX)(R12*1), X3
	VINSERTF128 $1, 16(R10), Y0, Y0
	VINSERTF128 $1, 16(R10)(R9*1), Y1, Y1
	VINSERTF128 $1, 16(R10)(R9*2), Y2, Y2
	VINSERTF128 $1, 16(R10)(R12*1), Y3, Y3
	VUNPCKLPS   Y1, Y0, Y4
	VUNPCKHPS   Y1, Y0, Y5
	VUNPCKLPS   Y3, Y2, Y6
	VUNPCKHPS   Y3, Y2, Y7
	VUNPCKLPD   Y6, Y4, Y0
	VUNPCKHPD   Y6, Y4, Y1
	VUNPCKLPD   Y7, Y5, Y2
	VUNPCKHPD   Y7, Y5, Y3
	VADDPS      Y12, Y0, Y0
	VADDPS      Y13, Y1, Y1
	VADDPS      Y14, Y2, Y2
	VADDPS      Y15, Y3, Y3
	VMOVUPS     Y0, 0(R14)
	VMOVUPS     Y1, 0(R14)(R8*1)
	VMOVUPS     Y2, 0(R14)(R8*2)
	VMOVUPS     Y3, 0(R14)(R13*1)

	LEAQ (AX)(R9*8), AX
	LEAQ (R10)(R9*8), R10
	ADDQ $32, BX
	ADDQ $32, R14
	DECQ CX
	JNZ  rowblock32

	ADDQ $32, SI
	LEAQ (DI)(R8*8), DI
	ADDQ $32, DX
	DECQ R11
	JNZ  colblock32
	VZEROUPPER
	RET
