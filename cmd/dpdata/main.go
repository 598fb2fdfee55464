package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"codeberg.org/sbinet/npyio"

	"github.com/dpmpi/dpmpi/data"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `dpdata: converts Fashion-MNIST (IDX) to CSV or NumPy files
  dpdata csv [--dir DIR] [--out OUT] [--limit N]
  dpdata npy [--dir DIR] [--out OUT] [--limit N]`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "csv" && args[0] != "npy") {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	format := args[0]
	fs := flag.NewFlagSet("dpdata "+format, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory of the IDX files (default $"+data.FashionMNISTEnv+" or "+data.FashionMNISTDir+")")
	out := fs.String("out", ".", "output directory")
	limit := fs.Int("limit", 0, "keep the first N images of each split (0: all)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *limit < 0 {
		fmt.Fprintf(stderr, "dpdata: --limit %d must be 0 (all) or positive\n", *limit)
		return 2
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(stderr, "dpdata: --out:", err)
		return 1
	}
	for _, train := range []bool{true, false} {
		split := map[bool]string{true: "train", false: "test"}[train]
		d, err := data.LoadIDXSplit(*dir, train)
		if err != nil {
			fmt.Fprintln(stderr, "dpdata:", err)
			return 1
		}
		n := d.N
		if *limit > 0 {
			n = min(n, *limit)
		}
		var files []string
		if format == "csv" {
			p := filepath.Join(*out, "fashion-"+split+".csv")
			err, files = writeFile(p, func(w io.Writer) error { return writeCSV(w, d, n) }), []string{p}
		} else {
			px, py := filepath.Join(*out, "fashion-"+split+"-x.npy"), filepath.Join(*out, "fashion-"+split+"-y.npy")
			err = writeFile(px, func(w io.Writer) error { return npyio.Write(w, pixels(d, n)) })
			if err == nil {
				err = writeFile(py, func(w io.Writer) error { return npyio.Write(w, labels(d, n)) })
			}
			files = []string{px, py}
		}
		if err != nil {
			fmt.Fprintln(stderr, "dpdata:", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: %d images -> %v\n", split, n, files)
	}
	return 0
}

// writeFile writes path through a temporary file renamed into place.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func writeCSV(w io.Writer, d *data.Images, n int) error {
	dim := d.Dim()
	line := []byte("label")
	for j := range dim {
		line = append(line, ",p"...)
		line = strconv.AppendInt(line, int64(j), 10)
	}
	line = append(line, '\n')
	if _, err := w.Write(line); err != nil {
		return err
	}
	for i := range n {
		line = strconv.AppendInt(line[:0], int64(d.Labels[i]), 10)
		for _, p := range d.Pixels[i*dim : (i+1)*dim] {
			line = append(line, ',')
			line = strconv.AppendInt(line, int64(p), 10)
		}
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return nil
}

// pixels returns the first n images as a [n][1][rows][cols] array for npyio,
// which takes its shape from nested arrays.
func pixels(d *data.Images, n int) [][1][28][28]uint8 {
	out := make([][1][28][28]uint8, n)
	for i := range out {
		for r := range 28 {
			copy(out[i][0][r][:], d.Pixels[i*784+r*28:i*784+(r+1)*28])
		}
	}
	return out
}

func labels(d *data.Images, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(d.Labels[i])
	}
	return out
}
