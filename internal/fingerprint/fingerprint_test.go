package fingerprint

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"testing"
)

// recorder is a hash.Hash that keeps what was written.
type recorder struct{ bytes.Buffer }

func (r *recorder) Sum(b []byte) []byte { return append(b, r.Bytes()...) }
func (r *recorder) Size() int           { return r.Len() }
func (r *recorder) BlockSize() int      { return 1 }

func TestHasherEncoding(t *testing.T) {
	tests := []struct {
		name  string
		write func(h *Hasher)
		want  []byte
	}{
		{"uint64", func(h *Hasher) { h.Uint64(0x0102030405060708) }, []byte{8, 7, 6, 5, 4, 3, 2, 1}},
		{"float64 one", func(h *Hasher) { h.Float64s(1) }, []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}},
		{"negative zero", func(h *Hasher) { h.Float64s(math.Copysign(0, -1)) }, []byte{0, 0, 0, 0, 0, 0, 0, 0x80}},
		{"two floats", func(h *Hasher) { h.Float64s(0, 2) }, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40}},
		{"raw bytes", func(h *Hasher) { h.Write([]byte("ab")); h.Uint64(1) }, []byte{'a', 'b', 1, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r recorder
			tt.write(NewHasher(&r))
			if !bytes.Equal(r.Bytes(), tt.want) {
				t.Errorf("wrote % x, want % x", r.Bytes(), tt.want)
			}
		})
	}
}

// sumOver simulates the sum-allreduce: each rank fills a buffer with Put,
// and the buffers are added.
func sumOver(ranks [][]uint64) []float64 {
	sum := make([]float64, Slots*len(ranks[0]))
	buf := make([]float64, len(sum))
	for _, fps := range ranks {
		Put(buf, fps)
		for i, v := range buf {
			sum[i] += v
		}
	}
	return sum
}

func TestDiffer(t *testing.T) {
	const x = 0x1234_5678_9abc_def0
	tests := []struct {
		name  string
		ranks [][]uint64 // each rank's fingerprints
		want  [][]int    // Differ on each rank
	}{
		{"one rank", [][]uint64{{x, 0, math.MaxUint64}}, [][]int{nil}},
		{"agree", [][]uint64{{x, 7}, {x, 7}, {x, 7}}, [][]int{nil, nil, nil}},
		{"second differs", [][]uint64{{x, 7}, {x, 8}}, [][]int{{1}, {1}}},
		{"both differ", [][]uint64{{x, 7}, {x + 1<<48, 8}, {x, 7}}, [][]int{{0, 1}, {0, 1}, {0, 1}}},
		// Σx_r = W·x on every rank's view, but the squares tell.
		{"sums alike", [][]uint64{{9}, {10}, {11}}, [][]int{{0}, {0}, {0}}},
		{"high chunk", [][]uint64{{1 << 63}, {0}}, [][]int{{0}, {0}}},
		{"all ones", [][]uint64{{math.MaxUint64}, {math.MaxUint64}}, [][]int{nil, nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum := sumOver(tt.ranks)
			for r, fps := range tt.ranks {
				if got := Differ(sum, fps, len(tt.ranks)); !slices.Equal(got, tt.want[r]) {
					t.Errorf("rank %d: Differ = %v, want %v", r, got, tt.want[r])
				}
			}
		})
	}
}

func TestPutShortBuffer(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Put into a short buffer did not panic")
		}
	}()
	Put(make([]float64, Slots-1), []uint64{1})
}

func ExampleDiffer() {
	// Two ranks fingerprint their configuration: the layer count and the
	// clipping thresholds.
	fps := func(layers int, thresholds ...float64) []uint64 {
		f := fnv.New64a()
		NewHasher(f).Float64s(thresholds...)
		return []uint64{uint64(layers), f.Sum64()}
	}
	rank0, rank1 := fps(4, 0.5, 0.5), fps(4, 0.5, 0.25)
	// Each fills its buffer; the AllreduceSum adds them.
	b0, b1 := make([]float64, 2*Slots), make([]float64, 2*Slots)
	Put(b0, rank0)
	Put(b1, rank1)
	for i := range b0 {
		b0[i] += b1[i]
	}
	names := []string{"layer count", "thresholds"}
	for _, i := range Differ(b0, rank0, 2) {
		fmt.Println("the ranks disagree on the", names[i])
	}
	// Output: the ranks disagree on the thresholds
}
