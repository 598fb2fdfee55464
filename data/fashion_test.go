package data

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadFashionMNIST(t *testing.T) {
	for _, c := range []struct {
		train bool
		n     int
	}{{true, 60000}, {false, 10000}} {
		d, err := LoadFashionMNIST("", c.train)
		if err != nil {
			t.Fatal(err)
		}
		if d.N != c.n || d.Rows != 28 || d.Cols != 28 || len(d.Pixels) != c.n*784 || len(d.Labels) != c.n {
			t.Fatalf("train %v: %d images %dx%d", c.train, d.N, d.Rows, d.Cols)
		}
		// Fashion-MNIST is balanced: n/10 images per class.
		var count [10]int
		for _, l := range d.Labels {
			count[l]++
		}
		for k, v := range count {
			if v != c.n/10 {
				t.Fatalf("train %v: class %d has %d images, want %d", c.train, k, v, c.n/10)
			}
		}
		if c.train {
			m, s := d.Stats()
			if math.Abs(m-FashionMNISTMean) > 5e-4 || math.Abs(s-FashionMNISTStd) > 5e-4 {
				t.Fatalf("pixel mean %.4f std %.4f, constants %.4f %.4f", m, s, FashionMNISTMean, FashionMNISTStd)
			}
		}
		// Normalisation of one image, by hand.
		x := make([]float64, 2*784)
		y := make([]int, 2)
		d.Batch([]int{7, 3}, x, y)
		for j := 0; j < 784; j++ {
			want := (float64(d.Pixels[3*784+j])/255 - FashionMNISTMean) / FashionMNISTStd
			if math.Abs(x[784+j]-want) > 1e-12 {
				t.Fatalf("pixel %d: %v, want %v", j, x[784+j], want)
			}
		}
		if y[0] != int(d.Labels[7]) || y[1] != int(d.Labels[3]) {
			t.Fatalf("labels %v", y)
		}
	}
}

func TestLoadFashionMNISTOtherDir(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		if err := os.Symlink(filepath.Join(FashionMNISTDir, f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	d, err := LoadFashionMNIST(dir, false)
	if err != nil || d.N != 10000 {
		t.Fatalf("from %s: %v", dir, err)
	}
	t.Setenv(FashionMNISTEnv, dir)
	if d, err := LoadFashionMNIST("", false); err != nil || d.N != 10000 {
		t.Fatalf("from $%s: %v", FashionMNISTEnv, err)
	}
	// The training files are missing there: the error says how to fix it.
	_, err = LoadFashionMNIST(dir, true)
	if err == nil || !strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("missing files: error %v", err)
	}
}

func TestLoadFashionMNISTWrongFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, x *IDX) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := WriteIDX(f, x); err != nil {
			t.Fatal(err)
		}
	}
	// Raw (uncompressed) files of the wrong size.
	write("t10k-images-idx3-ubyte", &IDX{Type: IDXUint8, Dims: []int{2, 28, 28}, Raw: make([]byte, 2*784)})
	write("t10k-labels-idx1-ubyte", &IDX{Type: IDXUint8, Dims: []int{2}, Raw: []byte{1, 12}})
	_, err := LoadFashionMNIST(dir, false)
	if err == nil || !strings.Contains(err.Error(), "label 12 of sample 1") {
		t.Fatalf("bad label: error %v", err)
	}
	write("t10k-labels-idx1-ubyte", &IDX{Type: IDXUint8, Dims: []int{2}, Raw: []byte{1, 2}})
	_, err = LoadFashionMNIST(dir, false)
	if err == nil || !strings.Contains(err.Error(), "2 images of 28x28, want 10000") {
		t.Fatalf("short dataset: error %v", err)
	}
	write("t10k-labels-idx1-ubyte", &IDX{Type: IDXUint8, Dims: []int{3}, Raw: []byte{1, 2, 3}})
	_, err = LoadFashionMNIST(dir, false)
	if err == nil || !strings.Contains(err.Error(), "2 images but 3 labels") {
		t.Fatalf("count mismatch: error %v", err)
	}
}
