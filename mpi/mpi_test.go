package mpi_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/mpi"
	"github.com/dpmpi/dpmpi/mpi/mpitest"
)

func TestMain(m *testing.M) { mpitest.Main(m) }

// TestLibraryVersion checks that LibraryVersion names the MPI library,
// so that a log can identify the MPI build.
func TestLibraryVersion(t *testing.T) {
	v := mpi.LibraryVersion()
	if v == "" || strings.ContainsAny(v, "\x00") {
		t.Fatalf("LibraryVersion() = %q, want the library's name and version", v)
	}
	t.Logf("MPI library: %s", v)
}

// fill sets buf[i] = (rank+1)·(i+1) + offset, whose sum over W ranks is the
// exactly representable (i+1)·W(W+1)/2 + W·offset.
func fill(buf []float64, rank int, offset float64) {
	for i := range buf {
		buf[i] = float64((rank+1)*(i+1)) + offset
	}
}

func checkSum(t *testing.T, what string, got []float64, size int, offset float64) {
	t.Helper()
	w := float64(size)
	for i, v := range got {
		want := float64(i+1)*w*(w+1)/2 + w*offset
		if v != want {
			t.Fatalf("%s: element %d of %d = %v, want %v", what, i, len(got), v, want)
		}
	}
}

func TestCollectives(t *testing.T) {
	mpitest.Run(t, []int{mpitest.Singleton, 1, 2, 3, 4}, func(t *testing.T, c *mpi.Comm) {
		rank, size := c.Rank(), c.Size()
		if rank < 0 || rank >= size {
			t.Fatalf("rank %d outside [0, %d)", rank, size)
		}
		if c.ChunkBytes != mpi.DefaultChunkBytes {
			t.Fatalf("ChunkBytes = %d, want the default %d", c.ChunkBytes, mpi.DefaultChunkBytes)
		}
		// The ranks must really be distinct processes of one job.
		ranks := make([]float64, size)
		ranks[rank] = 1
		if err := c.AllreduceSum(ranks); err != nil {
			t.Fatal(err)
		}
		for r, v := range ranks {
			if v != 1 {
				t.Fatalf("rank %d was reported by %v processes, want exactly 1", r, v)
			}
		}

		lengths := []struct {
			name  string
			n     int
			chunk int
		}{
			{"empty", 0, mpi.DefaultChunkBytes},
			{"one", 1, mpi.DefaultChunkBytes},
			{"odd", 1001, mpi.DefaultChunkBytes},
			{"default-chunk+3", mpi.DefaultChunkBytes/8 + 3, mpi.DefaultChunkBytes},
			{"small-chunks-odd", 12345, 8 * 1000},
			{"chunk-not-multiple-of-8", 777, 100},
		}
		for _, tc := range lengths {
			c.ChunkBytes = tc.chunk
			t.Run("AllreduceSum/"+tc.name, func(t *testing.T) {
				buf := make([]float64, tc.n)
				fill(buf, rank, 0.5)
				if err := c.AllreduceSum(buf); err != nil {
					t.Fatal(err)
				}
				checkSum(t, "in place", buf, size, 0.5)
			})
			t.Run("AllreduceSumTo/"+tc.name, func(t *testing.T) {
				src := make([]float64, tc.n)
				dst := make([]float64, tc.n)
				fill(src, rank, -1)
				if err := c.AllreduceSumTo(dst, src); err != nil {
					t.Fatal(err)
				}
				checkSum(t, "out of place", dst, size, -1)
				want := make([]float64, tc.n)
				fill(want, rank, -1)
				for i := range src {
					if src[i] != want[i] {
						t.Fatalf("src[%d] changed from %v to %v", i, want[i], src[i])
					}
				}
			})
		}
		c.ChunkBytes = mpi.DefaultChunkBytes

		t.Run("Iallreduce/outstanding", func(t *testing.T) {
			c.ChunkBytes = 8 * 512 // the third buffer spans many chunks
			defer func() { c.ChunkBytes = mpi.DefaultChunkBytes }()
			bufs := [][]float64{make([]float64, 7), make([]float64, 0), make([]float64, 5000)}
			waits := make([]func() error, len(bufs))
			for i, b := range bufs {
				fill(b, rank, float64(i))
				w, err := c.IallreduceSum(b)
				if err != nil {
					t.Fatal(err)
				}
				waits[i] = w
			}
			// A blocking collective while three reductions are outstanding.
			if err := c.Barrier(); err != nil {
				t.Fatal(err)
			}
			for i := len(waits) - 1; i >= 0; i-- {
				if err := waits[i](); err != nil {
					t.Fatal(err)
				}
				checkSum(t, fmt.Sprintf("request %d", i), bufs[i], size, float64(i))
			}
		})
		t.Run("Iallreduce/Test", func(t *testing.T) {
			buf := make([]float64, 100)
			fill(buf, rank, 2)
			r, err := c.Iallreduce(buf)
			if err != nil {
				t.Fatal(err)
			}
			for {
				done, err := r.Test()
				if err != nil {
					t.Fatal(err)
				}
				if done {
					break
				}
			}
			if err := r.Wait(); err != nil {
				t.Fatalf("Wait after completion: %v", err)
			}
			checkSum(t, "polled", buf, size, 2)
		})
		t.Run("Bcast", func(t *testing.T) {
			root := size - 1
			c.ChunkBytes = 8 * 100
			defer func() { c.ChunkBytes = mpi.DefaultChunkBytes }()
			buf := make([]float64, 1234)
			for i := range buf {
				buf[i] = float64(rank*10000 + i)
			}
			if err := c.Bcast(buf, root); err != nil {
				t.Fatal(err)
			}
			for i, v := range buf {
				if want := float64(root*10000 + i); v != want {
					t.Fatalf("buf[%d] = %v, want root %d's %v", i, v, root, want)
				}
			}
			if err := c.Bcast(nil, root); err != nil {
				t.Fatalf("empty Bcast: %v", err)
			}
		})
		t.Run("BcastBytes", func(t *testing.T) {
			c.ChunkBytes = 7 // many odd chunks
			defer func() { c.ChunkBytes = mpi.DefaultChunkBytes }()
			want := []byte("the root's bytes, of an odd length: 37")
			buf := make([]byte, len(want))
			if rank == 0 {
				copy(buf, want)
			}
			if err := c.BcastBytes(buf, 0); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf, want) {
				t.Fatalf("rank %d got %q, want %q", rank, buf, want)
			}
		})
		t.Run("BadRoot", func(t *testing.T) {
			for _, root := range []int{-1, size} {
				err := c.Bcast(make([]float64, 1), root)
				if err == nil || !strings.Contains(err.Error(), fmt.Sprint(root)) {
					t.Fatalf("Bcast with root %d: err = %v, want an error naming the root", root, err)
				}
			}
		})
		t.Run("Typed/float32", func(t *testing.T) { testTyped[float32](t, c) })
		t.Run("Typed/float64", func(t *testing.T) { testTyped[float64](t, c) })
		t.Run("Barrier", func(t *testing.T) {
			if err := c.Barrier(); err != nil {
				t.Fatal(err)
			}
		})
	})
}

func TestAllreduceSumToPanics(t *testing.T) {
	var c mpi.Comm // never reaches MPI: the checks come first
	for _, tc := range []struct {
		name     string
		dst, src []float64
	}{
		{"lengths", make([]float64, 2), make([]float64, 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			c.AllreduceSumTo(tc.dst, tc.src)
		})
	}
	t.Run("overlap", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		buf := make([]float64, 10)
		c.AllreduceSumTo(buf[:5], buf[3:8])
	})
}

// TestInitProcess is not a test on its own: TestWrongLauncher starts the test
// binary with DPMPI_INIT_PROCESS=1 to run mpi.Init in a fresh process.
func TestInitProcess(t *testing.T) {
	if os.Getenv("DPMPI_INIT_PROCESS") != "1" {
		return
	}
	c, err := mpi.Init()
	if err != nil {
		fmt.Println("INIT-ERROR:", err)
		os.Exit(7)
	}
	fmt.Printf("INIT-OK rank %d of %d\n", c.Rank(), c.Size())
	c.Finalize()
}

func TestWrongLauncher(t *testing.T) {
	type launch struct {
		name string
		cmd  []string
		env  []string
	}
	self := []string{os.Args[0], "-test.run=^TestInitProcess$", "-test.count=1"}
	cases := []launch{
		// A singleton whose environment claims an Open MPI job of 2.
		{"env-OMPI_COMM_WORLD_SIZE", self, []string{"OMPI_COMM_WORLD_SIZE=2"}},
		// ... a Slurm step of 3 tasks (srun without the right --mpi plugin).
		{"env-SLURM_STEP_NUM_TASKS", self, []string{"SLURM_STEP_NUM_TASKS=3"}},
	}
	// A real mismatched launcher when the other MPI is installed.
	other := "mpirun.mpich"
	otherArgs := []string{"-np", "2"}
	if mpi.Implementation == "MPICH" {
		other = "mpirun"
		otherArgs = []string{"--allow-run-as-root", "--oversubscribe", "-np", "2"}
	}
	if _, err := exec.LookPath(other); err == nil {
		cases = append(cases, launch{"real-" + other, append(append([]string{other}, otherArgs...), self...), nil})
	} else {
		t.Logf("%s not installed: the real mismatched-launcher case is not run (scripts/setup.sh installs it)", other)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(tc.cmd[0], tc.cmd[1:]...)
			cmd.Env = append(os.Environ(), "DPMPI_INIT_PROCESS=1", "OMPI_MCA_pml=ob1")
			cmd.Env = append(cmd.Env, tc.env...)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("Init succeeded under a mismatched launcher; output:\n%s", out)
			}
			if !bytes.Contains(out, []byte("sees a world of 1")) || !bytes.Contains(out, []byte("start it with")) {
				t.Fatalf("error does not explain the mismatch and the fix; output:\n%s", out)
			}
		})
	}
	t.Run("singleton-ok", func(t *testing.T) {
		cmd := exec.Command(self[0], self[1:]...)
		cmd.Env = append(os.Environ(), "DPMPI_INIT_PROCESS=1", "OMPI_MCA_pml=ob1")
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("INIT-OK rank 0 of 1")) {
			t.Fatalf("plain singleton: err = %v, output:\n%s", err, out)
		}
	})
}
