package data

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
)

// NPYOptions configures ReadNPYFiles.
type NPYOptions struct {
	// Classes is the number of label values; 0 takes the largest label + 1.
	Classes int
	// Normalization is applied to every feature.
	Normalization Normalization
}

// ReadNPYFiles reads a labelled table from a pair of NumPy .npy files, as
// numpy.save writes them: features of shape [N, ...] (for example [N, D] for
// tabular data or [N, C, H, W] for images) and labels of shape [N]. Features
// may be float32, float64 or any integer type up to 64 bits; labels must be
// integers, or floats holding integral values. Both arrays must be in C
// (row-major) order. Errors name the file and, for values, the sample index.
func ReadNPYFiles(features, labels string, opts NPYOptions) (*Table, error) {
	x, xshape, err := readNPY(features)
	if err != nil {
		return nil, err
	}
	if len(xshape) < 2 || xshape[0] == 0 {
		return nil, fmt.Errorf("data: %s: features have shape %v; want [N, ...] with N ≥ 1 samples and at least one feature each (reshape a single sample to [1, D])", features, xshape)
	}
	y, yshape, err := readNPY(labels)
	if err != nil {
		return nil, err
	}
	if len(yshape) == 2 && yshape[1] == 1 {
		yshape = yshape[:1]
	}
	if len(yshape) != 1 {
		return nil, fmt.Errorf("data: %s: labels have shape %v; want [N], one class index per sample", labels, yshape)
	}
	if yshape[0] != xshape[0] {
		return nil, fmt.Errorf("data: %s has %d samples but %s has %d labels; the two files must describe the same samples, in the same order", features, xshape[0], labels, yshape[0])
	}
	t := &Table{N: xshape[0], Shape: xshape[1:], Features: x, Labels: make([]int32, len(y))}
	dim := t.Dim()
	if err := opts.Normalization.check(dim); err != nil {
		return nil, fmt.Errorf("data: %s: %v", features, err)
	}
	for i := range t.N {
		s := x[i*dim : (i+1)*dim]
		for _, v := range s {
			if err := checkFeature(v); err != nil {
				return nil, fmt.Errorf("data: %s: sample %d: %v", features, i, err)
			}
		}
		opts.Normalization.apply(s)
	}
	for i, v := range y {
		if t.Labels[i], err = checkLabel(v); err != nil {
			return nil, fmt.Errorf("data: %s: sample %d: %v", labels, i, err)
		}
	}
	if err := t.setClasses(opts.Classes, func(i int) string { return fmt.Sprintf("%s: sample %d", labels, i) }); err != nil {
		return nil, fmt.Errorf("data: %v", err)
	}
	return t, nil
}

// readNPY reads one .npy file's array as float64 values, with its shape. It
// checks the header against the file's size before reading, so a corrupt
// header cannot make it allocate without bound.
func readNPY(path string) ([]float64, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("data: %w", err)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("data: %s: %s", path, fmt.Sprintf(format, args...))
	}
	br := bufio.NewReader(f)
	pre, _ := br.Peek(12)
	if len(pre) < 10 || string(pre[:6]) != string(npy.Magic[:]) {
		return nil, nil, fail("not a NumPy .npy file (it does not start with the \\x93NUMPY magic); write it with numpy.save")
	}
	var headEnd int64
	switch pre[6] {
	case 1:
		headEnd = 10 + int64(binary.LittleEndian.Uint16(pre[8:10]))
	case 2, 3:
		if len(pre) < 12 {
			return nil, nil, fail("the file ends inside its header")
		}
		headEnd = 12 + int64(binary.LittleEndian.Uint32(pre[8:12]))
	default:
		return nil, nil, fail(".npy format version %d is not supported (1, 2 and 3 are)", pre[6])
	}
	if headEnd > st.Size() {
		return nil, nil, fail("the header claims %d bytes but the file has %d; the file is truncated or corrupt", headEnd, st.Size())
	}
	r, err := npy.NewReader(br)
	if errors.Is(err, strconv.ErrRange) {
		// A dimension beyond this platform's int (on 32-bit machines).
		return nil, nil, fail("the shape in the header does not fit in this platform's %d-bit int (%v); the file is corrupt or too large for this machine", strconv.IntSize, err)
	}
	if err != nil {
		return nil, nil, fail("reading the header: %v", err)
	}
	h := r.Header.Descr
	if h.Fortran && len(h.Shape) > 1 {
		return nil, nil, fail("the array is in Fortran (column-major) order; save it with numpy.save(path, numpy.ascontiguousarray(a))")
	}
	dtype := strings.Trim(h.Type, `'"`)
	size, ok := dtypeSize(dtype)
	if !ok {
		return nil, nil, fail("element type %s is not supported; save features as float32, float64 or integers and labels as integers", dtype)
	}
	data := st.Size() - headEnd
	n := int64(1)
	for _, d := range h.Shape {
		if d < 0 || (d > 0 && n > data/int64(d)) {
			return nil, nil, fail("shape %v does not fit in the file's %d bytes of data; the file is truncated or corrupt", h.Shape, data)
		}
		n *= int64(d)
	}
	if n*size != data {
		return nil, nil, fail("shape %v of %s needs %d bytes of data, the file has %d; the file is truncated or has trailing bytes", h.Shape, dtype, n*size, data)
	}
	var out []float64
	switch dtype[1:] {
	case "f8":
		err = r.Read(&out)
	case "f4":
		out, err = readConvert[float32](r)
	case "i1":
		out, err = readConvert[int8](r)
	case "u1":
		out, err = readConvert[uint8](r)
	case "i2":
		out, err = readConvert[int16](r)
	case "u2":
		out, err = readConvert[uint16](r)
	case "i4":
		out, err = readConvert[int32](r)
	case "u4":
		out, err = readConvert[uint32](r)
	case "i8":
		out, err = readConvert[int64](r)
	case "u8":
		out, err = readConvert[uint64](r)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fail("reading the data: %v", err)
	}
	if int64(len(out)) != n {
		return nil, nil, fail("read %d values, want %d", len(out), n)
	}
	return out, h.Shape, nil
}

// dtypeSize returns the element size of a NumPy type string such as "<f4",
// and whether dpmpi reads that type.
func dtypeSize(t string) (int64, bool) {
	if len(t) != 3 || (t[0] != '<' && t[0] != '>' && t[0] != '|' && t[0] != '=') {
		return 0, false
	}
	size, err := strconv.Atoi(t[2:])
	if err != nil {
		return 0, false
	}
	switch t[1] {
	case 'f':
		return int64(size), size == 4 || size == 8
	case 'i', 'u':
		return int64(size), size == 1 || size == 2 || size == 4 || size == 8
	}
	return 0, false
}

// readConvert reads r's array as []T and converts it to float64.
func readConvert[T float32 | int8 | uint8 | int16 | uint16 | int32 | uint32 | int64 | uint64](r *npy.Reader) ([]float64, error) {
	var v []T
	if err := r.Read(&v); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out, nil
}
