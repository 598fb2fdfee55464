package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dpmpi/dpmpi/checkpoint"
	"github.com/dpmpi/dpmpi/optimizer"
)

// Weights file (little-endian):
//
//	"DPTRAINW" | uint32 version (1) | uint32 layer count L |
//	L × { uint32 name length, name, uint32 rank d, d × uint32 dims, uint64 offset, uint64 length } |
//	uint64 parameter count P | P × float64
//
// Each layer's parameters are values[offset:offset+length]: its weight in
// PyTorch layout, then its bias. The values are float64 whatever the run's
// --precision (float32 parameters convert exactly), so readers need not know
// it.
const weightsMagic = "DPTRAINW"

// writeWeights writes the arena's layers and parameters to path atomically.
func writeWeights[F optimizer.Float](path string, a *optimizer.Arena[F]) error {
	var b bytes.Buffer
	b.WriteString(weightsMagic)
	put := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	put(uint32(1))
	put(uint32(len(a.Layers)))
	for _, l := range a.Layers {
		put(uint32(len(l.Name)))
		b.WriteString(l.Name)
		put(uint32(len(l.Shape)))
		for _, d := range l.Shape {
			put(uint32(d))
		}
		put(uint64(l.Offset))
		put(uint64(l.Len))
	}
	put(uint64(len(a.Params)))
	put(toFloat64(a.Params))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return checkpoint.WriteFileAtomic(path, b.Bytes())
}

// toFloat64 returns p as float64 values: p itself for float64, an exact
// copy for float32.
func toFloat64[F optimizer.Float](p []F) []float64 {
	if p, ok := any(p).([]float64); ok {
		return p
	}
	v := make([]float64, len(p))
	for i, x := range p {
		v[i] = float64(x)
	}
	return v
}

// readWeights reads the parameter values of a weights file.
func readWeights(path string) ([]float64, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := bytes.NewReader(raw)
	magic := make([]byte, 8)
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != weightsMagic {
		return nil, fmt.Errorf("%s: not a dptrain weights file", path)
	}
	get := func(v any) error { return binary.Read(r, binary.LittleEndian, v) }
	var ver, nl uint32
	if err := get(&ver); err != nil || ver != 1 {
		return nil, fmt.Errorf("%s: unsupported version", path)
	}
	if err := get(&nl); err != nil {
		return nil, err
	}
	for i := 0; i < int(nl); i++ {
		var n, d uint32
		if err := get(&n); err != nil {
			return nil, err
		}
		if _, err := r.Seek(int64(n), io.SeekCurrent); err != nil {
			return nil, err
		}
		if err := get(&d); err != nil {
			return nil, err
		}
		if _, err := r.Seek(int64(4*d+16), io.SeekCurrent); err != nil {
			return nil, err
		}
	}
	var p uint64
	if err := get(&p); err != nil {
		return nil, err
	}
	if uint64(r.Len()) != 8*p {
		return nil, fmt.Errorf("%s: %d bytes of values, want %d", path, r.Len(), 8*p)
	}
	v := make([]float64, p)
	return v, get(v)
}
