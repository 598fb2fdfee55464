package data

import (
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/dpmpi/dpmpi/internal/seed"
)

// SamplerConfig configures a Sampler.
type SamplerConfig struct {
	// N is the dataset size; it must be positive.
	N int
	// Rate is the Poisson sampling rate q in (0, 1]: at every step each
	// sample of the rank's shard is included independently with
	// probability q.
	Rate float64
	// Steps is the number of steps per epoch. Zero means round(1/q), which
	// is m when q = 1/m (Opacus' int(1/q) gives m−1 for many m, see
	// StepsPerEpoch).
	Steps int
	// Rank and World place this process among World ranks (World 0 or 1 is
	// a single process). Rank r samples from the strided shard perm[r::World]
	// of a permutation shared by all ranks, with its own random stream.
	Rank, World int
	// Seed seeds the sampling stream; the stream of rank r is derived from
	// (Seed, r) so ranks draw independently. Ignored when Secure is set.
	Seed uint64
	// Secure seeds the stream from the operating system's CSPRNG
	// (crypto/rand) instead of Seed. The stream is ChaCha8, itself a
	// CSPRNG. A saved state then reveals future batches: keep it secret.
	Secure bool
	// Shuffle makes the shard of epoch e a strided slice of a random
	// permutation seeded with (ShuffleSeed, e), identical on all ranks;
	// without it the shard is the strided slice of 0, 1, …, N−1.
	Shuffle     bool
	ShuffleSeed uint64
}

// Sampler draws Poisson-sampled batches of dataset indices, one per step,
// forever; an epoch is StepsPerEpoch steps. Batches are sorted and may be
// empty; empty batches are yielded like any other, so every rank of a
// distributed run takes the same number of steps. A Sampler is not safe for
// concurrent use.
type Sampler struct {
	cfg   SamplerConfig
	steps int
	epoch int
	step  int
	src   *rand.ChaCha8
	rng   *rand.Rand
	shard []int
}

// StepsPerEpoch returns round(1/q), the number of Poisson steps in an epoch
// at rate q. Opacus uses int(1/q), which for q = 1/m is m−1 for 5,849 values
// of m below 100,000 (93, 99, 105, …); rounding gives m.
func StepsPerEpoch(q float64) int { return int(math.Round(1 / q)) }

// RateForBatchSize returns the sampling rate and steps per epoch that
// Opacus derives from a data loader of n samples and batch size b: the
// loader has m = ⌈n/b⌉ batches, q = 1/m and m steps per epoch. It returns
// an error if n or b is not positive.
func RateForBatchSize(n, b int) (q float64, steps int, err error) {
	if n <= 0 || b <= 0 {
		return 0, 0, fmt.Errorf("data: RateForBatchSize: dataset size %d and batch size %d must be positive", n, b)
	}
	m := (n + b - 1) / b
	return 1 / float64(m), m, nil
}

// NewSampler validates cfg and returns a sampler positioned at epoch 0,
// step 0.
func NewSampler(cfg SamplerConfig) (*Sampler, error) {
	if cfg.N <= 0 {
		return nil, fmt.Errorf("data: sampler: dataset size N = %d must be positive", cfg.N)
	}
	if !(cfg.Rate > 0 && cfg.Rate <= 1) {
		return nil, fmt.Errorf("data: sampler: rate %v must be in (0, 1]", cfg.Rate)
	}
	if cfg.Steps < 0 {
		return nil, fmt.Errorf("data: sampler: steps %d must be non-negative (0 means round(1/rate))", cfg.Steps)
	}
	if cfg.World == 0 {
		cfg.World = 1
	}
	if cfg.World < 0 || cfg.Rank < 0 || cfg.Rank >= cfg.World {
		return nil, fmt.Errorf("data: sampler: rank %d is not in [0, world size %d)", cfg.Rank, cfg.World)
	}
	s := &Sampler{cfg: cfg, steps: cfg.Steps}
	if s.steps == 0 {
		s.steps = StepsPerEpoch(cfg.Rate)
	}
	var key [32]byte
	if cfg.Secure {
		if _, err := crand.Read(key[:]); err != nil {
			return nil, fmt.Errorf("data: sampler: secure seed: %w", err)
		}
	} else {
		key = seed.Key("dpmpi/data.Sampler stream", cfg.Seed, uint64(cfg.Rank))
	}
	s.src = rand.NewChaCha8(key)
	s.rng = rand.New(s.src)
	s.shard = make([]int, 0, (cfg.N+cfg.World-1)/cfg.World)
	s.reshard()
	return s, nil
}

// NewPoisson returns a single-process Poisson sampler over n samples at
// rate q with round(1/q) steps per epoch, seeded with seed.
func NewPoisson(n int, q float64, seed uint64) (*Sampler, error) {
	return NewSampler(SamplerConfig{N: n, Rate: q, Seed: seed})
}

// reshard computes the shard of the current epoch.
func (s *Sampler) reshard() {
	c := s.cfg
	s.shard = s.shard[:0]
	if !c.Shuffle {
		for j := c.Rank; j < c.N; j += c.World {
			s.shard = append(s.shard, j)
		}
		return
	}
	perm := rand.New(rand.NewChaCha8(seed.Key("dpmpi/data.Sampler shuffle", c.ShuffleSeed, uint64(s.epoch)))).Perm(c.N)
	for j := c.Rank; j < c.N; j += c.World {
		s.shard = append(s.shard, perm[j])
	}
}

// StepsPerEpoch returns the number of steps in an epoch, the same on every
// rank.
func (s *Sampler) StepsPerEpoch() int { return s.steps }

// Rate returns the sampling rate q.
func (s *Sampler) Rate() float64 { return s.cfg.Rate }

// Shard returns the dataset indices this rank samples from in the current
// epoch. The slice must not be modified.
func (s *Sampler) Shard() []int { return s.shard }

// ExpectedBatchSize returns q times the shard size, the expected local batch
// size.
func (s *Sampler) ExpectedBatchSize() float64 { return s.cfg.Rate * float64(len(s.shard)) }

// Epoch and Step return the position of the next batch: step Step of epoch
// Epoch.
func (s *Sampler) Epoch() int { return s.epoch }

// Step returns the index within its epoch of the next batch.
func (s *Sampler) Step() int { return s.step }

// Next draws the next batch: the sorted indices of the shard samples
// selected with probability q, appended to dst[:0] (pass the previous
// batch to reuse its storage). It may return an empty batch.
func (s *Sampler) Next(dst []int) []int {
	dst = dst[:0]
	q := s.cfg.Rate
	for _, j := range s.shard {
		if s.rng.Float64() < q {
			dst = append(dst, j)
		}
	}
	if s.cfg.Shuffle {
		slices.Sort(dst) // in place, without allocating
	}
	s.step++
	if s.step == s.steps {
		s.step = 0
		s.epoch++
		if s.cfg.Shuffle {
			s.reshard()
		}
	}
	return dst
}

const samplerMagic = "dpmpi-sampler-v1"

// MarshalBinary encodes the sampler's configuration and position (epoch,
// step, generator state) so that UnmarshalBinary can resume the exact
// sequence of batches.
func (s *Sampler) MarshalBinary() ([]byte, error) {
	st, err := s.src.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("data: sampler: %w", err)
	}
	b := []byte(samplerMagic)
	c := s.cfg
	for _, v := range []uint64{uint64(c.N), math.Float64bits(c.Rate), uint64(s.steps), uint64(c.Rank), uint64(c.World), b2u(c.Shuffle), c.ShuffleSeed, uint64(s.epoch), uint64(s.step)} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return append(b, st...), nil
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// UnmarshalBinary restores a state saved by MarshalBinary into s, which must
// have been built with the same N, Rate, steps, Rank, World and shuffle
// settings; otherwise it returns an error naming the mismatch and leaves s
// unchanged.
func (s *Sampler) UnmarshalBinary(b []byte) error {
	const nf = 9
	if len(b) < len(samplerMagic)+8*nf || string(b[:len(samplerMagic)]) != samplerMagic {
		return fmt.Errorf("data: sampler state: %d bytes without the %q header; not a saved sampler state", len(b), samplerMagic)
	}
	f := make([]uint64, nf)
	for i := range f {
		f[i] = binary.LittleEndian.Uint64(b[len(samplerMagic)+8*i:])
	}
	c := s.cfg
	names := []string{"N", "rate", "steps per epoch", "rank", "world size", "shuffle", "shuffle seed"}
	have := []uint64{uint64(c.N), math.Float64bits(c.Rate), uint64(s.steps), uint64(c.Rank), uint64(c.World), b2u(c.Shuffle), c.ShuffleSeed}
	for i, name := range names {
		if f[i] != have[i] {
			return fmt.Errorf("data: sampler state was saved with %s %v, this sampler has %v; build the sampler with the saved configuration", name, fmtField(i, f[i]), fmtField(i, have[i]))
		}
	}
	epoch, step := f[7], f[8]
	if step >= uint64(s.steps) || epoch > math.MaxInt32 {
		return fmt.Errorf("data: sampler state: position epoch %d step %d is invalid for %d steps per epoch", epoch, step, s.steps)
	}
	src := new(rand.ChaCha8)
	if err := src.UnmarshalBinary(b[len(samplerMagic)+8*nf:]); err != nil {
		return fmt.Errorf("data: sampler state: generator: %w", err)
	}
	*s.src = *src
	s.epoch, s.step = int(epoch), int(step)
	s.reshard()
	return nil
}

func fmtField(i int, v uint64) any {
	if i == 1 {
		return math.Float64frombits(v)
	}
	return v
}
