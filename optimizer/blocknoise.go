package optimizer

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"runtime"

	"github.com/dpmpi/dpmpi/internal/seed"

	"github.com/dpmpi/dpmpi/internal/parallel"
)

// NoiseBlock is the number of consecutive coordinates a VectorGenerator
// fills from one stream. Blocks are the unit of parallel work: the noise of
// a block depends only on the generator's state and the block's index, never
// on how many goroutines fill the vector.
const NoiseBlock = 1 << 14

// A VectorGenerator adds Gaussian noise to a whole vector in one call, which
// lets it use several goroutines. AddNoise hands the vector to a Generator
// that implements VectorGenerator instead of drawing one variate at a time.
type VectorGenerator interface {
	Generator
	// AddNormal adds std·N(0, 1) to every element of dst; with secure set it
	// uses the four-draw construction described at AddNoise.
	AddNormal(dst []float64, std float64, secure bool)
}

// BlockGenerator is a reproducible VectorGenerator for large models. Call t
// of AddNormal (t = 0, 1, …) fills block b of the vector (coordinates
// [b·NoiseBlock, (b+1)·NoiseBlock)) from its own PCG stream whose 128-bit
// state is derived from (seed, t, b) by a SplitMix64 mix, and the blocks are
// spread over GOMAXPROCS goroutines. The same seed and the same sequence of
// calls and lengths give the same noise, bit for bit, whatever the number of
// goroutines. NormFloat64 draws from a separate sequential stream.
//
// It is not cryptographically secure and is refused in secure mode; the
// secure counterpart is SecureGenerator, which fills blocks in parallel the
// same way from per-block ChaCha8 keys. A BlockGenerator is used by one
// goroutine at a time. Its state (seed, call count and the sequential
// stream) round-trips through MarshalBinary and UnmarshalBinary, for
// checkpoints.
type BlockGenerator struct {
	seed    uint64
	calls   uint64
	pcg     *rand.PCG
	one     *rand.Rand
	streams []*pcgStream // one per goroutine, reused across calls
}

// pcgStream is a reusable PCG-backed Generator for one goroutine.
type pcgStream struct {
	key uint64
	pcg rand.PCG
	*rand.Rand
}

func (s *pcgStream) reseed(b int) { s.pcg.Seed(s.key, seed.Mix(uint64(b)^seededStream)) }

// NewBlockGenerator returns a BlockGenerator with the given seed.
func NewBlockGenerator(seed uint64) *BlockGenerator {
	p := rand.NewPCG(seed, seededStream)
	return &BlockGenerator{seed: seed, pcg: p, one: rand.New(p)}
}

// NormFloat64 returns one standard normal variate from the generator's
// sequential stream, which is independent of the block streams.
func (g *BlockGenerator) NormFloat64() float64 { return g.one.NormFloat64() }

// AddNormal adds std·N(0, 1) noise to every element of dst (see AddNoise for
// secure). std = 0 draws nothing and does not count as a call.
func (g *BlockGenerator) AddNormal(dst []float64, std float64, secure bool) {
	addBlockNormal(g, dst, std, secure)
}

// addNormal32 is AddNormal on float32 values, drawn and added in float64
// and rounded once: dst[i] = float32(float64(dst[i]) + std·z_i), the z_i
// those AddNormal would draw (see AddNoise).
func (g *BlockGenerator) addNormal32(dst []float32, std float64, secure bool) {
	addBlockNormal(g, dst, std, secure)
}

// addBlockNormal is AddNormal in precision F.
func addBlockNormal[F Float](g *BlockGenerator, dst []F, std float64, secure bool) {
	if std == 0 {
		return
	}
	key := seed.Mix(g.seed ^ seed.Mix(g.calls))
	g.calls++
	for len(g.streams) < runtime.GOMAXPROCS(0) {
		s := new(pcgStream)
		s.Rand = rand.New(&s.pcg)
		g.streams = append(g.streams, s)
	}
	for _, s := range g.streams {
		s.key = key
	}
	fillBlocks(dst, func(w int) blockStream { return g.streams[w] }, std, secure)
}

const blockGeneratorMagic = "dpmpi-blockgen1"

// MarshalBinary encodes the generator's state.
func (g *BlockGenerator) MarshalBinary() ([]byte, error) {
	p, err := g.pcg.MarshalBinary()
	if err != nil {
		return nil, err
	}
	b := append([]byte(blockGeneratorMagic), make([]byte, 16)...)
	binary.LittleEndian.PutUint64(b[len(blockGeneratorMagic):], g.seed)
	binary.LittleEndian.PutUint64(b[len(blockGeneratorMagic)+8:], g.calls)
	return append(b, p...), nil
}

// UnmarshalBinary restores a state written by MarshalBinary.
func (g *BlockGenerator) UnmarshalBinary(data []byte) error {
	n := len(blockGeneratorMagic)
	if len(data) < n+16 || string(data[:n]) != blockGeneratorMagic {
		return errors.New("optimizer: BlockGenerator.UnmarshalBinary: not a BlockGenerator state")
	}
	p := new(rand.PCG)
	if err := p.UnmarshalBinary(data[n+16:]); err != nil {
		return errors.New("optimizer: BlockGenerator.UnmarshalBinary: corrupt sequential stream state")
	}
	g.seed = binary.LittleEndian.Uint64(data[n:])
	g.calls = binary.LittleEndian.Uint64(data[n+8:])
	g.pcg, g.one = p, rand.New(p)
	return nil
}

// A blockStream is a Generator that can be set to the start of block b's
// stream.
type blockStream interface {
	Generator
	reseed(b int)
}

// fillBlocks adds noise to dst block by block, the blocks spread over up to
// GOMAXPROCS goroutines in fixed contiguous ranges; stream(w) returns the
// stream goroutine w uses, which it reseeds at the start of every block.
func fillBlocks[F Float](dst []F, stream func(w int) blockStream, std float64, secure bool) {
	nb := (len(dst) + NoiseBlock - 1) / NoiseBlock
	fill := func(w, lo, hi int) {
		s := stream(w)
		for b := lo; b < hi; b++ {
			s.reseed(b)
			addNoiseSeq(dst[b*NoiseBlock:min((b+1)*NoiseBlock, len(dst))], std, s, secure)
		}
	}
	parallel.Split(nb, min(runtime.GOMAXPROCS(0), nb), fill)
}
