package safetensors

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	st "github.com/nlpodyssey/safetensors"

	"github.com/dpmpi/dpmpi/nn"
)

// DType is the element type tensors are stored as.
type DType int

const (
	// Float32 stores IEEE single precision, PyTorch's default (F32).
	Float32 DType = iota
	// Float64 stores the values exactly (F64).
	Float64
)

// Write writes tensors to w in the safetensors format with element type
// dtype. metadata, which may be nil, goes into the header's
// "__metadata__" entry. Names must be distinct and each tensor's Data must
// hold the product of its Shape.
func Write(w io.Writer, tensors []nn.Tensor, dtype DType, metadata map[string]string) error {
	views := make(map[string]st.TensorView, len(tensors))
	for _, t := range tensors {
		if _, dup := views[t.Name]; dup {
			return fmt.Errorf("safetensors: two tensors are named %q", t.Name)
		}
		if len(t.Shape) == 0 {
			return fmt.Errorf("safetensors: tensor %q is a scalar (shape []), which the safetensors library here cannot store; give it shape [1]", t.Name)
		}
		shape := make([]uint64, len(t.Shape))
		n := 1
		for i, d := range t.Shape {
			if d < 0 {
				return fmt.Errorf("safetensors: tensor %q has shape %v", t.Name, t.Shape)
			}
			shape[i] = uint64(d)
			n *= d
		}
		if n != len(t.Data) {
			return fmt.Errorf("safetensors: tensor %q has shape %v (%d values) but %d values", t.Name, t.Shape, n, len(t.Data))
		}
		var data []byte
		var typ st.DType
		switch dtype {
		case Float32:
			typ, data = st.F32, make([]byte, 0, 4*n)
			for _, v := range t.Data {
				data = binary.LittleEndian.AppendUint32(data, math.Float32bits(float32(v)))
			}
		case Float64:
			typ, data = st.F64, make([]byte, 0, 8*n)
			for _, v := range t.Data {
				data = binary.LittleEndian.AppendUint64(data, math.Float64bits(v))
			}
		default:
			return fmt.Errorf("safetensors: unknown element type %d; use Float32 or Float64", dtype)
		}
		view, err := st.NewTensorView(typ, shape, data)
		if err != nil {
			return fmt.Errorf("safetensors: tensor %q: %w", t.Name, err)
		}
		views[t.Name] = view
	}
	if err := st.SerializeToWriter(views, metadata, w); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// WriteFile writes tensors to path as Write does, through a temporary file
// in the same directory renamed into place, so that path never holds a
// partial file.
func WriteFile(path string, tensors []nn.Tensor, dtype DType, metadata map[string]string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	defer os.Remove(f.Name())
	if err := Write(f, tensors, dtype, metadata); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("safetensors: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// Read reads a safetensors file's F32 and F64 tensors, converted to float64,
// in the order of their names, and its metadata. Tensors of other element
// types are an error naming them.
func Read(r io.Reader) ([]nn.Tensor, map[string]string, error) {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	_, meta, err := st.ReadMetadata(buf.Bytes())
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	s, err := st.Deserialize(buf.Bytes())
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	var out []nn.Tensor
	for _, nv := range s.Tensors() {
		v := nv.TensorView
		shape := make([]int, len(v.Shape()))
		for i, d := range v.Shape() {
			shape[i] = int(d)
		}
		raw := v.Data()
		var data []float64
		switch v.DType() {
		case st.F32:
			data = make([]float64, len(raw)/4)
			for i := range data {
				data[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
			}
		case st.F64:
			data = make([]float64, len(raw)/8)
			for i := range data {
				data[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		default:
			return nil, nil, fmt.Errorf("safetensors: tensor %q has element type %s; dpmpi reads F32 and F64", nv.Name, v.DType())
		}
		out = append(out, nn.Tensor{Name: nv.Name, Shape: shape, Data: data})
	}
	slices.SortFunc(out, func(a, b nn.Tensor) int { return strings.Compare(a.Name, b.Name) })
	return out, meta.Metadata(), nil
}
