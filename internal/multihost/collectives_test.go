package multihost_test

import (
	"bytes"
	"os"
	"slices"
	"testing"

	"github.com/dpmpi/dpmpi/internal/multihost"
	"github.com/dpmpi/dpmpi/mpi"
	"github.com/dpmpi/dpmpi/mpi/mpitest"
)

// TestCollectives runs the binding's collectives with 2 ranks on each of 2
// hosts, over TCP: first it checks that the ranks sit on the hosts the
// hostfile names (each rank's host name, summed as a one-hot vector, gives
// the ranks per host), then sum-Allreduce in place and into another buffer
// at sizes from one value to several chunks, non-blocking Allreduce,
// broadcasts from every root and a barrier.
func TestCollectives(t *testing.T) {
	hosts := hostsUp(t)
	mpitest.Run(t, []int{np}, func(t *testing.T, c *mpi.Comm) {
		w, r := c.Size(), c.Rank()
		name, err := os.Hostname()
		if err != nil {
			t.Fatal(err)
		}
		onehot := make([]float64, len(hosts))
		i := slices.IndexFunc(hosts, func(h multihost.Host) bool { return h.Name == name })
		if i < 0 {
			t.Errorf("rank %d runs on host %q, which the hostfile does not name", r, name)
		} else {
			onehot[i] = 1
		}
		if err := c.AllreduceSum(onehot); err != nil {
			t.Fatal(err)
		}
		want, err := multihost.Placement(hosts, w)
		if err != nil {
			t.Fatal(err)
		}
		for i, h := range hosts {
			if int(onehot[i]) != want[i] {
				t.Errorf("host %s runs %v ranks, want %d (placement by slot)", h.Name, onehot[i], want[i])
			}
		}

		// value i of rank r is r·n + i + 0.5: the sum over ranks is known exactly.
		fill := func(buf []float64, rank int) {
			for i := range buf {
				buf[i] = float64(rank*len(buf)+i) + 0.5
			}
		}
		sum := func(n, i int) float64 {
			s := 0.0
			for q := range w {
				s += float64(q*n+i) + 0.5
			}
			return s
		}
		check := func(what string, got []float64) {
			t.Helper()
			for i, v := range got {
				if s := sum(len(got), i); v != s {
					t.Fatalf("%s, %d values: element %d is %v, want %v", what, len(got), i, v, s)
				}
			}
		}
		for _, n := range []int{1, 1000, mpi.DefaultChunkBytes/8 + 3, 3*mpi.DefaultChunkBytes/8 + 1} {
			buf := make([]float64, n)
			fill(buf, r)
			if err := c.AllreduceSum(buf); err != nil {
				t.Fatal(err)
			}
			check("AllreduceSum", buf)

			src, dst := make([]float64, n), make([]float64, n)
			fill(src, r)
			if err := c.AllreduceSumTo(dst, src); err != nil {
				t.Fatal(err)
			}
			check("AllreduceSumTo", dst)

			fill(buf, r)
			req, err := c.Iallreduce(buf)
			if err != nil {
				t.Fatal(err)
			}
			if err := req.Wait(); err != nil {
				t.Fatal(err)
			}
			check("Iallreduce", buf)
		}
		for root := range w {
			buf := []float64{float64(r), -1, float64(10 * r)}
			if err := c.Bcast(buf, root); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(buf, []float64{float64(root), -1, float64(10 * root)}) {
				t.Errorf("Bcast from root %d: rank %d got %v", root, r, buf)
			}
			b := bytes.Repeat([]byte{byte(r)}, 100_000)
			if err := c.BcastBytes(b, root); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, bytes.Repeat([]byte{byte(root)}, 100_000)) {
				t.Errorf("BcastBytes from root %d: rank %d got other bytes", root, r)
			}
		}
		if err := c.Barrier(); err != nil {
			t.Fatal(err)
		}
	})
}
