// Package fingerprint condenses values that must agree — between the ranks
// of a job, or between a step and its re-execution — into 64-bit hashes,
// and checks in one sum-allreduce that every rank holds the same ones.
//
// A Hasher writes numbers into any hash.Hash in one fixed encoding, so that
// equal values give equal hashes on every rank and platform:
//
//	f := fnv.New64a()
//	h := fingerprint.NewHasher(f)
//	h.Uint64(uint64(len(layers)))
//	h.Float64s(thresholds...)
//	fp := f.Sum64()
//
// Put writes fingerprints into a float64 buffer that every rank then sums
// with an AllreduceSum (each rank writing the same positions); Differ reads
// the sum and returns the fingerprints on which some rank differs:
//
//	buf := make([]float64, fingerprint.Slots*len(fps))
//	fingerprint.Put(buf, fps)
//	comm.AllreduceSum(buf)
//	for _, i := range fingerprint.Differ(buf, fps, world) { ... names[i] ... }
//
// Every rank learns the same answer, so all of them can fail together.
//
// # Implementation
//
// A Hasher writes a uint64 as its 8 little-endian bytes and a float64 as
// the little-endian bytes of its IEEE 754 bits (so -0 and 0 differ, and a
// NaN equals itself when its bits do).
//
// Put splits each 64-bit fingerprint into four 16-bit chunks x, each held
// as an exact small integer, and writes every chunk both as x and as x².
// After the sum over W ranks, all ranks hold the same chunk x iff Σ_r x_r =
// W·x and Σ_r x_r² = W·x² (Σ_r (x_r − x)² = Σx_r² − 2xΣx_r + Wx² = 0). With
// chunks below 2¹⁶ and squares below 2³² every sum is exact in float64 for
// up to 2²⁰ ranks, whatever the order of the additions.
package fingerprint
