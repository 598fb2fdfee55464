package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"codeberg.org/sbinet/npyio"

	"github.com/dpmpi/dpmpi/data"
	"github.com/dpmpi/dpmpi/features/scatter"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// chunk is the number of images transformed between writes.
const chunk = 1024

// usageError marks errors in the command line (exit status 2).
type usageError struct{ error }

func run(args []string, stdout, stderr io.Writer) int {
	err := extract(args, stdout, stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintln(stderr, "dpfeatures:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "dpfeatures:", err)
		return 1
	}
}

func extract(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dpfeatures", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data", "", "Fashion-MNIST directory (default $"+data.FashionMNISTEnv+", else "+data.FashionMNISTDir+")")
	out := fs.String("out", "", "output directory (required)")
	dtype := fs.String("dtype", "float32", "feature type: float32 or float64")
	j := fs.Int("j", 2, "number of scales J")
	l := fs.Int("l", 8, "number of angles L")
	order := fs.Int("order", 2, "maximum scattering order (1 or 2)")
	limit := fs.Int("limit", 0, "transform only the first N images of each split (0: all)")
	power := fs.Float64("power", 1, "compress every coefficient v to max(v, 0)^`P` (scatter.Compress; 0.5: the square root); 1 writes Kymatio's coefficients unchanged")
	flip := fs.Bool("flip", false, "also write train_features_flip.npy, the features of the training images mirrored left-right, in the same order: a view for dptrain --augment-views")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	switch {
	case fs.NArg() > 0:
		return usageError{fmt.Errorf("unexpected arguments %q; every option is a flag", fs.Args())}
	case *out == "":
		return usageError{errors.New("--out DIR is required")}
	case *dtype != "float32" && *dtype != "float64":
		return usageError{fmt.Errorf("--dtype %q; want float32 or float64", *dtype)}
	case *limit < 0:
		return usageError{fmt.Errorf("--limit %d; want 0 (all images) or a positive count", *limit)}
	}
	if err := scatter.CheckPower(*power); err != nil {
		return usageError{fmt.Errorf("--power: %w", err)}
	}
	s, err := scatter.New(scatter.Config{Rows: 28, Cols: 28, J: *j, L: *l, MaxOrder: *order})
	if err != nil {
		return usageError{err}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	total := time.Now()
	var images int
	for _, split := range []struct {
		name  string
		train bool
	}{{"train", true}, {"test", false}} {
		d, err := data.LoadIDXSplit(*dir, split.train)
		if err != nil {
			return err
		}
		n := d.N
		if *limit > 0 {
			n = min(n, *limit)
		}
		start := time.Now()
		feat := filepath.Join(*out, split.name+"_features.npy")
		if err := writeFeatures(feat, s, d, n, *dtype == "float64", false, *power); err != nil {
			return err
		}
		if *flip && split.train {
			if err := writeFeatures(filepath.Join(*out, "train_features_flip.npy"), s, d, n, *dtype == "float64", true, *power); err != nil {
				return err
			}
		}
		labels := make([]int64, n)
		for i := range labels {
			labels[i] = int64(d.Labels[i])
		}
		lab := filepath.Join(*out, split.name+"_labels.npy")
		if err := writeLabels(lab, labels); err != nil {
			return err
		}
		r, c := s.OutSize()
		el := time.Since(start)
		fmt.Fprintf(stdout, "%s: %d images -> %s [%d, %d, %d, %d] %s, %s; %.1fs (%.0f images/s)\n",
			split.name, n, feat, n, s.Channels(), r, c, *dtype, lab, el.Seconds(), float64(n)/el.Seconds())
		images += n
	}
	el := time.Since(total)
	fmt.Fprintf(stdout, "total: %d images in %.1fs\n", images, el.Seconds())
	return nil
}

// writeFeatures transforms the first n images of d, mirrored left-right if
// mirror is set, compresses the coefficients to the given power unless it
// is 1, and writes them to path as a NumPy array [n, Channels, rows, cols].
func writeFeatures(path string, s *scatter.Scattering, d *data.Images, n int, f64, mirror bool, power float64) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	r, c := s.OutSize()
	descr := "<f4"
	if f64 {
		descr = "<f8"
	}
	if err := writeNPYHeader(w, descr, []int{n, s.Channels(), r, c}); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	dim, in := s.Dim(), d.Rows*d.Cols
	imgs := make([]float64, chunk*in)
	feats := make([]float64, chunk*dim)
	var buf [8]byte
	for lo := 0; lo < n; lo += chunk {
		k := min(chunk, n-lo)
		for i, p := range d.Pixels[lo*in : (lo+k)*in] {
			j := i
			if mirror { // pixel (r, c) of an image goes to (r, Cols−1−c)
				c := i % d.Cols
				j = i - c + d.Cols - 1 - c
			}
			imgs[j] = float64(p) / 255
		}
		s.TransformBatch(feats[:k*dim], imgs[:k*in], k)
		if power != 1 {
			scatter.Compress(feats[:k*dim], power)
		}
		for _, v := range feats[:k*dim] {
			if f64 {
				binary.LittleEndian.PutUint64(buf[:], math.Float64bits(v))
				_, err = w.Write(buf[:8])
			} else {
				binary.LittleEndian.PutUint32(buf[:], math.Float32bits(float32(v)))
				_, err = w.Write(buf[:4])
			}
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeNPYHeader writes a NumPy format 1.0 header for a C-order array of the
// given type and shape, padded so that the data starts at a multiple of 64
// bytes, as numpy.save does. (npyio's writer discovers the shape of nested
// Go arrays by reflection, which for [60000][81][7][7] takes minutes; the
// labels, a flat slice, go through npyio.)
func writeNPYHeader(w io.Writer, descr string, shape []int) error {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, tuple)
	pad := 63 - (10+len(dict))%64
	hdr := dict + strings.Repeat(" ", pad) + "\n"
	if len(hdr) > math.MaxUint16 {
		return fmt.Errorf("npy header of %d bytes is too long for format 1.0", len(hdr))
	}
	b := make([]byte, 0, 10+len(hdr))
	b = append(b, "\x93NUMPY\x01\x00"...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(hdr)))
	b = append(b, hdr...)
	_, err := w.Write(b)
	return err
}

// writeLabels writes labels to path as a NumPy int64 array [n].
func writeLabels(path string, labels []int64) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	w := bufio.NewWriter(f)
	if err := npyio.Write(w, labels); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return w.Flush()
}
