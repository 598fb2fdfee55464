package main

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/accountant"
	"github.com/dpmpi/dpmpi/checkpoint"
)

// encodeV1 is the payload encoding of dptrain/1 checkpoints, as earlier
// versions wrote it (gob of ckptState); kept here to test that they are
// still read.
func encodeV1(s *ckptState) ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(s); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeV1 writes s to dir as a dptrain/1 checkpoint, which holds no
// average.
func writeV1(t *testing.T, dir string, s *ckptState) {
	t.Helper()
	old := *s
	old.Average = nil
	p, err := encodeV1(&old)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkpoint.Write(filepath.Join(dir, ckptName), ckptKindV1, p); err != nil {
		t.Fatal(err)
	}
}

// testStates are checkpoints of a few shapes: deterministic and secure
// mode, one and three ranks, unusual parameter values.
func testStates() map[string]*ckptState {
	id := runIdentity{Model: "cnn", Clipping: "per-layer", Thresholds: []float64{0.05, 0.05, 0.05, 0.05}, Optimizer: "sgd",
		LR: 2, LRSchedule: "cosine", Precision: "float32", Momentum: 0.9, World: 3, TrainN: 60000, SampleRate: 1024.0 / 60000,
		Sigma: 0.7672119140625, TargetEpsilon: 3, Delta: 1e-5, Accountant: "rdp", Seed: math.MaxUint64 - 5}
	secure := id
	secure.Secure, secure.World, secure.Seed = true, 1, 1
	return map[string]*ckptState{
		"three ranks": {ID: id, Step: 17, Params: []float64{1.5, -0.25, math.SmallestNonzeroFloat64, math.Inf(-1), 0},
			Average: []float64{1.25, -0.5, 0, math.MaxFloat64, -0.0},
			Optim:   []byte("dpmpiopt\x03SGD..."), Accountant: []byte(`{"history":[]}`),
			Ranks: []rankState{{Sampler: []byte{1, 2}, Noise: []byte{3}}, {Sampler: []byte{4}, Noise: []byte{5, 6}}, {Sampler: []byte{7}, Noise: []byte{8}}}},
		"secure": {ID: secure, Step: 3, Params: []float64{math.NaN()},
			Optim: []byte{9}, Accountant: []byte(`{}`), Ranks: []rankState{{Sampler: []byte{1}}}},
	}
}

// sameState compares states, NaN parameters bit for bit.
func sameState(t *testing.T, got, want *ckptState) {
	t.Helper()
	g, w := *got, *want
	if len(g.Params) != len(w.Params) {
		t.Fatalf("%d parameters, want %d", len(g.Params), len(w.Params))
	}
	for i := range g.Params {
		if math.Float64bits(g.Params[i]) != math.Float64bits(w.Params[i]) {
			t.Errorf("parameter %d is %v, want %v", i, g.Params[i], w.Params[i])
		}
	}
	g.Params, w.Params = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("state\n%+v\nwant\n%+v", g, w)
	}
}

// writeV2 writes s as a dptrain/2 checkpoint (dptrain/3 without the
// average section), as versions before --ema did.
func writeV2(t *testing.T, dir string, s *ckptState) {
	t.Helper()
	v2 := *s
	v2.Average = nil
	p, err := v2.encode()
	if err != nil {
		t.Fatal(err)
	}
	off := 8 + int(binary.LittleEndian.Uint64(p))       // after the header
	off += 8 + int(binary.LittleEndian.Uint64(p[off:])) // after the parameters
	if binary.LittleEndian.Uint64(p[off:]) != 0 {
		t.Fatal("the empty average section is not where the format says")
	}
	p = append(p[:off:off], p[off+8:]...)
	if err := checkpoint.Write(filepath.Join(dir, ckptName), ckptKindV2, p); err != nil {
		t.Fatal(err)
	}
}

// writeKind writes s to dir as a checkpoint of the given kind: the current
// format or one of the earlier ones.
func writeKind(t *testing.T, dir, kind string, s *ckptState) {
	t.Helper()
	switch kind {
	case ckptKindV1:
		writeV1(t, dir, s)
	case ckptKindV2:
		writeV2(t, dir, s)
	default:
		if err := writeCheckpoint(dir, s); err != nil {
			t.Fatal(err)
		}
	}
}

// Checkpoints written before --lr-schedule and --precision existed hold
// neither field; they are read as the constant schedule and float64, which
// those runs had, in every format.
func TestCheckpointLegacyIdentity(t *testing.T) {
	for _, kind := range []string{ckptKind, ckptKindV2, ckptKindV1} {
		t.Run(kind, func(t *testing.T) {
			s := testStates()["secure"]
			s.ID.LRSchedule, s.ID.Precision = "", ""
			dir := t.TempDir()
			writeKind(t, dir, kind, s)
			got, err := loadCheckpoint(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID.LRSchedule != "constant" || got.ID.Precision != "float64" {
				t.Errorf("read as schedule %q, precision %q; want constant, float64", got.ID.LRSchedule, got.ID.Precision)
			}
		})
	}
}

// Checkpoints are read back as written, in the current format and in the
// dptrain/2 and dptrain/1 formats of earlier versions (which hold no
// average).
func TestCheckpointFormats(t *testing.T) {
	for name, s := range testStates() {
		for _, kind := range []string{ckptKind, ckptKindV2, ckptKindV1} {
			t.Run(name+"/"+kind, func(t *testing.T) {
				dir := t.TempDir()
				want := s
				writeKind(t, dir, kind, s)
				if kind != ckptKind {
					old := *s
					old.Average = nil
					want = &old
				}
				got, err := loadCheckpoint(dir)
				if err != nil {
					t.Fatal(err)
				}
				sameState(t, got, want)
				k, _, err := checkpoint.Read(filepath.Join(dir, ckptName))
				if err != nil || k != kind {
					t.Errorf("file kind %q (%v), want %q", k, err, kind)
				}
			})
		}
	}
}

// A dptrain/3 payload that does not decode (with a valid checksum, so that
// only the framing can catch it) is refused with what is wrong.
func TestCheckpointBadPayload(t *testing.T) {
	good, err := testStates()["three ranks"].encode()
	if err != nil {
		t.Fatal(err)
	}
	hlen := int(binary.LittleEndian.Uint64(good))
	section := func(b []byte, n int) (start, end int) { // section n's bytes
		off := 0
		for range n {
			off += 8 + int(binary.LittleEndian.Uint64(b[off:]))
		}
		return off + 8, off + 8 + int(binary.LittleEndian.Uint64(b[off:]))
	}
	_, accEnd := section(good, 4)
	tests := []struct {
		name    string
		payload []byte
		want    string
	}{
		{"empty", nil, "header section is missing"},
		{"header only", good[:8+hlen], "parameters section is missing"},
		{"cut in the accountant", good[:accEnd-1], "accountant section holds"},
		{"last rank missing", good[:len(good)-9], "rank 2 noise section is missing"},
		{"trailing", append(bytes.Clone(good), 0), "1 trailing bytes"},
		{"bad header", append(binary.LittleEndian.AppendUint64(nil, 2), "{x"...), "header"},
		{"ragged parameters", func() []byte {
			b := bytes.Clone(good)
			s, _ := section(b, 1)
			binary.LittleEndian.PutUint64(b[s-8:], binary.LittleEndian.Uint64(b[s-8:])-1)
			return b
		}(), "not a whole number of float64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := checkpoint.Write(filepath.Join(dir, ckptName), ckptKind, tt.payload); err != nil {
				t.Fatal(err)
			}
			_, err := loadCheckpoint(dir)
			if err == nil || !errors.Is(err, checkpoint.ErrCorrupt) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "refusing checkpoint") {
				t.Errorf("got %v, want a refusal wrapping ErrCorrupt that mentions %q", err, tt.want)
			}
		})
	}
	t.Run("foreign kind", func(t *testing.T) {
		dir := t.TempDir()
		if err := checkpoint.Write(filepath.Join(dir, ckptName), "other/1", good); err != nil {
			t.Fatal(err)
		}
		if _, err := loadCheckpoint(dir); err == nil || !strings.Contains(err.Error(), `holds "other/1"`) {
			t.Errorf("got %v, want a refusal naming the kind", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		if _, err := loadCheckpoint(t.TempDir()); err == nil || !strings.Contains(err.Error(), "start without --resume") {
			t.Errorf("got %v", err)
		}
	})
}

// The resume broadcast carries the checkpoint and the ledger records.
func TestResumeMsg(t *testing.T) {
	recs := []accountant.LedgerRecord{{NoiseMultiplier: 1.1, SampleRate: 0.125, Step: 1, Tag: "ab"}, {NoiseMultiplier: 1.1, SampleRate: 0.125, Step: 2}}
	for name, s := range testStates() {
		for _, ledger := range [][]accountant.LedgerRecord{nil, recs} {
			b, err := (&resumeMsg{state: s, ledger: ledger}).encode()
			if err != nil {
				t.Fatal(err)
			}
			m, err := decodeResumeMsg(b)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			sameState(t, m.state, s)
			if len(m.ledger) != len(ledger) || (len(ledger) > 0 && !reflect.DeepEqual(m.ledger, ledger)) {
				t.Errorf("%s: ledger records %v, want %v", name, m.ledger, ledger)
			}
			if _, err := decodeResumeMsg(b[:len(b)-1]); err == nil {
				t.Errorf("%s: a truncated message decodes", name)
			}
		}
	}
}
