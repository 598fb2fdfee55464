package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/data"
)

// writeIDX writes a small random data set in Fashion-MNIST's layout.
func writeIDX(t *testing.T, dir string, n int) {
	t.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	for _, prefix := range []string{"train", "t10k"} {
		px, lb := make([]byte, n*784), make([]byte, n)
		for i := range px {
			px[i] = byte(r.IntN(256))
		}
		for i := range lb {
			lb[i] = byte(r.IntN(10))
		}
		for name, x := range map[string]*data.IDX{
			prefix + "-images-idx3-ubyte": {Type: data.IDXUint8, Dims: []int{n, 28, 28}, Raw: px},
			prefix + "-labels-idx1-ubyte": {Type: data.IDXUint8, Dims: []int{n}, Raw: lb},
		} {
			var b bytes.Buffer
			if err := data.WriteIDX(&b, x); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestRoundTrip converts a data set and reads it back with dpmpi's own
// readers: every pixel and label must survive.
func TestRoundTrip(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	writeIDX(t, in, 7)
	for _, format := range []string{"csv", "npy"} {
		var stdout, stderr bytes.Buffer
		if rc := run([]string{format, "--dir", in, "--out", out, "--limit", "5"}, &stdout, &stderr); rc != 0 {
			t.Fatalf("%s: exit %d: %s", format, rc, stderr.String())
		}
	}
	for _, train := range []bool{true, false} {
		split := map[bool]string{true: "train", false: "test"}[train]
		want, err := data.LoadIDXSplit(in, train)
		if err != nil {
			t.Fatal(err)
		}
		fromCSV, err := data.ReadCSVFile(filepath.Join(out, "fashion-"+split+".csv"), data.CSVOptions{Classes: 10})
		if err != nil {
			t.Fatal(err)
		}
		fromNPY, err := data.ReadNPYFiles(filepath.Join(out, "fashion-"+split+"-x.npy"), filepath.Join(out, "fashion-"+split+"-y.npy"), data.NPYOptions{Classes: 10})
		if err != nil {
			t.Fatal(err)
		}
		for name, got := range map[string]*data.Table{"csv": fromCSV, "npy": fromNPY} {
			if got.N != 5 || got.Dim() != 784 {
				t.Fatalf("%s %s: %d samples of %d values, want 5 of 784", split, name, got.N, got.Dim())
			}
			for i := range 5 {
				if int(got.Labels[i]) != int(want.Labels[i]) {
					t.Fatalf("%s %s: label %d = %d, want %d", split, name, i, got.Labels[i], want.Labels[i])
				}
				for j := range 784 {
					if got.Features[i*784+j] != float64(want.Pixels[i*784+j]) {
						t.Fatalf("%s %s: sample %d pixel %d = %v, want %d", split, name, i, j, got.Features[i*784+j], want.Pixels[i*784+j])
					}
				}
			}
		}
		if s := fromNPY.Shape; len(s) != 3 || s[0] != 1 || s[1] != 28 || s[2] != 28 {
			t.Fatalf("npy sample shape %v, want [1 28 28]", s)
		}
	}
}

func TestErrors(t *testing.T) {
	empty := t.TempDir()
	for _, tc := range []struct {
		args []string
		rc   int
		want string
	}{
		{nil, 2, "dpdata csv"},
		{[]string{"parquet"}, 2, "dpdata npy"},
		{[]string{"csv", "--limit", "-1"}, 2, "--limit -1"},
		{[]string{"csv", "--dir", empty, "--out", empty}, 1, "not found in " + empty},
	} {
		var stdout, stderr bytes.Buffer
		if rc := run(tc.args, &stdout, &stderr); rc != tc.rc || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("dpdata %v: exit %d, stderr %q; want exit %d and %q", tc.args, rc, stderr.String(), tc.rc, tc.want)
		}
	}
}
