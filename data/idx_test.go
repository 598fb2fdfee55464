package data

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"testing"
)

func sampleIDX() *IDX {
	raw := make([]byte, 2*3*4)
	for i := range raw {
		raw[i] = byte(7 * i)
	}
	return &IDX{Type: IDXUint8, Dims: []int{2, 3, 4}, Raw: raw}
}

func encode(t *testing.T, x *IDX, gz bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteIDX(&buf, x); err != nil {
		t.Fatal(err)
	}
	if !gz {
		return buf.Bytes()
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(buf.Bytes())
	w.Close()
	return z.Bytes()
}

func TestIDXRoundTrip(t *testing.T) {
	for _, gz := range []bool{false, true} {
		want := sampleIDX()
		got, err := ReadIDX(bytes.NewReader(encode(t, want, gz)), "x")
		if err != nil {
			t.Fatalf("gzip %v: %v", gz, err)
		}
		if got.Type != want.Type || fmt.Sprint(got.Dims) != fmt.Sprint(want.Dims) || !bytes.Equal(got.Raw, want.Raw) {
			t.Fatalf("gzip %v: read %+v, wrote %+v", gz, got, want)
		}
	}
}

func TestIDXTypes(t *testing.T) {
	cases := []struct {
		typ  byte
		raw  []byte
		want float64
	}{
		{IDXUint8, []byte{200}, 200},
		{IDXInt8, []byte{0xff}, -1},
		{IDXInt16, []byte{0xff, 0xfe}, -2},
		{IDXInt32, []byte{0, 1, 0, 0}, 65536},
		{IDXFloat32, []byte{0x3f, 0xc0, 0, 0}, 1.5},
		{IDXFloat64, []byte{0xc0, 0x04, 0, 0, 0, 0, 0, 0}, -2.5},
	}
	for _, c := range cases {
		x, err := ReadIDX(bytes.NewReader(encode(t, &IDX{Type: c.typ, Dims: []int{1}, Raw: c.raw}, false)), "x")
		if err != nil {
			t.Fatalf("type %#x: %v", c.typ, err)
		}
		if got := x.Float64(0); got != c.want {
			t.Errorf("type %#x: %v, want %v", c.typ, got, c.want)
		}
	}
}

func TestIDXCorrupt(t *testing.T) {
	good := encode(t, sampleIDX(), false)
	gz := encode(t, sampleIDX(), true)
	badCRC := append([]byte(nil), gz...)
	badCRC[len(badCRC)-6] ^= 0xff // inside the CRC-32 trailer
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"one byte", []byte{0}, "shorter than"},
		{"bad magic", append([]byte{1, 0}, good[2:]...), "two zero bytes"},
		{"unknown type", append([]byte{0, 0, 0x42}, good[3:]...), "unknown IDX element type"},
		{"no dims", []byte{0, 0, 8, 0}, "0 dimensions"},
		{"truncated header", good[:9], "truncated while reading dimension 1"},
		{"truncated data", good[:len(good)-1], "truncated: dimensions [2 3 4] need 24"},
		{"trailing data", append(append([]byte(nil), good...), 9), "unexpected data after"},
		{"huge dims", []byte{0, 0, 8, 3, 0x7f, 0, 0, 0, 0x7f, 0, 0, 0, 0x7f, 0, 0, 0}, "header is corrupt"},
		{"gzip truncated", gz[:len(gz)-10], "truncated"},
		{"gzip checksum", badCRC, "checksum"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x, err := ReadIDX(bytes.NewReader(c.data), "f.idx")
			if err == nil || x != nil {
				t.Fatalf("accepted corrupt file: %+v", x)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "f.idx") {
				t.Fatalf("error %q, want it to name the file and contain %q", err, c.want)
			}
		})
	}
}

// TestIDXEveryTruncation checks that every proper prefix of a valid file,
// raw or gzip, is an error and never a panic or a partial array.
func TestIDXEveryTruncation(t *testing.T) {
	for _, gz := range []bool{false, true} {
		full := encode(t, sampleIDX(), gz)
		for n := 0; n < len(full); n++ {
			if x, err := ReadIDX(bytes.NewReader(full[:n]), "p"); err == nil {
				t.Fatalf("gzip %v: prefix of %d/%d bytes accepted: %+v", gz, n, len(full), x)
			}
		}
	}
}

func TestWriteIDXErrors(t *testing.T) {
	if err := WriteIDX(&bytes.Buffer{}, &IDX{Type: IDXUint8, Dims: []int{3}, Raw: []byte{1}}); err == nil {
		t.Fatal("WriteIDX accepted 1 byte for dimensions [3]")
	}
}
