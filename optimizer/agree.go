package optimizer

import (
	"fmt"
	"hash/fnv"
	"math"
	"strings"

	"github.com/dpmpi/dpmpi/internal/fingerprint"
	"github.com/dpmpi/dpmpi/internal/mutant"
	"github.com/dpmpi/dpmpi/internal/prec"
)

// statusSlots is the number of per-rank values in the status vector every
// real step reduces: a non-finite flag, the layer index and the sample
// index. Rank r writes slots [3r, 3r+3); the others stay zero, so the sum
// over ranks carries every rank's report.
const statusSlots = 3

// The first real step also reduces a fingerprint of the configuration:
// fingerprintFields 64-bit values, which internal/fingerprint carries
// through the sum exactly (fingerprint.Slots values each).
const (
	fingerprintFields = 9
	fingerprintSlots  = fingerprintFields * fingerprint.Slots
)

var fingerprintNames = [fingerprintFields]string{
	"layer count", "parameter count", "layer sizes", "clipping thresholds",
	"noise multiplier", "expected batch size", "loss reduction", "noise mode",
	"precision",
}

func (e *Engine[F]) fingerprint() [fingerprintFields]uint64 {
	f := fnv.New64a()
	h := fingerprint.NewHasher(f)
	for _, l := range e.arena.Layers {
		h.Uint64(uint64(l.Len))
	}
	layers := f.Sum64()
	f.Reset()
	if e.clip.perLayer {
		h.Write([]byte("per-layer"))
	} else {
		h.Write([]byte("flat"))
	}
	h.Float64s(e.clip.thresholds...)
	if a := e.adapt; a != nil {
		h.Write([]byte("adaptive"))
		h.Float64s(a.q.TargetQuantile, a.q.LearningRate, a.q.CountNoiseStd)
		if a.q.KeepTotal {
			h.Write([]byte("keep-total"))
		}
	}
	thresholds := f.Sum64()
	f.Reset()
	h.Write([]byte(e.cfg.LossReduction))
	reduction := f.Sum64()
	f.Reset()
	h.Write([]byte(e.cfg.NoiseMode))
	return [fingerprintFields]uint64{
		uint64(len(e.arena.Layers)), uint64(len(e.arena.Params)), layers, thresholds,
		math.Float64bits(e.cfg.NoiseMultiplier), math.Float64bits(e.cfg.ExpectedBatchSize), reduction, f.Sum64(),
		uint64(prec.Size[F]()),
	}
}

// sharedStream reports, under ShardedNoise, the first two ranks whose
// generator probes are equal: with independent streams two equal float64
// variates are practically impossible, so equality means the ranks share a
// stream. A single rank has nothing to compare.
func sharedStream(mode NoiseMode, probes []float64) (r1, r2 int, ok bool) {
	if mode != ShardedNoise {
		return 0, 0, false
	}
	for i := range probes {
		for j := i + 1; j < len(probes); j++ {
			if probes[i] == probes[j] {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

// noiseCounts stores this rank's centred clipped counts in dst, with rank
// 0's noise N(0, CountNoiseStd²) added to each. The variates come from the
// generator's NormFloat64, one at a time (the secure construction in secure
// mode), never through VectorGenerator.AddNormal: a BlockGenerator keys the
// gradient's noise by its count of AddNormal calls, which the counts thus
// leave alone, so the gradient noise of a step does not depend on whether
// the counts were noised before or after it (the hooks optimizer does
// either, depending on the step).
func (e *Engine[F]) noiseCounts(dst []float64) {
	copy(dst, e.adapt.counts)
	if e.rank == 0 && e.adapt.q.CountNoiseStd > 0 && !mutant.NoNoise {
		addNoiseSeq(dst, e.adapt.q.CountNoiseStd, e.cfg.Generator, e.cfg.SecureMode)
	}
}

// collectiveCheck reports a non-finite gradient seen on any rank and, at
// the first real step, a configuration that differs between ranks. In
// distributed mode it performs one small AllreduceSum on every rank, so
// every rank returns the same kind of error in the same step.
func (e *Engine[F]) collectiveCheck() error {
	if e.comm == nil {
		if e.bad != nil {
			err := *e.bad
			return &err
		}
		if e.adapt != nil {
			e.noiseCounts(e.adapt.noisy)
		}
		return nil
	}
	counts := statusSlots * e.size // the clipped counts' slots
	fpAt := counts + e.countSlots()
	n := fpAt
	if !e.agreed {
		n += fingerprintSlots + e.probeSlots()
	}
	st := e.status[:n]
	clear(st)
	if e.bad != nil {
		o := statusSlots * e.rank
		st[o], st[o+1], st[o+2] = 1, float64(e.bad.LayerIndex), float64(e.bad.Sample)
	}
	if e.adapt != nil {
		e.noiseCounts(st[counts:fpAt])
	}
	var fp [fingerprintFields]uint64
	if !e.agreed {
		fp = e.fingerprint()
		fingerprint.Put(st[fpAt:], fp[:])
		st[fpAt+fingerprintSlots+e.rank] = e.probe
	}
	if err := e.comm.AllreduceSumFloat64(st); err != nil {
		return fmt.Errorf("optimizer: step %d on rank %d: sum-allreduce of the step status: %w", e.steps, e.rank, err)
	}
	if e.adapt != nil {
		copy(e.adapt.noisy, st[counts:fpAt])
	}
	if !e.agreed {
		var differ []string
		for _, i := range fingerprint.Differ(st[fpAt:], fp[:], e.size) {
			differ = append(differ, fingerprintNames[i])
		}
		if len(differ) > 0 {
			return fmt.Errorf("optimizer: first step on rank %d of %d: the ranks disagree on the %s (this rank: float%d, %d layers, %d parameters, thresholds %v, σ %v, expected batch size %v, reduction %q); build the optimizer with identical arguments and the same element type on every rank",
				e.rank, e.size, strings.Join(differ, ", "), 8*prec.Size[F](), len(e.arena.Layers), len(e.arena.Params), e.clip.thresholds, e.cfg.NoiseMultiplier, e.cfg.ExpectedBatchSize, e.cfg.LossReduction)
		}
		if r1, r2, ok := sharedStream(e.cfg.NoiseMode, st[fpAt+fingerprintSlots:fpAt+fingerprintSlots+e.probeSlots()]); ok {
			return fmt.Errorf("optimizer: first step on rank %d of %d: ranks %d and %d draw the same noise stream under %q noise, which would correlate the noise of their slices; give every rank its own generator (for example NewBlockGenerator(seed ^ uint64(rank)), or nil for one keyed from the system's entropy)",
				e.rank, e.size, r1, r2, ShardedNoise)
		}
		e.agreed = true
	}
	for r := range e.size {
		o := statusSlots * r
		if st[o] != 0 {
			if r == e.rank && e.bad != nil {
				err := *e.bad
				return &err
			}
			l := int(st[o+1])
			name := ""
			if l >= 0 && l < len(e.arena.Layers) {
				name = e.arena.Layers[l].Name
			}
			return &NonFiniteError{Step: e.steps, Rank: r, Layer: name, LayerIndex: l, Sample: int(st[o+2])}
		}
	}
	return nil
}
