package optimizer

import (
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"

	"github.com/dpmpi/dpmpi/internal/prec"
)

// Generator is a source of standard normal variates. *rand.Rand from
// math/rand/v2 satisfies it.
//
// A Generator is used by one goroutine at a time.
type Generator interface {
	// NormFloat64 returns a normally distributed float64 with mean 0 and
	// standard deviation 1.
	NormFloat64() float64
}

// seededStream is the second PCG word of NewSeededGenerator: the ASCII bytes
// of "dpmpi-no" (noise), seed.Label("dpmpi-no") (TestSeededStreamLabel), so
// that the noise stream of a seed differs from a plain rand.NewPCG(seed, 0)
// stream used elsewhere.
const seededStream = 0x6470_6d70_692d_6e6f

// NewSeededGenerator returns a reproducible Generator. Its stream is exactly
// rand.New(rand.NewPCG(seed, 0x64706d70692d6e6f)).NormFloat64(): the same
// seed gives the same noise, bit for bit, on every platform and Go release
// that keeps math/rand/v2's PCG and NormFloat64 unchanged. It is not
// cryptographically secure and is refused in secure mode.
func NewSeededGenerator(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seededStream))
}

// SecureGenerator is a Generator backed by ChaCha8 (math/rand/v2) keyed
// with 32 bytes from crypto/rand. It cannot be seeded by the caller. The
// zero value is not usable; call NewSecureGenerator.
type SecureGenerator struct {
	r       *rand.Rand
	keys    [][32]byte      // per-block keys of the current AddNormal
	streams []*chachaStream // one per goroutine, reused across calls
}

// chachaStream is a reusable ChaCha8-backed Generator for one goroutine.
type chachaStream struct {
	keys *[][32]byte
	c    rand.ChaCha8
	*rand.Rand
}

func (s *chachaStream) reseed(b int) { s.c.Seed((*s.keys)[b]) }

// NewSecureGenerator returns a SecureGenerator keyed from the operating
// system's entropy source. It fails only if crypto/rand fails.
func NewSecureGenerator() (*SecureGenerator, error) {
	var key [32]byte
	if _, err := crand.Read(key[:]); err != nil {
		return nil, fmt.Errorf("optimizer: keying the secure noise generator from crypto/rand: %w", err)
	}
	return &SecureGenerator{r: rand.New(rand.NewChaCha8(key))}, nil
}

// NormFloat64 returns a standard normal variate.
func (g *SecureGenerator) NormFloat64() float64 { return g.r.NormFloat64() }

// AddNormal adds std·N(0, 1) noise to every element of dst (see AddNoise for
// secure). Each NoiseBlock-long block is drawn from its own ChaCha8 stream,
// keyed with 32 bytes from the generator's main stream, so blocks can be
// filled in parallel without weakening the generator.
func (g *SecureGenerator) AddNormal(dst []float64, std float64, secure bool) {
	addSecureNormal(g, dst, std, secure)
}

// addNormal32 is AddNormal on float32 values, drawn and added in float64
// and rounded once (see AddNoise).
func (g *SecureGenerator) addNormal32(dst []float32, std float64, secure bool) {
	addSecureNormal(g, dst, std, secure)
}

// addSecureNormal is AddNormal in precision F.
func addSecureNormal[F Float](g *SecureGenerator, dst []F, std float64, secure bool) {
	if std == 0 {
		return
	}
	nb := (len(dst) + NoiseBlock - 1) / NoiseBlock
	if cap(g.keys) < nb {
		g.keys = make([][32]byte, nb)
	}
	g.keys = g.keys[:nb]
	for b := range g.keys {
		for j := 0; j < 32; j += 8 {
			binary.LittleEndian.PutUint64(g.keys[b][j:], g.r.Uint64())
		}
	}
	for len(g.streams) < runtime.GOMAXPROCS(0) {
		s := &chachaStream{keys: &g.keys}
		s.Rand = rand.New(&s.c)
		g.streams = append(g.streams, s)
	}
	fillBlocks(dst, func(w int) blockStream { return g.streams[w] }, std, secure)
}

// AddNoise adds independent N(0, std²) noise to every element of dst, drawn
// from g. std = 0 adds nothing and draws nothing. A g that implements
// VectorGenerator (BlockGenerator, SecureGenerator) fills dst itself, in
// parallel blocks; any other Generator is drawn from one variate at a time.
//
// In secure mode each element receives (n₁+n₂+n₃+n₄)/2·std from four fresh
// draws, which is again N(0, std²) but hides the gaps of a single
// floating-point Gaussian sample (Holohan & Braghin 2021, as in Opacus's
// secure mode), and each stream first draws one variate and discards it.
// Opacus draws four whole tensors one after the other; here the four draws
// of an element are consecutive, which gives the same distribution. Secure
// mode costs about four times the draws.
//
// For F = float32 the noise is drawn in float64 from the same streams and
// added in float64, and only the sum is rounded: dst[i] becomes
// float32(float64(dst[i]) + z_i). The float32 result is thus a function of
// the float64 mechanism's output, as private as it by post-processing.
// Rounding z_i to float32 and adding in float32 would be another mechanism,
// whose reachable outputs depend on the input (the floating-point attacks
// on noise, Mironov 2012). The float32 path needs a float64 copy of dst,
// which AddNoise allocates; an Engine keeps one instead.
func AddNoise[F Float](dst []F, std float64, g Generator, secure bool) {
	var scratch []float64
	addNoise(dst, std, g, secure, &scratch)
}

// addNoise is AddNoise with the float64 buffer of the float32 path in
// *scratch, grown when it is too short.
func addNoise[F Float](dst []F, std float64, g Generator, secure bool, scratch *[]float64) {
	if std == 0 {
		return
	}
	if !prec.Is32[F]() {
		addNoise64(prec.As64(dst), std, g, secure)
		return
	}
	d := prec.As32(dst)
	if v, ok := g.(vectorGenerator32); ok {
		v.addNormal32(d, std, secure)
		return
	}
	if cap(*scratch) < len(d) {
		*scratch = make([]float64, len(d))
	}
	w := (*scratch)[:len(d)]
	for i, v := range d {
		w[i] = float64(v)
	}
	addNoise64(w, std, g, secure)
	for i, v := range w {
		d[i] = float32(v)
	}
}

// vectorGenerator32 is a VectorGenerator that adds its float64 noise to
// float32 values in the same pass, rounding each sum once, with the draws
// AddNormal would make: no float64 copy of the vector.
type vectorGenerator32 interface {
	addNormal32(dst []float32, std float64, secure bool)
}

// addNoise64 is AddNoise for float64.
func addNoise64(dst []float64, std float64, g Generator, secure bool) {
	if v, ok := g.(VectorGenerator); ok {
		v.AddNormal(dst, std, secure)
		return
	}
	addNoiseSeq(dst, std, g, secure)
}

// addNoiseSeq is AddNoise drawing sequentially from g, in float64: each
// element becomes F(float64(dst[i]) + std·z), one rounding for float32 and
// none beyond the float64 sum's for float64.
func addNoiseSeq[F Float](dst []F, std float64, g Generator, secure bool) {
	if !secure {
		for i, v := range dst {
			dst[i] = F(float64(v) + std*g.NormFloat64())
		}
		return
	}
	_ = g.NormFloat64()
	h := std / 2
	for i, v := range dst {
		s := g.NormFloat64() + g.NormFloat64()
		s += g.NormFloat64()
		s += g.NormFloat64()
		dst[i] = F(float64(v) + h*s)
	}
}
