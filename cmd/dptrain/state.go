package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"

	"github.com/dpmpi/dpmpi/checkpoint"
	"github.com/dpmpi/dpmpi/optimizer"
)

// ckptKind names the payload of dptrain checkpoints (and its version).
const ckptKind = "dptrain/1"

// runIdentity holds the settings a resumed run must share with the run that
// wrote the checkpoint: they decide the model, the data, the mechanism and the
// random streams. Everything else (epochs, logging, physical batch size,
// output paths) may change on resume.
type runIdentity struct {
	Model         string
	Clipping      string
	Thresholds    []float64
	Optimizer     string
	LR            float64
	LRSchedule    string
	Momentum      float64
	WeightDecay   float64
	World         int
	TrainN        int
	SampleRate    float64
	Sigma         float64
	TargetEpsilon float64
	Delta         float64
	Accountant    string
	Seed          uint64
	Secure        bool
}

// rankState is the per-rank part of a checkpoint.
type rankState struct {
	Sampler []byte
	Noise   []byte // PCG state of the rank's noise generator; nil in secure mode
}

// ckptState is the checkpoint payload (gob-encoded inside a checkpoint file).
type ckptState struct {
	ID         runIdentity
	Step       int // logical steps applied to Params
	Params     []float64
	Optim      []byte
	Accountant []byte // accountant JSON
	Ranks      []rankState
}

func (s *ckptState) encode() ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(s); err != nil {
		return nil, fmt.Errorf("encoding checkpoint: %w", err)
	}
	return b.Bytes(), nil
}

func decodeState(payload []byte) (*ckptState, error) {
	var s ckptState
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: payload does not decode: %v", checkpoint.ErrCorrupt, err)
	}
	return &s, nil
}

const ckptName = "checkpoint.ckpt"

// loadCheckpoint reads and verifies dir/checkpoint.ckpt.
func loadCheckpoint(dir string) (*ckptState, error) {
	path := filepath.Join(dir, ckptName)
	kind, payload, err := checkpoint.Read(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("--resume: no checkpoint at %s (start without --resume, or point --checkpoint-dir at the run's checkpoints)", path)
		}
		return nil, fmt.Errorf("--resume: refusing checkpoint: %w", err)
	}
	if kind != ckptKind {
		return nil, fmt.Errorf("--resume: checkpoint %s holds %q, not a %s checkpoint", path, kind, ckptKind)
	}
	s, err := decodeState(payload)
	if err != nil {
		return nil, fmt.Errorf("--resume: refusing checkpoint %s: %w", path, err)
	}
	return s, nil
}

// mismatch lists the identity fields that differ between a checkpoint and the
// current flags.
func (id runIdentity) mismatch(cur runIdentity) error {
	a, b := reflect.ValueOf(id), reflect.ValueOf(cur)
	var diffs []string
	for i := 0; i < a.NumField(); i++ {
		if !reflect.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) {
			diffs = append(diffs, fmt.Sprintf("%s: checkpoint %v, now %v", a.Type().Field(i).Name, a.Field(i).Interface(), b.Field(i).Interface()))
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	return fmt.Errorf("--resume: the checkpoint was written by a run with other settings (%v); resume with the original flags and rank count", diffs)
}

// fingerprint hashes what decides the next step's release on this rank:
// parameters, noise generator state and sampler state.
func fingerprint(params []float64, noise, sampler []byte) string {
	h := sha256.New()
	var b [8]byte
	for _, v := range params {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
		h.Write(b[:])
	}
	binary.LittleEndian.PutUint64(b[:], uint64(len(noise)))
	h.Write(b[:])
	h.Write(noise)
	h.Write(sampler)
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// Weights file (little-endian):
//
//	"DPTRAINW" | uint32 version (1) | uint32 layer count L |
//	L × { uint32 name length, name, uint32 rank d, d × uint32 dims, uint64 offset, uint64 length } |
//	uint64 parameter count P | P × float64
//
// Each layer's parameters are values[offset:offset+length]: its weight in
// PyTorch layout, then its bias.
const weightsMagic = "DPTRAINW"

func writeWeights(path string, a *optimizer.Arena) error {
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
	put(a.Params)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return checkpoint.WriteFileAtomic(path, b.Bytes())
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
