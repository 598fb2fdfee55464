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
