package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/data"
	"github.com/dpmpi/dpmpi/features/scatter"
)

// writeIDX writes an uncompressed uint8 IDX file with the given dimensions.
func writeIDX(t *testing.T, path string, dims []int, raw []byte) {
	t.Helper()
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(raw)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeFashion writes a Fashion-MNIST directory of a few patterned images.
func fakeFashion(t *testing.T, train, test int) (string, [2][]byte) {
	dir := t.TempDir()
	var pix [2][]byte
	for k, c := range []struct {
		prefix string
		n      int
	}{{"train", train}, {"t10k", test}} {
		px := make([]byte, c.n*784)
		for i := range px {
			px[i] = byte((i*37 + k*11) % 251)
		}
		lb := make([]byte, c.n)
		for i := range lb {
			lb[i] = byte((i + k) % 10)
		}
		writeIDX(t, filepath.Join(dir, c.prefix+"-images-idx3-ubyte"), []int{c.n, 28, 28}, px)
		writeIDX(t, filepath.Join(dir, c.prefix+"-labels-idx1-ubyte"), []int{c.n}, lb)
		pix[k] = px
	}
	return dir, pix
}

func TestRoundTrip(t *testing.T) {
	dir, pix := fakeFashion(t, 3, 2)
	s, err := scatter.New(scatter.Kymatio(28, 28))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dtype string
		power float64
	}{{"float32", 1}, {"float64", 1}, {"float64", 0.5}, {"float32", 0.3}} {
		dtype := c.dtype
		out := t.TempDir()
		var stdout, stderr bytes.Buffer
		if code := run([]string{"--data", dir, "--out", out, "--dtype", dtype, "--flip", "--power", fmt.Sprint(c.power)}, &stdout, &stderr); code != 0 {
			t.Fatalf("%s: exit %d: %s", dtype, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), "train: 3 images") || !strings.Contains(stdout.String(), "[2, 81, 7, 7]") {
			t.Errorf("%s: output %q", dtype, stdout.String())
		}
		if _, err := os.Stat(filepath.Join(out, "test_features_flip.npy")); err == nil {
			t.Error("--flip wrote mirrored test features; it is for the training images only")
		}
		for k, split := range []string{"train", "test", "train_flip"} {
			mirror := split == "train_flip"
			if mirror {
				k, split = 0, "train"
			}
			name := split + "_features.npy"
			if mirror {
				name = "train_features_flip.npy"
			}
			tab, err := data.ReadNPYFiles(filepath.Join(out, name), filepath.Join(out, split+"_labels.npy"), data.NPYOptions{Classes: 10})
			if err != nil {
				t.Fatalf("%s %s: %v", dtype, split, err)
			}
			n := len(pix[k]) / 784
			if tab.N != n || len(tab.Shape) != 3 || tab.Shape[0] != 81 || tab.Shape[1] != 7 || tab.Shape[2] != 7 {
				t.Fatalf("%s %s: %d samples of shape %v, want %d of [81 7 7]", dtype, split, tab.N, tab.Shape, n)
			}
			ws := s.NewWorkspace()
			want := make([]float64, s.Dim())
			img := make([]float64, 784)
			for i := range n {
				for p := range img {
					q := p
					if mirror {
						q = p - p%28 + 27 - p%28
					}
					img[p] = float64(pix[k][i*784+q]) / 255
				}
				s.Transform(want, img, ws)
				if c.power != 1 {
					scatter.Compress(want, c.power)
				}
				for f, w := range want {
					if dtype == "float32" {
						w = float64(float32(w))
					}
					if got := tab.Features[i*s.Dim()+f]; got != w {
						t.Fatalf("%s --power %v %s: image %d feature %d = %v, want %v", dtype, c.power, split, i, f, got, w)
					}
				}
				if tab.Labels[i] != int32((i+k)%10) {
					t.Errorf("%s %s: label %d = %d, want %d", dtype, split, i, tab.Labels[i], (i+k)%10)
				}
			}
		}
	}
}

func TestLimit(t *testing.T) {
	dir, _ := fakeFashion(t, 4, 3)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--data", dir, "--out", out, "--limit", "2", "--order", "1"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	tab, err := data.ReadNPYFiles(filepath.Join(out, "test_features.npy"), filepath.Join(out, "test_labels.npy"), data.NPYOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tab.N != 2 || tab.Shape[0] != 17 {
		t.Errorf("--limit 2 --order 1: %d samples of %v, want 2 of [17 7 7]", tab.N, tab.Shape)
	}
}

func TestErrors(t *testing.T) {
	dir, _ := fakeFashion(t, 1, 1)
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no out", []string{"--data", dir}, 2, "--out DIR is required"},
		{"dtype", []string{"--out", t.TempDir(), "--dtype", "float16"}, 2, `--dtype "float16"`},
		{"limit", []string{"--out", t.TempDir(), "--limit", "-1"}, 2, "--limit -1"},
		{"power", []string{"--out", t.TempDir(), "--power", "0"}, 2, "--power: scatter: compression power 0"},
		{"negative power", []string{"--out", t.TempDir(), "--power", "-1"}, 2, "compression power -1"},
		{"order", []string{"--out", t.TempDir(), "--order", "3"}, 2, "MaxOrder = 3"},
		{"args", []string{"--out", t.TempDir(), "extra"}, 2, "unexpected arguments"},
		{"missing data", []string{"--out", t.TempDir(), "--data", t.TempDir()}, 1, "not found"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(c.args, &stdout, &stderr); code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", c.name, code, stderr.String(), c.code, c.want)
		}
	}
}

func TestNPYHeader(t *testing.T) {
	for _, shape := range [][]int{{5}, {60000, 81, 7, 7}, {3, 4}} {
		var b bytes.Buffer
		if err := writeNPYHeader(&b, "<f4", shape); err != nil {
			t.Fatal(err)
		}
		if b.Len()%64 != 0 || !bytes.HasPrefix(b.Bytes(), []byte("\x93NUMPY\x01\x00")) || b.Bytes()[b.Len()-1] != '\n' {
			t.Errorf("shape %v: header of %d bytes %q; want a multiple of 64 ending in a newline", shape, b.Len(), b.String())
		}
		if n := int(binary.LittleEndian.Uint16(b.Bytes()[8:10])); n != b.Len()-10 {
			t.Errorf("shape %v: header length field %d, want %d", shape, n, b.Len()-10)
		}
	}
}
