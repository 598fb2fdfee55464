#!/usr/bin/env python3
"""Generates ../gemm_amd64.s, the kernels of Gemm, GemmGather and GemmGatherA.

Run from nn/internal/vecmath: python3 testdata/gen_gemm.py > gemm_amd64.s

A kernel computes an r-row panel of C (r = 6, 4, 2, 1) over nb blocks of
eight columns, one r×8 tile at a time, each over k steps. Each row of a
tile has two accumulators (columns 0-3 and 4-7). The 6- and 4-row kernels
keep one chain of fused multiply-adds per element, over p in order. The 2-
and 1-row kernels have too few accumulators to hide the multiply-add
latency, so they split p into s interleaved streams (s = 2 and 4: step p
goes to stream p mod s while at least s steps remain, the last k mod s steps
to stream 0) and add the streams at the end, pairwise. With acc, the old C
is added last.

The three families differ in how they read the operands:

  plain    A(i, p) = a[i·rsA + p·csA]; B by rows (stride ldb); block q at b + 8q
  gather   A as plain; B(p, 8q+t) = b[blockOff[q] + off[p] + t (+ half − 4 for t ≥ 4)]
  gatherA  A(i, p) = a[rowOff[i] + colOff[p]]; B as plain

Locals: cnt-8(SP) counts the blocks left, bq-16(SP) is the next block's b
(plain, gatherA) or its blockOff entry (gather), cq-24(SP) its C.
"""

STREAMS = {6: 1, 4: 1, 2: 2, 1: 4}
# A's rows for plain and gather: SI + i·rsA with R8 = rsA, R9 = 3·rsA, R10 = 5·rsA.
ADDR = ["(SI)", "(SI)(R8*1)", "(SI)(R8*2)", "(SI)(R9*1)", "(SI)(R8*4)", "(SI)(R10*1)"]
# Row bases for gatherA (a + rowOff[i]); AX holds colOff[p].
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
    "plain": "k int, a *float64, rsA, csA int, b *float64, ldb int, c *float64, ldc, nb int, acc bool",
    "gather": "k int, a *float64, rsA, csA int, b *float64, off *int, half int, blockOff *int, c *float64, ldc, nb int, acc bool",
    "gatherA": "k int, a *float64, rowOff, colOff *int, b *float64, ldb int, c *float64, ldc, nb int, acc bool",
}
PREFIX = {"plain": "gemm", "gather": "gemmGather", "gatherA": "gemmGatherA"}


def fp(fam, name):
    return f"{name}+{dict(ARGS[fam])[name]}(FP)"


def step(fam, r, stream):
    """One step p into stream `stream` (accumulators 2r·stream + …)."""
    if fam == "plain":
        o = ["\tVMOVUPD (BX), Y12", "\tVMOVUPD 32(BX), Y13", "\tADDQ DX, BX"]
    elif fam == "gather":
        o = ["\tMOVQ (R12), AX", "\tLEAQ (BX)(AX*8), AX", "\tVMOVUPD (AX), Y12",
             "\tVMOVUPD (AX)(DX*1), Y13", "\tADDQ $8, R12"]
    else:
        o = ["\tMOVQ (DI), AX", "\tVMOVUPD (BX), Y12", "\tVMOVUPD 32(BX), Y13", "\tADDQ $8, DI", "\tADDQ DX, BX"]
    for i in range(r):
        bc = 14 + (i % 2)
        a0 = 2 * r * stream + 2 * i
        src = ADDR[i] if fam != "gatherA" else f"({GA_BASE[i]})(AX*8)"
        o += [f"\tVBROADCASTSD {src}, Y{bc}",
              f"\tVFMADD231PD Y12, Y{bc}, Y{a0}",
              f"\tVFMADD231PD Y13, Y{bc}, Y{a0 + 1}"]
    if fam != "gatherA":
        o.append("\tADDQ R11, SI")
    return o


def kernel(fam, r):
    s = STREAMS[r]
    name = f"{PREFIX[fam]}{r}x8"
    lbl = f"{fam}{r}"
    frame = ARGS[fam][-1][1] + 1
    scnt = "R11" if fam == "gatherA" else "R13"  # stream loop counter
    o = [f"// func {name}({SIG[fam]})", f"TEXT ·{name}(SB), NOSPLIT, $32-{frame}"]
    # Persistent registers.
    if fam in ("plain", "gather"):
        o += [f"\tMOVQ {fp(fam, 'rsA')}, R8", f"\tMOVQ {fp(fam, 'csA')}, R11", "\tSHLQ $3, R8", "\tSHLQ $3, R11",
              "\tLEAQ (R8)(R8*2), R9", "\tLEAQ (R8)(R8*4), R10"]
    if fam == "gather":
        o += [f"\tMOVQ {fp(fam, 'half')}, DX", "\tSHLQ $3, DX",
              f"\tMOVQ {fp(fam, 'blockOff')}, AX", "\tMOVQ AX, bq-16(SP)"]
    else:
        o += [f"\tMOVQ {fp(fam, 'ldb')}, DX", "\tSHLQ $3, DX",
              f"\tMOVQ {fp(fam, 'b')}, AX", "\tMOVQ AX, bq-16(SP)"]
    if fam == "gatherA":
        o += [f"\tMOVQ {fp(fam, 'a')}, SI", f"\tMOVQ {fp(fam, 'rowOff')}, AX"]
        for i in range(r):
            o += [f"\tMOVQ {8 * i}(AX), {GA_BASE[i]}", f"\tLEAQ (SI)({GA_BASE[i]}*8), {GA_BASE[i]}"]
    o += [f"\tMOVQ {fp(fam, 'nb')}, AX", "\tMOVQ AX, cnt-8(SP)",
          f"\tMOVQ {fp(fam, 'c')}, AX", "\tMOVQ AX, cq-24(SP)",
          f"block{lbl}:", f"\tMOVQ {fp(fam, 'k')}, CX"]
    # Per-block registers.
    if fam == "plain":
        o += [f"\tMOVQ {fp(fam, 'a')}, SI", "\tMOVQ bq-16(SP), BX"]
    elif fam == "gather":
        o += [f"\tMOVQ {fp(fam, 'a')}, SI", f"\tMOVQ {fp(fam, 'off')}, R12", "\tMOVQ bq-16(SP), AX",
              "\tMOVQ (AX), AX", f"\tMOVQ {fp(fam, 'b')}, BX", "\tLEAQ (BX)(AX*8), BX"]
    else:
        o += [f"\tMOVQ {fp(fam, 'colOff')}, DI", "\tMOVQ bq-16(SP), BX"]
    for q in range(2 * r * s):
        o.append(f"\tVXORPD Y{q}, Y{q}, Y{q}")
    if s == 1:
        o += [f"loop{lbl}:"] + step(fam, r, 0) + ["\tDECQ CX", f"\tJNZ loop{lbl}"]
    else:
        sh = {2: 1, 4: 2}[s]
        o += [f"\tMOVQ CX, {scnt}", f"\tSHRQ ${sh}, {scnt}", f"\tJZ tail{lbl}", f"loop{lbl}:"]
        for t in range(s):
            o += step(fam, r, t)
        o += [f"\tDECQ {scnt}", f"\tJNZ loop{lbl}", f"tail{lbl}:", f"\tANDQ ${s - 1}, CX", f"\tJZ sum{lbl}",
              f"tailloop{lbl}:"] + step(fam, r, 0) + ["\tDECQ CX", f"\tJNZ tailloop{lbl}", f"sum{lbl}:"]
        n = 2 * r
        pairs = [(0, 1)] if s == 2 else [(0, 1), (2, 3), (0, 2)]
        for a, b in pairs:
            for q in range(n):
                o.append(f"\tVADDPD Y{n * b + q}, Y{n * a + q}, Y{n * a + q}")
    # Store the tile, walking C's rows with CX (free after the loop) and
    # AX = ldc in bytes.
    o += ["\tMOVQ cq-24(SP), CX", f"\tMOVQ {fp(fam, 'ldc')}, AX", "\tSHLQ $3, AX",
          f"\tCMPB {fp(fam, 'acc')}, $0", f"\tJEQ store{lbl}"]
    for i in range(r):
        o += [f"\tVADDPD (CX), Y{2 * i}, Y{2 * i}", f"\tVADDPD 32(CX), Y{2 * i + 1}, Y{2 * i + 1}",
              f"\tVMOVUPD Y{2 * i}, (CX)", f"\tVMOVUPD Y{2 * i + 1}, 32(CX)"]
        if i < r - 1:
            o.append("\tADDQ AX, CX")
    o += [f"\tJMP next{lbl}", f"store{lbl}:"]
    for i in range(r):
        o += [f"\tVMOVUPD Y{2 * i}, (CX)", f"\tVMOVUPD Y{2 * i + 1}, 32(CX)"]
        if i < r - 1:
            o.append("\tADDQ AX, CX")
    o += [f"next{lbl}:", "\tADDQ $64, cq-24(SP)"]
    o.append("\tADDQ $8, bq-16(SP)" if fam == "gather" else "\tADDQ $64, bq-16(SP)")
    o += ["\tDECQ cnt-8(SP)", f"\tJNZ block{lbl}", "\tVZEROUPPER", "\tRET", ""]
    return o


out = ["// Code generated by testdata/gen_gemm.py; DO NOT EDIT.", "", "//go:build amd64", "",
       '#include "textflag.h"', "",
       "// Panel kernels of Gemm, GemmGather and GemmGatherA: r rows of C = A·B",
       "// (+ C) over nb blocks of eight columns. Accumulators Y0..Y11, B's row in",
       "// Y12 and Y13, broadcasts of A in Y14 and Y15. See testdata/gen_gemm.py",
       "// for the operand layouts and the summation order.", ""]
for fam in ("plain", "gather", "gatherA"):
    for r in (6, 4, 2, 1):
        out += kernel(fam, r)
print("\n".join(out))
