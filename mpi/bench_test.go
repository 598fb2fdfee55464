package mpi_test

import (
	"fmt"
	"testing"

	"github.com/dpmpi/dpmpi/mpi"
	"github.com/dpmpi/dpmpi/mpi/mpitest"
)

var benchSizes = []int{8, 1 << 10, 8 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20}

// BenchmarkAllreduce measures the binding's in-place sum-Allreduce with the
// default chunking, from 8 B to 64 MiB.
func BenchmarkAllreduce(b *testing.B) {
	for _, bytes := range benchSizes {
		b.Run(fmt.Sprintf("bytes=%d", bytes), func(b *testing.B) {
			c := mpitest.BenchWorld(b)
			buf := make([]float64, bytes/8)
			b.SetBytes(int64(bytes))
			b.ResetTimer()
			for range b.N {
				if err := c.AllreduceSum(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAllreduceChunk reduces a 64 MiB buffer with chunk sizes from
// 64 KiB to 64 MiB (one call): the measurement behind DefaultChunkBytes.
func BenchmarkAllreduceChunk(b *testing.B) {
	const bytes = 64 << 20
	for _, chunk := range []int{64 << 10, 256 << 10, 512 << 10, 1 << 20, 2 << 20, 4 << 20, 16 << 20, 64 << 20} {
		b.Run(fmt.Sprintf("chunk=%d", chunk), func(b *testing.B) {
			c := mpitest.BenchWorld(b)
			defer func() { c.ChunkBytes = mpi.DefaultChunkBytes }()
			c.ChunkBytes = chunk
			buf := make([]float64, bytes/8)
			b.SetBytes(bytes)
			b.ResetTimer()
			for range b.N {
				if err := c.AllreduceSum(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIallreduce measures a non-blocking reduction started and waited
// for at once: the overhead of requests and pinning over AllreduceSum.
func BenchmarkIallreduce(b *testing.B) {
	for _, bytes := range []int{64 << 10, 1 << 20, 16 << 20} {
		b.Run(fmt.Sprintf("bytes=%d", bytes), func(b *testing.B) {
			c := mpitest.BenchWorld(b)
			buf := make([]float64, bytes/8)
			b.SetBytes(int64(bytes))
			b.ResetTimer()
			for range b.N {
				wait, err := c.IallreduceSum(buf)
				if err != nil {
					b.Fatal(err)
				}
				if err := wait(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAllreduceFloat32 is BenchmarkAllreduce on float32 buffers of the
// same byte sizes (twice the elements): MPI_FLOAT sums against MPI_DOUBLE.
func BenchmarkAllreduceFloat32(b *testing.B) {
	for _, bytes := range benchSizes {
		b.Run(fmt.Sprintf("bytes=%d", bytes), func(b *testing.B) {
			c := mpi.For[float32](mpitest.BenchWorld(b))
			buf := make([]float32, bytes/4)
			b.SetBytes(int64(bytes))
			b.ResetTimer()
			for range b.N {
				if err := c.AllreduceSum(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
