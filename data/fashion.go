package data

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
)

// FashionMNISTDir is where Debian's dataset-fashion-mnist package installs
// the Fashion-MNIST files.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// FashionMNISTEnv names the environment variable that, when set and no
// directory is given, overrides FashionMNISTDir.
const FashionMNISTEnv = "DPMPI_FASHION_MNIST"

// Mean and standard deviation of the Fashion-MNIST training pixels scaled to
// [0, 1], the usual normalisation constants.
const (
	FashionMNISTMean = 0.2860
	FashionMNISTStd  = 0.3530
)

// Images is a labelled image dataset held as bytes: N images of
// Rows×Cols pixels in [0, 255] with labels in [0, Classes). Batch converts
// to normalised float64 on demand, so the dataset costs one byte per pixel.
type Images struct {
	// N is the number of images, Rows×Cols their size and Classes the
	// number of label values.
	N, Rows, Cols, Classes int
	// Pixels holds N·Rows·Cols bytes, image-major, row-major.
	Pixels []byte
	// Labels holds N labels.
	Labels []uint8
	// Mean and Std normalise pixels: x = (p/255 − Mean)/Std. The zero
	// values mean no normalisation (Std 0 is treated as 1).
	Mean, Std float64
}

// Dim returns the number of values of one image, Rows·Cols.
func (d *Images) Dim() int { return d.Rows * d.Cols }

// Len returns the number of images, N.
func (d *Images) Len() int { return d.N }

// Head returns a view of the first n images (all of them if n is 0 or at
// least N), sharing d's storage.
func (d *Images) Head(n int) *Images {
	if n <= 0 || n >= d.N {
		return d
	}
	c := *d
	c.N = n
	c.Pixels = d.Pixels[:n*d.Dim()]
	c.Labels = d.Labels[:n]
	return &c
}

// Batch writes the normalised images with the given indices into x
// (len(idx)·Dim values) and their labels into y (len(idx) values). It
// panics if the lengths do not match or an index is out of range.
func (d *Images) Batch(idx []int, x []float64, y []int) {
	dim := d.Dim()
	if len(x) != len(idx)*dim || len(y) != len(idx) {
		panic("data: Batch: len(x) != len(idx)·Dim() or len(y) != len(idx)")
	}
	std := d.Std
	if std == 0 {
		std = 1
	}
	scale, shift := 1/(255*std), d.Mean/std
	for k, i := range idx {
		px := d.Pixels[i*dim : (i+1)*dim]
		xs := x[k*dim : (k+1)*dim]
		for j, p := range px {
			xs[j] = float64(p)*scale - shift
		}
		y[k] = int(d.Labels[i])
	}
}

// Stats returns the mean and standard deviation of all pixels scaled to
// [0, 1].
func (d *Images) Stats() (mean, std float64) {
	var hist [256]int
	for _, p := range d.Pixels {
		hist[p]++
	}
	n := float64(len(d.Pixels))
	for v, c := range hist {
		mean += float64(c) * float64(v) / 255
	}
	mean /= n
	for v, c := range hist {
		dv := float64(v)/255 - mean
		std += float64(c) * dv * dv
	}
	return mean, math.Sqrt(std / n)
}

// NewImages checks an images array (uint8, [N, Rows, Cols]) and a labels
// array (uint8, [N]) read from IDX files and combines them.
func NewImages(images, labels *IDX, classes int) (*Images, error) {
	if images.Type != IDXUint8 || len(images.Dims) != 3 {
		return nil, fmt.Errorf("data: images must be uint8 with 3 dimensions [N, rows, cols], got type 0x%02x dimensions %v", images.Type, images.Dims)
	}
	if labels.Type != IDXUint8 || len(labels.Dims) != 1 {
		return nil, fmt.Errorf("data: labels must be uint8 with 1 dimension [N], got type 0x%02x dimensions %v", labels.Type, labels.Dims)
	}
	if images.Dims[0] != labels.Dims[0] {
		return nil, fmt.Errorf("data: %d images but %d labels", images.Dims[0], labels.Dims[0])
	}
	for i, l := range labels.Raw {
		if int(l) >= classes {
			return nil, fmt.Errorf("data: label %d of sample %d is outside [0, %d)", l, i, classes)
		}
	}
	return &Images{
		N: images.Dims[0], Rows: images.Dims[1], Cols: images.Dims[2], Classes: classes,
		Pixels: images.Raw, Labels: labels.Raw,
	}, nil
}

// LoadFashionMNIST loads the training (60,000 images) or test (10,000)
// split of Fashion-MNIST from dir, normalised with FashionMNISTMean and
// FashionMNISTStd. An empty dir means $DPMPI_FASHION_MNIST if set, else
// FashionMNISTDir. Files may be gzip-compressed (train-images-idx3-ubyte.gz,
// …) or raw (the same names without .gz).
func LoadFashionMNIST(dir string, train bool) (*Images, error) {
	d, err := LoadIDXSplit(dir, train)
	if err != nil {
		return nil, err
	}
	want := 10000
	if train {
		want = 60000
	}
	if d.N != want {
		return nil, fmt.Errorf("data: Fashion-MNIST in %s: %d images of 28x28, want %d; use LoadIDXSplit for a subset or another data set in the same layout", resolveDir(dir), d.N, want)
	}
	return d, nil
}

// LoadIDXSplit loads the training or test split of any 10-class data set
// of 28×28 images in Fashion-MNIST's file layout (train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-…, each optionally gzip-compressed) from
// dir, whatever its size, normalised with FashionMNISTMean and
// FashionMNISTStd. An empty dir means $DPMPI_FASHION_MNIST if set, else
// FashionMNISTDir.
func LoadIDXSplit(dir string, train bool) (*Images, error) {
	dir = resolveDir(dir)
	prefix := "t10k"
	if train {
		prefix = "train"
	}
	read := func(base string) (*IDX, error) {
		for _, name := range []string{base + ".gz", base} {
			p := filepath.Join(dir, name)
			if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return ReadIDXFile(p)
		}
		return nil, fmt.Errorf("data: Fashion-MNIST file %s(.gz) not found in %s; install it with `apt-get install dataset-fashion-mnist`, or pass the directory holding the files (or set %s)", base, dir, FashionMNISTEnv)
	}
	im, err := read(prefix + "-images-idx3-ubyte")
	if err != nil {
		return nil, err
	}
	lb, err := read(prefix + "-labels-idx1-ubyte")
	if err != nil {
		return nil, err
	}
	d, err := NewImages(im, lb, 10)
	if err != nil {
		return nil, fmt.Errorf("data: %s split in %s: %w", prefix, dir, err)
	}
	if d.Rows != 28 || d.Cols != 28 {
		return nil, fmt.Errorf("data: %s split in %s: images are %dx%d, want 28x28", prefix, dir, d.Rows, d.Cols)
	}
	d.Mean, d.Std = FashionMNISTMean, FashionMNISTStd
	return d, nil
}

// resolveDir applies the default data directory: $DPMPI_FASHION_MNIST, then
// FashionMNISTDir.
func resolveDir(dir string) string {
	if dir == "" {
		dir = os.Getenv(FashionMNISTEnv)
	}
	if dir == "" {
		dir = FashionMNISTDir
	}
	return dir
}
