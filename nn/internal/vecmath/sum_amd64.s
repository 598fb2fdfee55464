//go:build amd64 && !purego

#include "textflag.h"

// func sumAVX2(x []float64) float64
//
// Y0–Y3 hold the sixteen partial sums of the blocks of sixteen, in the
// order of Sum's documentation: lane k of Yq is s[4q+k].
TEXT ·sumAVX2(SB), NOSPLIT, $0-32
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	MOVQ CX, BX
	SHRQ $4, BX
	JZ   fours

sixteen:
	VADDPD 0(SI), Y0, Y0
	VADDPD 32(SI), Y1, Y1
	VADDPD 64(SI), Y2, Y2
	VADDPD 96(SI), Y3, Y3
	ADDQ $128, SI
	DECQ BX
	JNZ  sixteen

fours:
	VADDPD Y1, Y0, Y0            // v = (s[k] + s[k+4]) + (s[k+8] + s[k+12])
	VADDPD Y3, Y2, Y2
	VADDPD Y2, Y0, Y0
	MOVQ CX, BX
	ANDQ $15, BX
	SHRQ $2, BX
	JZ   horizontal

four:
	VADDPD 0(SI), Y0, Y0
	ADDQ $32, SI
	DECQ BX
	JNZ  four

horizontal:
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0            // v[0]+v[2], v[1]+v[3]
	VUNPCKHPD X0, X0, X1
	VADDSD X1, X0, X0
	ANDQ $3, CX
	JZ   done

one:
	VADDSD 0(SI), X0, X0
	ADDQ $8, SI
	DECQ CX
	JNZ  one

done:
	VMOVSD X0, ret+24(FP)
	VZEROUPPER
	RET

// func sum32AVX2(x []float32) float32
//
// Y0 and Y1 hold the sixteen partial sums of the blocks of sixteen, in the
// order of Sum's documentation: lane k of Yq is s[8q+k]. Then v[k] =
// (s[k] + s[k+4]) + (s[k+8] + s[k+12]) in X0, the blocks of four added to
// it, and (v[0]+v[2]) + (v[1]+v[3]).
TEXT ·sum32AVX2(SB), NOSPLIT, $0-28
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVQ CX, BX
	SHRQ $4, BX
	JZ   fours32

sixteen32:
	VADDPS 0(SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	ADDQ $64, SI
	DECQ BX
	JNZ  sixteen32

fours32:
	VEXTRACTF128 $1, Y0, X2
	VADDPS X2, X0, X0            // s[k] + s[k+4]
	VEXTRACTF128 $1, Y1, X3
	VADDPS X3, X1, X1            // s[k+8] + s[k+12]
	VADDPS X1, X0, X0            // v
	MOVQ CX, BX
	ANDQ $15, BX
	SHRQ $2, BX
	JZ   horizontal32

four32:
	VADDPS 0(SI), X0, X0
	ADDQ $16, SI
	DECQ BX
	JNZ  four32

horizontal32:
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0            // v[0]+v[2], v[1]+v[3]
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	ANDQ $3, CX
	JZ   done32

one32:
	VADDSS 0(SI), X0, X0
	ADDQ $4, SI
	DECQ CX
	JNZ  one32

done32:
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET
