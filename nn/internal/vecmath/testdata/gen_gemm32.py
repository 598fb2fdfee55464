#!/usr/bin/env python3
"""Generates ../gemm32_amd64.s, the float32 kernels of Gemm, GemmGather and GemmGatherA.

Run from nn/internal/vecmath:

  python3 testdata/gen_gemm32.py > gemm32_amd64.s
  python3 testdata/gen_gemm32.py avx512 > gemm32z_amd64.s

The float32 twins of gen_gemm.py's kernels, with eight float32 lanes a YMM
register. A kernel computes an r-row panel of C (r = 6, 4, 2, 1) over nb
blocks of W columns (W = 16, or 8 for the last block when 16 does not divide
n), one r×W tile at a time, each over k steps. Each row of a 16-column tile
has two accumulators (columns 0-7 and 8-15), of an 8-column tile one. The
summation order is that of gen_gemm.py, the same for both widths (it depends
only on r and k): one chain of fused multiply-adds per element, over p in
order, for r = 6 and 4; s = 2 and 4 interleaved streams for r = 2 and 1 (step
p to stream p mod s while at least s steps remain, the last k mod s steps to
stream 0), added pairwise at the end. With acc, the old C is added last.

  plain    A(i, p) = a[i·rsA + p·csA]; B by rows (stride ldb); block q at b + Wq
  gather   A as plain; B(p, 8q+t) = b[blockOff[q] + off[p] + t (+ half − 4 for t ≥ 4)]:
           each block of eight is two runs of four, loaded as two halves of a
           register (VMOVUPS, VINSERTF128) from BX and DI = BX + half (block q)
           and R14, R15 (block q+1)
  gatherA  A(i, p) = a[rowOff[i] + colOff[p]]; B as plain

Locals: cnt-8(SP) counts the blocks left, bq-16(SP) is the next block's b
(plain, gatherA) or its blockOff entry (gather), cq-24(SP) its C.

With the argument avx512 the same kernels are written with sixteen lanes a
ZMM register (Z0..Z15 for Y0..Y15, AVX-512F): widths 32 and 16 for plain and
gatherA (two and one registers a row), 16 for gather (the four runs of four
of blocks q and q+1 inserted into one register). The summation order is the
same, so the results are those of the AVX2 kernels bit for bit.
"""

import sys

ZMM = len(sys.argv) > 1 and sys.argv[1] == "avx512"
R = "Z" if ZMM else "Y"   # vector register prefix
LANES = 16 if ZMM else 8

STREAMS = {6: 1, 4: 1, 2: 2, 1: 4}
ADDR = ["(SI)", "(SI)(R8*1)", "(SI)(R8*2)", "(SI)(R9*1)", "(SI)(R8*4)", "(SI)(R10*1)"]
GA_BASE = ["R8", "R9", "R10", "R13", "R14", "R15"]

ARGS = {
    "plain": [("k", 0), ("a", 8), ("rsA", 16), ("csA", 24), ("b", 32), ("ldb", 40), ("c", 48),
              ("ldc", 56), ("nb", 64), ("acc", 72)],
    "gather": [("k", 0), ("a", 8), ("rsA", 16), ("csA", 24), ("b", 32), ("off", 40), ("half", 48),
               ("blockOff", 56), ("c", 64), ("ldc", 72), ("nb", 80), ("acc", 88)],
    "gatherA": [("k", 0), ("a", 8), ("rowOff", 16), ("colOff", 24), ("b", 32), ("ldb", 40), ("c", 48),
                ("ldc", 56), ("nb", 64), ("acc", 72)],
}
SIG = {
    "plain": "k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc, nb int, acc bool",
    "gather": "k int, a *float32, rsA, csA int, b *float32, off *int, half int, blockOff *int, c *float32, ldc, nb int, acc bool",
    "gatherA": "k int, a *float32, rowOff, colOff *int, b *float32, ldb int, c *float32, ldc, nb int, acc bool",
}
PREFIX = {"plain": "sgemm", "gather": "sgemmGather", "gatherA": "sgemmGatherA"}


def fp(fam, name):
    return f"{name}+{dict(ARGS[fam])[name]}(FP)"


def acc_reg(r, v, stream, i, j):
    """Accumulator of row i, vector j (0 or 1) of stream `stream`."""
    return v * r * stream + v * i + j


def step(fam, r, v, stream):
    second = [f"\tVMOVUPS {4 * LANES}(BX), {R}13"] if v == 2 else []
    if fam == "plain":
        o = [f"\tVMOVUPS (BX), {R}12"] + second + ["\tADDQ DX, BX"]
    elif fam == "gather" and ZMM:
        o = ["\tMOVQ (R12), AX", "\tVMOVUPS (BX)(AX*4), X12", "\tVINSERTF32X4 $1, (DI)(AX*4), Z12, Z12",
             "\tVINSERTF32X4 $2, (R14)(AX*4), Z12, Z12", "\tVINSERTF32X4 $3, (R15)(AX*4), Z12, Z12",
             "\tADDQ $8, R12"]
    elif fam == "gather":
        o = ["\tMOVQ (R12), AX", "\tVMOVUPS (BX)(AX*4), X12", "\tVINSERTF128 $1, (DI)(AX*4), Y12, Y12"]
        if v == 2:
            o += ["\tVMOVUPS (R14)(AX*4), X13", "\tVINSERTF128 $1, (R15)(AX*4), Y13, Y13"]
        o.append("\tADDQ $8, R12")
    else:
        o = ["\tMOVQ (DI), AX", f"\tVMOVUPS (BX), {R}12"] + second + ["\tADDQ $8, DI", "\tADDQ DX, BX"]
    for i in range(r):
        bc = 14 + (i % 2)
        src = ADDR[i] if fam != "gatherA" else f"({GA_BASE[i]})(AX*4)"
        o.append(f"\tVBROADCASTSS {src}, {R}{bc}")
        for j in range(v):
            o.append(f"\tVFMADD231PS {R}{12 + j}, {R}{bc}, {R}{acc_reg(r, v, stream, i, j)}")
    if fam != "gatherA":
        o.append("\tADDQ R11, SI")
    return o


def kernel(fam, r, w):
    v = w // LANES  # registers a row
    s = STREAMS[r]
    name = f"{PREFIX[fam]}{r}x{w}" + ("Z" if ZMM else "")
    lbl = f"{fam}{r}x{w}" + ("z" if ZMM else "")
    frame = ARGS[fam][-1][1] + 1
    scnt = "R11" if fam == "gatherA" else "R13"
    o = [f"// func {name}({SIG[fam]})", f"TEXT ·{name}(SB), NOSPLIT, $32-{frame}"]
    if fam in ("plain", "gather"):
        o += [f"\tMOVQ {fp(fam, 'rsA')}, R8", f"\tMOVQ {fp(fam, 'csA')}, R11", "\tSHLQ $2, R8", "\tSHLQ $2, R11",
              "\tLEAQ (R8)(R8*2), R9", "\tLEAQ (R8)(R8*4), R10"]
    if fam == "gather":
        o += [f"\tMOVQ {fp(fam, 'half')}, DX", "\tSHLQ $2, DX",
              f"\tMOVQ {fp(fam, 'blockOff')}, AX", "\tMOVQ AX, bq-16(SP)"]
    else:
        o += [f"\tMOVQ {fp(fam, 'ldb')}, DX", "\tSHLQ $2, DX",
              f"\tMOVQ {fp(fam, 'b')}, AX", "\tMOVQ AX, bq-16(SP)"]
    if fam == "gatherA":
        o += [f"\tMOVQ {fp(fam, 'a')}, SI", f"\tMOVQ {fp(fam, 'rowOff')}, AX"]
        for i in range(r):
            o += [f"\tMOVQ {8 * i}(AX), {GA_BASE[i]}", f"\tLEAQ (SI)({GA_BASE[i]}*4), {GA_BASE[i]}"]
    o += [f"\tMOVQ {fp(fam, 'nb')}, AX", "\tMOVQ AX, cnt-8(SP)",
          f"\tMOVQ {fp(fam, 'c')}, AX", "\tMOVQ AX, cq-24(SP)",
          f"block{lbl}:", f"\tMOVQ {fp(fam, 'k')}, CX"]
    if fam == "plain":
        o += [f"\tMOVQ {fp(fam, 'a')}, SI", "\tMOVQ bq-16(SP), BX"]
    elif fam == "gather":
        o += [f"\tMOVQ {fp(fam, 'a')}, SI", f"\tMOVQ {fp(fam, 'off')}, R12", "\tMOVQ bq-16(SP), AX",
              f"\tMOVQ {fp(fam, 'b')}, BX"]
        if w == 16:
            o += ["\tMOVQ 8(AX), R14", "\tLEAQ (BX)(R14*4), R14", "\tLEAQ (R14)(DX*1), R15"]
        o += ["\tMOVQ (AX), AX", "\tLEAQ (BX)(AX*4), BX", "\tLEAQ (BX)(DX*1), DI"]
    else:
        o += [f"\tMOVQ {fp(fam, 'colOff')}, DI", "\tMOVQ bq-16(SP), BX"]
    for q in range(v * r * s):
        o.append(f"\tVPXORD Z{q}, Z{q}, Z{q}" if ZMM else f"\tVXORPS Y{q}, Y{q}, Y{q}")
    if s == 1:
        o += [f"loop{lbl}:"] + step(fam, r, v, 0) + ["\tDECQ CX", f"\tJNZ loop{lbl}"]
    else:
        sh = {2: 1, 4: 2}[s]
        o += [f"\tMOVQ CX, {scnt}", f"\tSHRQ ${sh}, {scnt}", f"\tJZ tail{lbl}", f"loop{lbl}:"]
        for t in range(s):
            o += step(fam, r, v, t)
        o += [f"\tDECQ {scnt}", f"\tJNZ loop{lbl}", f"tail{lbl}:", f"\tANDQ ${s - 1}, CX", f"\tJZ sum{lbl}",
              f"tailloop{lbl}:"] + step(fam, r, v, 0) + ["\tDECQ CX", f"\tJNZ tailloop{lbl}", f"sum{lbl}:"]
        n = v * r
        pairs = [(0, 1)] if s == 2 else [(0, 1), (2, 3), (0, 2)]
        for a, b in pairs:
            for q in range(n):
                o.append(f"\tVADDPS {R}{n * b + q}, {R}{n * a + q}, {R}{n * a + q}")
    o += ["\tMOVQ cq-24(SP), CX", f"\tMOVQ {fp(fam, 'ldc')}, AX", "\tSHLQ $2, AX",
          f"\tCMPB {fp(fam, 'acc')}, $0", f"\tJEQ store{lbl}"]
    for i in range(r):
        for j in range(v):
            y = acc_reg(r, v, 0, i, j)
            o.append(f"\tVADDPS {4 * LANES * j}(CX), {R}{y}, {R}{y}")
        for j in range(v):
            o.append(f"\tVMOVUPS {R}{acc_reg(r, v, 0, i, j)}, {4 * LANES * j}(CX)")
        if i < r - 1:
            o.append("\tADDQ AX, CX")
    o += [f"\tJMP next{lbl}", f"store{lbl}:"]
    for i in range(r):
        for j in range(v):
            o.append(f"\tVMOVUPS {R}{acc_reg(r, v, 0, i, j)}, {4 * LANES * j}(CX)")
        if i < r - 1:
            o.append("\tADDQ AX, CX")
    o += [f"next{lbl}:", f"\tADDQ ${4 * w}, cq-24(SP)"]
    o.append(f"\tADDQ ${w}, bq-16(SP)" if fam == "gather" else f"\tADDQ ${4 * w}, bq-16(SP)")
    o += ["\tDECQ cnt-8(SP)", f"\tJNZ block{lbl}", "\tVZEROUPPER", "\tRET", ""]
    return o


out = ["// Code generated by testdata/gen_gemm32.py" + (" avx512" if ZMM else "") + "; DO NOT EDIT.", "",
       "//go:build amd64 && !purego", "", '#include "textflag.h"', ""]
if ZMM:
    out += ["// The AVX-512 float32 panel kernels of Gemm, GemmGather and GemmGatherA:",
            "// r rows of C = A·B (+ C) over nb blocks of 32 or 16 columns (16 only",
            "// for gather). Accumulators Z0..Z11, B's row in Z12 and Z13, broadcasts",
            "// of A in Z14 and Z15. See testdata/gen_gemm32.py for the operand",
            "// layouts and the summation order, that of the AVX2 kernels.", ""]
    widths = {"plain": (32, 16), "gather": (16,), "gatherA": (32, 16)}
else:
    out += ["// Float32 panel kernels of Gemm, GemmGather and GemmGatherA: r rows of",
            "// C = A·B (+ C) over nb blocks of 16 or 8 columns. Accumulators Y0..Y11,",
            "// B's row in Y12 and Y13, broadcasts of A in Y14 and Y15. See",
            "// testdata/gen_gemm32.py for the operand layouts and the summation order.", ""]
    widths = {"plain": (16, 8), "gather": (16, 8), "gatherA": (16, 8)}
for fam in ("plain", "gather", "gatherA"):
    for w in widths[fam]:
        for r in (6, 4, 2, 1):
            out += kernel(fam, r, w)
print("\n".join(out))
