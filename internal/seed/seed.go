package seed

import (
	"crypto/sha256"
	"encoding/binary"
)

// golden is SplitMix64's increment, 2^64 divided by the golden ratio.
const golden = 0x9e3779b97f4a7c15

// Finalise is SplitMix64's output function (Stafford's variant 13), a
// bijection of 64 bits whose outputs pass statistical tests of randomness
// for consecutive inputs. Mix and Combine are built on it; it serves as a
// hash where a key is chained through several words.
func Finalise(x uint64) uint64 {
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Mix returns SplitMix64 of x: the finaliser applied to x + 0x9e3779b97f4a7c15.
// It is a bijection, so distinct inputs give distinct outputs.
func Mix(x uint64) uint64 { return Finalise(x + golden) }

// Combine derives one 64-bit seed from two: the SplitMix64 finaliser of
// a ^ (b + 0x9e3779b97f4a7c15)·0xbf58476d1ce4e5b9. For a fixed a it is a
// bijection of b, so the seeds of runs or ranks 0, 1, 2, … differ.
func Combine(a, b uint64) uint64 { return Finalise(a ^ (b+golden)*0xbf58476d1ce4e5b9) }

// Label packs the first eight bytes of s, big-endian and padded with zero
// bytes, into a word: Label("noise") = 0x6e6f697365000000 and
// Label("dpmpi-no") = 0x64706d70692d6e6f. It names a stream in hexadecimal
// dumps.
func Label(s string) uint64 {
	var b [8]byte
	copy(b[:], s)
	return binary.BigEndian.Uint64(b[:])
}

// ForRank returns the seed of rank's stream named label: s ^ (Label(label)
// + rank). The ranks of one job get distinct seeds, which differ from s
// and from those of other labels.
func ForRank(s uint64, label string, rank int) uint64 { return s ^ (Label(label) + uint64(rank)) }

// Key returns a 32-byte generator key (for math/rand/v2's ChaCha8): the
// SHA-256 digest of label followed by a and b as little-endian words.
// label keeps the keys of different uses apart.
func Key(label string, a, b uint64) [32]byte {
	h := sha256.New()
	h.Write([]byte(label))
	var buf [16]byte
	binary.LittleEndian.PutUint64(buf[:8], a)
	binary.LittleEndian.PutUint64(buf[8:], b)
	h.Write(buf[:])
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// ChaCha8Key returns the ChaCha8 key of a plain seed: s as the first eight
// bytes, little-endian, and zeros after them.
func ChaCha8Key(s uint64) [32]byte {
	var k [32]byte
	binary.LittleEndian.PutUint64(k[:8], s)
	return k
}
