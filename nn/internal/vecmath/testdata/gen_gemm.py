#!/usr/bin/env python3
"""Generates ../gemm_amd64.s, the tile kernels of Gemm, GemmGather and
GemmGatherA.

Run from nn/internal/vecmath: python3 testdata/gen_gemm.py > gemm_amd64.s

A kernel computes an r×8 block of C (r = 6, 4, 2, 1) over k steps. Each
row has two accumulators (columns 0-3 and 4-7). The 6- and 4-row kernels
keep one chain of fused multiply-adds per element, over p in order. The
2- and 1-row kernels have too few accumulators to hide the multiply-add
latency, so they split p into s interleaved streams (s = 2 and 4: step p
goes to stream p mod s while at least s steps remain, the last k mod s
steps to stream 0) and add the streams at the end, pairwise.
"""

ADDR = ["(SI)", "(SI)(R8*1)", "(SI)(R8*2)", "(SI)(R9*1)", "(SI)(R8*4)", "(SI)(R10*1)"]
CADDR = ["(DI)", "(DI)(R12*1)", "(DI)(R12*2)", "(DI)(R13*1)", "(DI)(R12*4)", "(DI)(R14*1)"]
STREAMS = {6: 1, 4: 1, 2: 2, 1: 4}


def load_b(gather):
    if gather:  # row p at b + off[p], second half at + half
        return ["\tMOVQ (R12), AX", "\tLEAQ (BX)(AX*8), AX", "\tVMOVUPD (AX), Y12",
                "\tVMOVUPD (AX)(DX*1), Y13", "\tADDQ $8, R12"]
    return ["\tVMOVUPD (BX), Y12", "\tVMOVUPD 32(BX), Y13", "\tADDQ DX, BX"]


def step(r, stream, gather):
    """One step p into stream `stream` (accumulators 2r*stream + ...)."""
    o = load_b(gather)
    for i in range(r):
        bc = 14 + (i % 2)
        a0 = 2 * r * stream + 2 * i
        o += [f"\tVBROADCASTSD {ADDR[i]}, Y{bc}",
              f"\tVFMADD231PD Y12, Y{bc}, Y{a0}",
              f"\tVFMADD231PD Y13, Y{bc}, Y{a0 + 1}"]
    o.append("\tADDQ R11, SI")
    return o


def kernel(r, gather):
    s = STREAMS[r]
    pre = "gemmGather" if gather else "gemm"
    name = f"{pre}{r}x8"
    lbl = ("g" if gather else "") + f"{r}"
    if gather:
        sig = "k int, a *float64, rsA, csA int, b *float64, off *int, half int, c *float64, ldc int, acc bool"
        frame, cOff, ldcOff, accOff = 73, 56, 64, 72
        args = ["\tMOVQ b+32(FP), BX", "\tMOVQ off+40(FP), R12", "\tMOVQ half+48(FP), DX"]
    else:
        sig = "k int, a *float64, rsA, csA int, b *float64, ldb int, c *float64, ldc int, acc bool"
        frame, cOff, ldcOff, accOff = 65, 48, 56, 64
        args = ["\tMOVQ b+32(FP), BX", "\tMOVQ ldb+40(FP), DX"]
    o = [f"// func {name}({sig})", f"TEXT ·{name}(SB), NOSPLIT, $0-{frame}",
         "\tMOVQ k+0(FP), CX", "\tMOVQ a+8(FP), SI", "\tMOVQ rsA+16(FP), R8",
         "\tMOVQ csA+24(FP), R11"] + args + [
         "\tSHLQ $3, R8", "\tSHLQ $3, R11", "\tSHLQ $3, DX",
         "\tLEAQ (R8)(R8*2), R9", "\tLEAQ (R8)(R8*4), R10"]
    for q in range(2 * r * s):
        o.append(f"\tVXORPD Y{q}, Y{q}, Y{q}")
    if s == 1:
        o.append(f"loop{lbl}:")
        o += step(r, 0, gather)
        o += ["\tDECQ CX", f"\tJNZ loop{lbl}"]
    else:
        sh = {2: 1, 4: 2}[s]
        o += ["\tMOVQ CX, R13", f"\tSHRQ ${sh}, R13", f"\tJZ tail{lbl}", f"loop{lbl}:"]
        for t in range(s):
            o += step(r, t, gather)
        o += ["\tDECQ R13", f"\tJNZ loop{lbl}", f"tail{lbl}:", f"\tANDQ ${s - 1}, CX", f"\tJZ sum{lbl}",
              f"tailloop{lbl}:"]
        o += step(r, 0, gather)
        o += ["\tDECQ CX", f"\tJNZ tailloop{lbl}", f"sum{lbl}:"]
        n = 2 * r  # accumulators per stream
        # pairwise: stream 0 += stream 1 (and 2 += 3, then 0 += 2)
        pairs = [(0, 1)] if s == 2 else [(0, 1), (2, 3), (0, 2)]
        for a, b in pairs:
            for q in range(n):
                o.append(f"\tVADDPD Y{n * b + q}, Y{n * a + q}, Y{n * a + q}")
    o += [f"\tMOVQ c+{cOff}(FP), DI", f"\tMOVQ ldc+{ldcOff}(FP), R12", "\tSHLQ $3, R12",
          "\tLEAQ (R12)(R12*2), R13", "\tLEAQ (R12)(R12*4), R14",
          f"\tMOVBLZX acc+{accOff}(FP), AX", "\tTESTQ AX, AX", f"\tJZ store{lbl}"]
    for i in range(r):
        o += [f"\tVADDPD {CADDR[i]}, Y{2 * i}, Y{2 * i}", f"\tVADDPD 32{CADDR[i]}, Y{2 * i + 1}, Y{2 * i + 1}"]
    o.append(f"store{lbl}:")
    for i in range(r):
        o += [f"\tVMOVUPD Y{2 * i}, {CADDR[i]}", f"\tVMOVUPD Y{2 * i + 1}, 32{CADDR[i]}"]
    o += ["\tVZEROUPPER", "\tRET", ""]
    return o


GA_BASE = ["R8", "R9", "R10", "R13", "R14", "R15"]


def kernel_gather_a(r):
    """Gathered-A kernel: A(i, p) = a[rowOff[i] + colOff[p]]; B by rows.

    The row bases a + rowOff[i] sit in GA_BASE; DI walks colOff and AX holds
    the current offset. R15 is used as a base register: these functions
    touch no global data, so the dynamic-linking use of R15 does not arise.
    """
    s = STREAMS[r]
    name = f"gemmGatherA{r}x8"
    lbl = f"a{r}"
    o = [f"// func {name}(k int, a *float64, rowOff, colOff *int, b *float64, ldb int, c *float64, ldc int, acc bool)",
         f"TEXT ·{name}(SB), NOSPLIT, $0-65",
         "\tMOVQ k+0(FP), CX", "\tMOVQ a+8(FP), SI", "\tMOVQ rowOff+16(FP), AX",
         "\tMOVQ colOff+24(FP), DI", "\tMOVQ b+32(FP), BX", "\tMOVQ ldb+40(FP), DX", "\tSHLQ $3, DX"]
    for i in range(r):
        o += [f"\tMOVQ {8 * i}(AX), {GA_BASE[i]}", f"\tLEAQ (SI)({GA_BASE[i]}*8), {GA_BASE[i]}"]
    for q in range(2 * r * s):
        o.append(f"\tVXORPD Y{q}, Y{q}, Y{q}")

    def gstep(stream):
        st = ["\tMOVQ (DI), AX", "\tVMOVUPD (BX), Y12", "\tVMOVUPD 32(BX), Y13"]
        for i in range(r):
            bc = 14 + (i % 2)
            a0 = 2 * r * stream + 2 * i
            st += [f"\tVBROADCASTSD ({GA_BASE[i]})(AX*8), Y{bc}",
                   f"\tVFMADD231PD Y12, Y{bc}, Y{a0}",
                   f"\tVFMADD231PD Y13, Y{bc}, Y{a0 + 1}"]
        return st + ["\tADDQ $8, DI", "\tADDQ DX, BX"]

    if s == 1:
        o += [f"loop{lbl}:"] + gstep(0) + ["\tDECQ CX", f"\tJNZ loop{lbl}"]
    else:
        sh = {2: 1, 4: 2}[s]
        o += ["\tMOVQ CX, R11", f"\tSHRQ ${sh}, R11", f"\tJZ tail{lbl}", f"loop{lbl}:"]
        for t in range(s):
            o += gstep(t)
        o += ["\tDECQ R11", f"\tJNZ loop{lbl}", f"tail{lbl}:", f"\tANDQ ${s - 1}, CX", f"\tJZ sum{lbl}",
              f"tailloop{lbl}:"] + gstep(0) + ["\tDECQ CX", f"\tJNZ tailloop{lbl}", f"sum{lbl}:"]
        n = 2 * r
        pairs = [(0, 1)] if s == 2 else [(0, 1), (2, 3), (0, 2)]
        for a, b in pairs:
            for q in range(n):
                o.append(f"\tVADDPD Y{n * b + q}, Y{n * a + q}, Y{n * a + q}")
    o += ["\tMOVQ c+48(FP), DI", "\tMOVQ ldc+56(FP), R12", "\tSHLQ $3, R12",
          "\tLEAQ (R12)(R12*2), R13", "\tLEAQ (R12)(R12*4), R14",
          "\tMOVBLZX acc+64(FP), AX", "\tTESTQ AX, AX", f"\tJZ store{lbl}"]
    for i in range(r):
        o += [f"\tVADDPD {CADDR[i]}, Y{2 * i}, Y{2 * i}", f"\tVADDPD 32{CADDR[i]}, Y{2 * i + 1}, Y{2 * i + 1}"]
    o.append(f"store{lbl}:")
    for i in range(r):
        o += [f"\tVMOVUPD Y{2 * i}, {CADDR[i]}", f"\tVMOVUPD Y{2 * i + 1}, 32{CADDR[i]}"]
    o += ["\tVZEROUPPER", "\tRET", ""]
    return o


out = ["// Code generated by testdata/gen_gemm.py; DO NOT EDIT.", "", "//go:build amd64", "",
       '#include "textflag.h"', "",
       "// Tile kernels of Gemm and GemmGather: an r×8 block of C = A·B (+ C).",
       "// Accumulators Y0..Y11 (two per row and stream), B's row in Y12 and Y13,",
       "// broadcasts of A in Y14 and Y15. SI walks A along p (by csA, R11); R8 =",
       "// rsA, R9 = 3·rsA, R10 = 5·rsA in bytes. Gemm walks B by rows (BX, by",
       "// ldb in DX); GemmGather reads row p at b + off[p] (R12 walks off) and",
       "// its second half DX = half further on. With acc, the old C is added",
       "// last. See testdata/gen_gemm.py for the summation order.", ""]
for gather in (False, True):
    for r in (6, 4, 2, 1):
        out += kernel(r, gather)
for r in (6, 4, 2, 1):
    out += kernel_gather_a(r)
print("\n".join(out))
