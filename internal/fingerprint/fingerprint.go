package fingerprint

import (
	"encoding/binary"
	"hash"
	"math"
)

// Hasher writes values into a hash.Hash in a fixed little-endian encoding
// (see the package documentation). Its methods never fail: a hash.Hash's
// Write never returns an error.
type Hasher struct {
	hash.Hash
	b [8]byte
}

// NewHasher returns a Hasher writing into h.
func NewHasher(h hash.Hash) *Hasher { return &Hasher{Hash: h} }

// Uint64 writes v as 8 little-endian bytes.
func (h *Hasher) Uint64(v uint64) {
	binary.LittleEndian.PutUint64(h.b[:], v)
	h.Write(h.b[:])
}

// Float64s writes the IEEE 754 bits of each value as a Uint64.
func (h *Hasher) Float64s(v ...float64) {
	for _, x := range v {
		h.Uint64(math.Float64bits(x))
	}
}

// Slots is the number of float64 values one fingerprint takes in the
// reduction buffer of Put and Differ.
const Slots = 8

// Put writes the fingerprints fps into buf[:Slots*len(fps)], ready to be
// summed over the ranks. It panics if buf is shorter.
func Put(buf []float64, fps []uint64) {
	buf = buf[:Slots*len(fps)]
	for i, v := range fps {
		for c := range 4 {
			x := chunk(v, c)
			buf[Slots*i+c] = x
			buf[Slots*i+4+c] = x * x
		}
	}
}

// Differ returns, in increasing order, the indices of the fingerprints of
// fps on which some of the world ranks differ from this one, given sum, the
// sum over the ranks of the buffers each filled with Put. Every rank gets
// the same indices. It panics if sum is shorter than Slots*len(fps).
func Differ(sum []float64, fps []uint64, world int) []int {
	sum = sum[:Slots*len(fps)]
	w := float64(world)
	var differ []int
	for i, v := range fps {
		for c := range 4 {
			x := chunk(v, c)
			if sum[Slots*i+c] != w*x || sum[Slots*i+4+c] != w*x*x {
				differ = append(differ, i)
				break
			}
		}
	}
	return differ
}

// chunk returns the c-th 16-bit chunk of v as a float64.
func chunk(v uint64, c int) float64 { return float64((v >> (16 * c)) & 0xffff) }
