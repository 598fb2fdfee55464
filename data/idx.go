package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// IDX element types, the third byte of an IDX file's magic number. Values
// wider than a byte are stored big-endian.
const (
	IDXUint8   byte = 0x08 // unsigned byte
	IDXInt8    byte = 0x09 // signed byte
	IDXInt16   byte = 0x0B // 16-bit signed integer
	IDXInt32   byte = 0x0C // 32-bit signed integer
	IDXFloat32 byte = 0x0D // IEEE 754 single precision
	IDXFloat64 byte = 0x0E // IEEE 754 double precision
)

// idxSize returns the size in bytes of one element of type t, or 0 if t is
// not an IDX type.
func idxSize(t byte) int {
	switch t {
	case IDXUint8, IDXInt8:
		return 1
	case IDXInt16:
		return 2
	case IDXInt32, IDXFloat32:
		return 4
	case IDXFloat64:
		return 8
	}
	return 0
}

// maxIDXBytes bounds the data size ReadIDX accepts, so a corrupt header
// cannot make it allocate without limit: 16 GiB, or the largest int on a
// 32-bit platform.
const maxIDXBytes = min(1<<34, math.MaxInt)

// IDX is an array read from an IDX file.
type IDX struct {
	// Type is the element type, one of the IDX* constants.
	Type byte
	// Dims are the dimensions, outermost first.
	Dims []int
	// Raw holds the elements as stored: big-endian, row-major.
	Raw []byte
}

// Len returns the number of elements.
func (x *IDX) Len() int { return product(x.Dims) }

// product returns the number of elements of an array of the given shape.
func product(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Float64 returns element i converted to float64.
func (x *IDX) Float64(i int) float64 {
	switch x.Type {
	case IDXUint8:
		return float64(x.Raw[i])
	case IDXInt8:
		return float64(int8(x.Raw[i]))
	case IDXInt16:
		return float64(int16(binary.BigEndian.Uint16(x.Raw[2*i:])))
	case IDXInt32:
		return float64(int32(binary.BigEndian.Uint32(x.Raw[4*i:])))
	case IDXFloat32:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(x.Raw[4*i:])))
	case IDXFloat64:
		return math.Float64frombits(binary.BigEndian.Uint64(x.Raw[8*i:]))
	}
	panic(fmt.Sprintf("data: IDX element type 0x%02x", x.Type))
}

// ReadIDX reads one IDX array from r, which may be gzip-compressed (detected
// from its first bytes). It checks the magic number (two zero bytes, a known
// type, at least one dimension), that the size fits, that the data are
// complete and that nothing follows them; a gzip stream must also pass its
// checksum. name is used in error messages, for example the file name.
func ReadIDX(r io.Reader, name string) (*IDX, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(2)
	if err != nil && len(head) < 2 {
		return nil, fmt.Errorf("data: %s: file is empty or shorter than an IDX header (%d bytes)", name, len(head))
	}
	var src io.Reader = br
	compressed := head[0] == 0x1f && head[1] == 0x8b
	if compressed {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("data: %s: bad gzip header: %w", name, err)
		}
		zr.Multistream(false)
		src = zr
	}
	cr := &countReader{r: src}
	var magic [4]byte
	if _, err := io.ReadFull(cr, magic[:]); err != nil {
		return nil, idxErr(name, cr.n, "reading the magic number", err)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("data: %s: offset 0: magic %02x %02x %02x %02x does not start with two zero bytes; not an IDX file", name, magic[0], magic[1], magic[2], magic[3])
	}
	size := idxSize(magic[2])
	if size == 0 {
		return nil, fmt.Errorf("data: %s: offset 2: unknown IDX element type 0x%02x", name, magic[2])
	}
	nd := int(magic[3])
	if nd == 0 {
		return nil, fmt.Errorf("data: %s: offset 3: IDX file declares 0 dimensions", name)
	}
	x := &IDX{Type: magic[2], Dims: make([]int, nd)}
	total := size
	for i := range x.Dims {
		var b [4]byte
		if _, err := io.ReadFull(cr, b[:]); err != nil {
			return nil, idxErr(name, cr.n, fmt.Sprintf("reading dimension %d of %d", i, nd), err)
		}
		d := binary.BigEndian.Uint32(b[:])
		if d > math.MaxInt32 {
			return nil, fmt.Errorf("data: %s: offset %d: dimension %d is %d, too large", name, 4+4*i, i, d)
		}
		x.Dims[i] = int(d)
		if d != 0 && total > maxIDXBytes/int(d) {
			return nil, fmt.Errorf("data: %s: dimensions %v declare more than %d bytes; the header is corrupt", name, x.Dims[:i+1], maxIDXBytes)
		}
		total *= int(d)
	}
	x.Raw = make([]byte, total)
	if n, err := io.ReadFull(cr, x.Raw); err != nil {
		return nil, fmt.Errorf("data: %s: truncated: dimensions %v need %d data bytes after the %d-byte header, found %d (%v)", name, x.Dims, total, 4+4*nd, n, err)
	}
	// Nothing may follow, and reading to the end makes gzip verify its
	// checksum.
	var one [1]byte
	n, err := io.ReadFull(cr, one[:])
	if n > 0 {
		return nil, fmt.Errorf("data: %s: offset %d: unexpected data after the %d elements declared by dimensions %v", name, cr.n-1, x.Len(), x.Dims)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("data: %s: gzip stream truncated after the data (its trailer is missing); the file is incomplete", name)
	}
	if !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("data: %s: after the data: %w", name, err)
	}
	if compressed {
		if _, err := br.ReadByte(); err == nil {
			return nil, fmt.Errorf("data: %s: unexpected bytes after the gzip stream", name)
		}
	}
	return x, nil
}

func idxErr(name string, off int64, what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("data: %s: offset %d: truncated while %s", name, off, what)
	}
	return fmt.Errorf("data: %s: offset %d: %s: %w", name, off, what, err)
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ReadIDXFile reads an IDX array from the named file, gzip-compressed or
// raw.
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return ReadIDX(f, path)
}

// WriteIDX writes x in IDX format (uncompressed) to w. It returns an error
// if x's dimensions do not match its data.
func WriteIDX(w io.Writer, x *IDX) error {
	if idxSize(x.Type) == 0 || len(x.Dims) == 0 || len(x.Dims) > 255 {
		return fmt.Errorf("data: WriteIDX: type 0x%02x with %d dimensions cannot be written", x.Type, len(x.Dims))
	}
	if x.Len()*idxSize(x.Type) != len(x.Raw) {
		return fmt.Errorf("data: WriteIDX: dimensions %v need %d bytes, Raw has %d", x.Dims, x.Len()*idxSize(x.Type), len(x.Raw))
	}
	var buf bytes.Buffer
	buf.Write([]byte{0, 0, x.Type, byte(len(x.Dims))})
	for _, d := range x.Dims {
		binary.Write(&buf, binary.BigEndian, uint32(d))
	}
	buf.Write(x.Raw)
	_, err := w.Write(buf.Bytes())
	return err
}
