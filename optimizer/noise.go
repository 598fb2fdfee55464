package optimizer

import (
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
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
// of "dpmpi-no" (noise), so that the noise stream of a seed differs from a
// plain rand.NewPCG(seed, 0) stream used elsewhere.
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
	r *rand.Rand
}

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

// AddNoise adds independent N(0, std²) noise to every element of dst, drawn
// from g. std = 0 adds nothing and draws nothing.
//
// In secure mode every call first draws one variate and discards it, then
// each element receives (n₁+n₂+n₃+n₄)/2·std from four fresh draws, which is
// again N(0, std²) but hides the gaps of a single floating-point Gaussian
// sample (Holohan & Braghin 2021, as in Opacus's secure mode). Opacus draws
// four whole tensors one after the other; here the four draws of an
// element are consecutive, which gives the same distribution. Secure mode
// costs about four times the draws.
func AddNoise(dst []float64, std float64, g Generator, secure bool) {
	if std == 0 {
		return
	}
	if !secure {
		for i := range dst {
			dst[i] += std * g.NormFloat64()
		}
		return
	}
	_ = g.NormFloat64()
	h := std / 2
	for i := range dst {
		s := g.NormFloat64() + g.NormFloat64()
		s += g.NormFloat64()
		s += g.NormFloat64()
		dst[i] += h * s
	}
}
