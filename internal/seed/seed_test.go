package seed

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
)

// The old formulas, copied from the call sites before they moved here, so
// that every derived stream is pinned bit for bit against the new path.

// oldSplitMix is optimizer/blocknoise.go's splitMix.
func oldSplitMix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// oldAuditMix is audit/experiment.go's mix.
func oldAuditMix(a, b uint64) uint64 {
	x := a ^ (b+0x9e3779b97f4a7c15)*0xbf58476d1ce4e5b9
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// oldDataDerive is data/sampler.go's derive.
func oldDataDerive(label string, a, b uint64) [32]byte {
	h := sha256.New()
	h.Write([]byte(label))
	var buf [16]byte
	binary.LittleEndian.PutUint64(buf[:8], a)
	binary.LittleEndian.PutUint64(buf[8:], b)
	h.Write(buf[:])
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return k
}

// oldNNKey is nn.Sequential.Init's key.
func oldNNKey(seed uint64) [32]byte {
	var key [32]byte
	for i := 0; i < 8; i++ {
		key[i] = byte(seed >> (8 * i))
	}
	return key
}

// oldSeededStream is optimizer/noise.go's seededStream.
const oldSeededStream = 0x6470_6d70_692d_6e6f

// oldDptrainNoise is cmd/dptrain/setup.go's per-rank noise seed.
func oldDptrainNoise(seed uint64, rank int) uint64 {
	return seed ^ (0x6e6f697365000000 + uint64(rank))
}

var inputs = []uint64{0, 1, 2, 42, 1 << 32, 0x9e3779b97f4a7c15, 1<<63 + 7, ^uint64(0)}

func TestPinnedFormulas(t *testing.T) {
	if Label("dpmpi-no") != oldSeededStream {
		t.Errorf("Label(dpmpi-no) = %#x, want %#x", Label("dpmpi-no"), uint64(oldSeededStream))
	}
	for _, a := range inputs {
		if got, want := Mix(a), oldSplitMix(a); got != want {
			t.Errorf("Mix(%#x) = %#x, old splitMix %#x", a, got, want)
		}
		if got, want := ChaCha8Key(a), oldNNKey(a); got != want {
			t.Errorf("ChaCha8Key(%#x) = %x, old nn key %x", a, got, want)
		}
		for _, b := range inputs {
			// optimizer: the call key and the block stream word.
			if got, want := Mix(a^Mix(b)), oldSplitMix(a^oldSplitMix(b)); got != want {
				t.Errorf("call key(%#x, %#x) = %#x, old %#x", a, b, got, want)
			}
			if got, want := Mix(b^Label("dpmpi-no")), oldSplitMix(b^oldSeededStream); got != want {
				t.Errorf("block word(%#x) = %#x, old %#x", b, got, want)
			}
			if got, want := Combine(a, b), oldAuditMix(a, b); got != want {
				t.Errorf("Combine(%#x, %#x) = %#x, old audit mix %#x", a, b, got, want)
			}
			for _, label := range []string{"dpmpi/data.Sampler stream", "dpmpi/data.Sampler shuffle", ""} {
				if got, want := Key(label, a, b), oldDataDerive(label, a, b); got != want {
					t.Errorf("Key(%q, %#x, %#x) = %x, old derive %x", label, a, b, got, want)
				}
			}
		}
		for _, rank := range []int{0, 1, 7, 1023} {
			if got, want := ForRank(a, "noise", rank), oldDptrainNoise(a, rank); got != want {
				t.Errorf("ForRank(%#x, noise, %d) = %#x, old %#x", a, rank, got, want)
			}
		}
	}
}

// TestDistinct checks the properties the godoc promises: Mix, Combine and
// ForRank separate nearby inputs, and Label pads and truncates.
func TestDistinct(t *testing.T) {
	seen := map[uint64]string{}
	add := func(v uint64, what string) {
		if prev, ok := seen[v]; ok {
			t.Errorf("%s and %s both give %#x", what, prev, v)
		}
		seen[v] = what
	}
	for i := uint64(0); i < 64; i++ {
		add(Mix(i), "Mix")
	}
	seen = map[uint64]string{}
	for r := 0; r < 64; r++ {
		add(Combine(5, uint64(r)), "Combine")
		add(ForRank(5, "noise", r), "ForRank noise")
		add(ForRank(5, "other", r), "ForRank other")
	}
	tests := []struct {
		s    string
		want uint64
	}{
		{"", 0},
		{"a", 0x6100000000000000},
		{"noise", 0x6e6f697365000000},
		{"dpmpi-noise", 0x64706d70692d6e6f},
	}
	for _, tt := range tests {
		if got := Label(tt.s); got != tt.want {
			t.Errorf("Label(%q) = %#x, want %#x", tt.s, got, tt.want)
		}
	}
	if Key("a", 1, 2) == Key("b", 1, 2) || Key("a", 1, 2) == Key("a", 2, 1) {
		t.Error("Key does not separate labels or word order")
	}
}
