package data

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio"
)

func TestReadCSV(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		opts       CSVOptions
		want       Table
	}{
		{"header, label named", "a,label,b\n1,0,2\n3,1,4\n", CSVOptions{},
			Table{N: 2, Classes: 2, Shape: []int{2}, Features: []float64{1, 2, 3, 4}, Labels: []int32{0, 1}}},
		{"no header, label last", "1,2,0\n3.5,-4e-1,2\n", CSVOptions{Label: "-1"},
			Table{N: 2, Classes: 3, Shape: []int{2}, Features: []float64{1, 2, 3.5, -0.4}, Labels: []int32{0, 2}}},
		{"no header, label first, classes given", "1,5,6\n0,7,8\n", CSVOptions{Label: "0", Classes: 10},
			Table{N: 2, Classes: 10, Shape: []int{2}, Features: []float64{5, 6, 7, 8}, Labels: []int32{1, 0}}},
		{"semicolons, spaces, header forced", "1;2;label\n 4; 6; 1\n8;10;0\n", CSVOptions{Comma: ';', Header: HeaderPresent},
			Table{N: 2, Classes: 2, Shape: []int{2}, Features: []float64{4, 6, 8, 10}, Labels: []int32{1, 0}}},
		{"normalised per column", "x,y,label\n1,10,0\n3,30,1\n", CSVOptions{Normalization: Normalization{Mean: []float64{1, 10}, Std: []float64{2, 10}}},
			Table{N: 2, Classes: 2, Shape: []int{2}, Features: []float64{0, 0, 1, 2}, Labels: []int32{0, 1}}},
		{"normalised by one constant", "x,y,label\n1,10,0\n3,30,1\n", CSVOptions{Normalization: Normalization{Std: []float64{0.5}}},
			Table{N: 2, Classes: 2, Shape: []int{2}, Features: []float64{2, 20, 6, 60}, Labels: []int32{0, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadCSV(strings.NewReader(tc.text), "t.csv", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", *got, tc.want)
			}
		})
	}
}

func TestReadCSVErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		opts       CSVOptions
		want       []string // substrings the error must contain
	}{
		{"empty file", "", CSVOptions{}, []string{"bad.csv", "empty"}},
		{"header only", "a,label\n", CSVOptions{}, []string{"no samples"}},
		{"not a number", "a,b,label\n1,2,0\n3,x3,1\n", CSVOptions{}, []string{"line 3", `column 1 ("b")`, `"x3" is not a number`}},
		{"NaN feature", "a,label\n1,0\nNaN,1\n", CSVOptions{}, []string{"line 3", `column 0 ("a")`, "NaN", "finite"}},
		{"infinite feature", "1,0\n+Inf,1\n", CSVOptions{Label: "1"}, []string{"line 2", "column 0", "+Inf"}},
		{"ragged row", "a,b,label\n1,2,0\n3,1\n", CSVOptions{}, []string{"line 3", "number of fields"}},
		{"fractional label", "a,label\n1,0\n2,1.5\n", CSVOptions{}, []string{"line 3", `("label")`, "1.5", "non-negative integer"}},
		{"negative label", "a,label\n1,-1\n", CSVOptions{}, []string{"line 2", "-1", "non-negative integer"}},
		{"label outside classes", "a,label\n1,0\n2,7\n", CSVOptions{Classes: 3}, []string{"line 3", "label 7", "[0, 3)"}},
		{"one class only", "a,label\n1,0\n2,0\n", CSVOptions{}, []string{"at least 2 classes"}},
		{"no label column by name", "a,b\n1,0\n", CSVOptions{Header: HeaderPresent}, []string{`no column named "label"`, "a, b"}},
		{"no header, no label given", "1,0\n2,1\n", CSVOptions{}, []string{"no header", "index"}},
		{"label index outside", "1,0\n2,1\n", CSVOptions{Label: "5"}, []string{"label column 5", "2 columns"}},
		{"label name without header", "1,0\n2,1\n", CSVOptions{Label: "y"}, []string{`"y"`, "no header"}},
		{"duplicate header names", "a,a,label\n1,2,0\n", CSVOptions{}, []string{"columns 0 and 1", `"a"`}},
		{"label column only", "label\n1\n", CSVOptions{}, []string{"at least one feature"}},
		{"normalisation length", "a,b,label\n1,2,0\n", CSVOptions{Normalization: Normalization{Mean: []float64{1, 2, 3}}}, []string{"3 mean values for 2 features"}},
		{"zero std", "a,b,label\n1,2,0\n", CSVOptions{Normalization: Normalization{Std: []float64{1, 0}}}, []string{"std value 1", "positive"}},
		{"bare quote", "a,label\n1\"2,0\n", CSVOptions{}, []string{"line 2", "quote"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadCSV(strings.NewReader(tc.text), "bad.csv", tc.opts)
			if err == nil {
				t.Fatalf("no error, got %+v", got)
			}
			for _, w := range append(tc.want, "bad.csv") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestHead(t *testing.T) {
	tb := &Table{N: 3, Classes: 2, Shape: []int{2}, Features: []float64{1, 2, 3, 4, 5, 6}, Labels: []int32{0, 1, 0}}
	im := &Images{N: 3, Rows: 1, Cols: 2, Classes: 2, Pixels: []byte{1, 2, 3, 4, 5, 6}, Labels: []uint8{0, 1, 0}}
	for _, tc := range []struct{ n, want int }{{0, 3}, {-1, 3}, {5, 3}, {3, 3}, {2, 2}, {1, 1}} {
		ht, hi := tb.Head(tc.n), im.Head(tc.n)
		if ht.Len() != tc.want || len(ht.Features) != 2*tc.want || len(ht.Labels) != tc.want ||
			hi.Len() != tc.want || len(hi.Pixels) != 2*tc.want || len(hi.Labels) != tc.want {
			t.Errorf("Head(%d): %d and %d samples, want %d", tc.n, ht.Len(), hi.Len(), tc.want)
		}
	}
	if tb.N != 3 || im.N != 3 {
		t.Fatal("Head changed its receiver")
	}
}

func TestReadCSVFile(t *testing.T) {
	if _, err := ReadCSVFile(filepath.Join(t.TempDir(), "missing.csv"), CSVOptions{}); err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Fatalf("missing file: error %v, want one naming the file", err)
	}
}

// writeNPY writes v with npyio into dir/name and returns the path.
func writeNPY(t *testing.T, dir, name string, v any) string {
	t.Helper()
	p := filepath.Join(dir, name)
	var buf bytes.Buffer
	if err := npyio.Write(&buf, v); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// rawNPY writes a version-1 .npy file with the given header dictionary and
// data bytes, for headers npyio would not write.
func rawNPY(t *testing.T, dir, name, dict string, data []byte) string {
	t.Helper()
	hdr := dict + strings.Repeat(" ", 63-(10+len(dict))%64) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(hdr)))
	b.WriteString(hdr)
	b.Write(data)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadNPY(t *testing.T) {
	dir := t.TempDir()
	x32 := writeNPY(t, dir, "x32.npy", [2][3]float32{{1, 2, 3}, {4, 5, 6.5}})
	x8 := writeNPY(t, dir, "x8.npy", [2][2][2]uint8{{{0, 1}, {2, 3}}, {{4, 5}, {6, 255}}})
	y := writeNPY(t, dir, "y.npy", []int64{2, 0})
	yf := writeNPY(t, dir, "yf.npy", [2][1]float64{{1}, {0}})
	for _, tc := range []struct {
		name, x, y string
		opts       NPYOptions
		want       Table
	}{
		{"float32 features, int64 labels", x32, y, NPYOptions{},
			Table{N: 2, Classes: 3, Shape: []int{3}, Features: []float64{1, 2, 3, 4, 5, 6.5}, Labels: []int32{2, 0}}},
		{"uint8 images, float labels [N,1], normalised", x8, yf, NPYOptions{Classes: 4, Normalization: Normalization{Mean: []float64{1}, Std: []float64{2}}},
			Table{N: 2, Classes: 4, Shape: []int{2, 2}, Features: []float64{-0.5, 0, 0.5, 1, 1.5, 2, 2.5, 127}, Labels: []int32{1, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadNPYFiles(tc.x, tc.y, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", *got, tc.want)
			}
			x := make([]float64, 2*got.Dim())
			lab := make([]int, 2)
			got.Batch([]int{1, 0}, x, lab)
			d := got.Dim()
			if !reflect.DeepEqual(x[:d], tc.want.Features[d:]) || lab[0] != int(tc.want.Labels[1]) {
				t.Fatalf("Batch([1 0]) = %v %v, want sample 1 first", x, lab)
			}
		})
	}
}

func TestReadNPYErrors(t *testing.T) {
	dir := t.TempDir()
	x := writeNPY(t, dir, "x.npy", [2][2]float64{{1, 2}, {3, 4}})
	y := writeNPY(t, dir, "y.npy", []int32{0, 1})
	good := writeNPY(t, dir, "good.npy", []float64{1, 2})
	whole, _ := os.ReadFile(good)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f64 := func(v ...float64) []byte {
		b := make([]byte, 8*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
		}
		return b
	}
	for _, tc := range []struct {
		name, x, y string
		opts       NPYOptions
		want       []string
	}{
		{"not npy", write("text.npy", []byte("1,2\n3,4\n")), y, NPYOptions{}, []string{"text.npy", "not a NumPy"}},
		{"empty file", write("empty.npy", nil), y, NPYOptions{}, []string{"empty.npy", "not a NumPy"}},
		{"truncated data", write("trunc.npy", whole[:len(whole)-3]), y, NPYOptions{}, []string{"trunc.npy", "truncated"}},
		{"trailing bytes", write("trail.npy", append(bytes.Clone(whole), 0)), y, NPYOptions{}, []string{"trail.npy", "trailing"}},
		{"header longer than file", write("hdr.npy", []byte("\x93NUMPY\x01\x00\xff\x7f{")), y, NPYOptions{}, []string{"hdr.npy", "truncated or corrupt"}},
		{"huge shape", rawNPY(t, dir, "huge.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 1000000), }", f64(1)), y, NPYOptions{}, []string{"huge.npy", "does not fit"}},
		{"complex features", writeNPY(t, dir, "c.npy", [2][1]complex128{{1}, {2}}), y, NPYOptions{}, []string{"c.npy", "not supported"}},
		{"fortran order", rawNPY(t, dir, "fort.npy", "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }", f64(1, 3, 2, 4)), y, NPYOptions{}, []string{"fort.npy", "Fortran", "ascontiguousarray"}},
		{"1-D features", good, y, NPYOptions{}, []string{"good.npy", "shape [2]", "[N, ...]"}},
		{"label count", x, writeNPY(t, dir, "y3.npy", []int32{0, 1, 1}), NPYOptions{}, []string{"x.npy has 2 samples", "y3.npy has 3 labels"}},
		{"label shape", x, writeNPY(t, dir, "y22.npy", [2][2]int32{{0, 1}, {1, 0}}), NPYOptions{}, []string{"y22.npy", "shape [2 2]"}},
		{"fractional label", x, writeNPY(t, dir, "yf.npy", []float64{0, 0.5}), NPYOptions{}, []string{"yf.npy", "sample 1", "0.5"}},
		{"label outside classes", x, writeNPY(t, dir, "y9.npy", []int32{0, 9}), NPYOptions{Classes: 5}, []string{"y9.npy", "sample 1", "label 9", "[0, 5)"}},
		{"NaN feature", writeNPY(t, dir, "nan.npy", [2][2]float64{{1, 2}, {math.NaN(), 4}}), y, NPYOptions{}, []string{"nan.npy", "sample 1", "NaN"}},
		{"normalisation length", x, y, NPYOptions{Normalization: Normalization{Std: []float64{1, 2, 3}}}, []string{"x.npy", "3 std values for 2 features"}},
		{"missing file", filepath.Join(dir, "none.npy"), y, NPYOptions{}, []string{"none.npy"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadNPYFiles(tc.x, tc.y, tc.opts)
			if err == nil {
				t.Fatalf("no error, got %+v", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func ExampleReadCSV() {
	const file = `sepal_length,sepal_width,label
5.1,3.5,0
7.0,3.2,1
6.3,3.3,2
`
	// Normalisation constants come from outside the private data: here, a
	// public description of the measuring range.
	t, err := ReadCSV(strings.NewReader(file), "iris.csv", CSVOptions{
		Normalization: Normalization{Mean: []float64{6, 3}, Std: []float64{1, 0.5}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t.N, "samples of", t.Dim(), "features,", t.Classes, "classes")
	fmt.Printf("%.2f\n", t.Features[:2])
	// Output:
	// 3 samples of 2 features, 3 classes
	// [-0.90 1.00]
}
