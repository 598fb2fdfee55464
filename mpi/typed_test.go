package mpi_test

import (
	"testing"
	"unsafe"

	"github.com/dpmpi/dpmpi/mpi"
)

// fillTyped sets buf[i] = (rank+1)·(i+1) + offset, whose sum over W ranks is
// the exactly representable (i+1)·W(W+1)/2 + W·offset while it stays below
// 2^24 (float32's integers).
func fillTyped[F mpi.Float](buf []F, rank int, offset float64) {
	for i := range buf {
		buf[i] = F(float64((rank+1)*(i+1)) + offset)
	}
}

func checkTyped[F mpi.Float](t *testing.T, what string, got []F, size int, offset float64) {
	t.Helper()
	w := float64(size)
	for i, v := range got {
		if want := float64(i+1)*w*(w+1)/2 + w*offset; float64(v) != want {
			t.Fatalf("%s: element %d of %d = %v, want %v", what, i, len(got), v, want)
		}
	}
}

// testTyped runs the reductions and broadcasts of mpi.For[F] on c.
func testTyped[F mpi.Float](t *testing.T, c *mpi.Comm) {
	tc := mpi.For[F](c)
	rank, size := tc.Rank(), tc.Size()
	if rank != c.Rank() || size != c.Size() || tc.Comm() != c {
		t.Fatalf("typed view: rank %d of %d, want %d of %d", rank, size, c.Rank(), c.Size())
	}
	var z F
	elem := int(unsafe.Sizeof(z))
	defer func() { c.ChunkBytes = mpi.DefaultChunkBytes }()
	for _, l := range []struct {
		name     string
		n, chunk int
	}{
		{"empty", 0, mpi.DefaultChunkBytes},
		{"one", 1, mpi.DefaultChunkBytes},
		{"odd", 1001, mpi.DefaultChunkBytes},
		{"default-chunk+3", mpi.DefaultChunkBytes/elem + 3, mpi.DefaultChunkBytes},
		{"small-chunks-odd", 12345, elem * 1000},
		{"chunk-not-multiple-of-elem", 777, 102},
	} {
		c.ChunkBytes = l.chunk
		t.Run("AllreduceSum/"+l.name, func(t *testing.T) {
			buf := make([]F, l.n)
			fillTyped(buf, rank, 0.5)
			if err := tc.AllreduceSum(buf); err != nil {
				t.Fatal(err)
			}
			checkTyped(t, "in place", buf, size, 0.5)
		})
		t.Run("AllreduceSumTo/"+l.name, func(t *testing.T) {
			src, dst, want := make([]F, l.n), make([]F, l.n), make([]F, l.n)
			fillTyped(src, rank, -1)
			fillTyped(want, rank, -1)
			if err := tc.AllreduceSumTo(dst, src); err != nil {
				t.Fatal(err)
			}
			checkTyped(t, "out of place", dst, size, -1)
			for i := range src {
				if src[i] != want[i] {
					t.Fatalf("src[%d] changed from %v to %v", i, want[i], src[i])
				}
			}
		})
		t.Run("Iallreduce/"+l.name, func(t *testing.T) {
			a, b := make([]F, l.n), make([]F, l.n/2+1)
			fillTyped(a, rank, 1)
			fillTyped(b, rank, 2)
			ra, err := tc.Iallreduce(a)
			if err != nil {
				t.Fatal(err)
			}
			wb, err := tc.IallreduceSum(b)
			if err != nil {
				t.Fatal(err)
			}
			if err := wb(); err != nil {
				t.Fatal(err)
			}
			if err := ra.Wait(); err != nil {
				t.Fatal(err)
			}
			checkTyped(t, "first outstanding", a, size, 1)
			checkTyped(t, "second outstanding", b, size, 2)
		})
		t.Run("Bcast/"+l.name, func(t *testing.T) {
			root := size - 1
			buf := make([]F, l.n)
			for i := range buf {
				buf[i] = F(rank*10000 + i)
			}
			if err := tc.Bcast(buf, root); err != nil {
				t.Fatal(err)
			}
			for i, v := range buf {
				if want := F(root*10000 + i); v != want {
					t.Fatalf("buf[%d] = %v, want root %d's %v", i, v, root, want)
				}
			}
		})
	}
}
