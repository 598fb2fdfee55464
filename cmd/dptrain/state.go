package main

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/dpmpi/dpmpi/checkpoint"
	"github.com/dpmpi/dpmpi/nn"
)

// A checkpoint is one file, <checkpoint-dir>/checkpoint.ckpt, written by
// rank 0 through package checkpoint (atomic replacement, SHA-256 of the
// payload). Its kind names the payload's encoding:
//
// dptrain/3, written by this program: a sequence of sections, each a uint64
// little-endian byte count n followed by n bytes, with nothing after the
// last one:
//
//	section            contents
//	header             JSON object {"ID": run identity, "Step": s, "Ranks": W,
//	                   "Thresholds": the adaptive thresholds (absent when fixed),
//	                   "Center": --center-norm's mean (absent without)}
//	parameters         the arena's P parameters, float64 little-endian
//	average            the moving average of the parameters (--ema), P
//	                   float64 little-endian; empty without --ema
//	optimizer          the wrapped optimizer's state (Updater.MarshalBinary)
//	accountant         the accountant's state (its JSON)
//	2W rank sections   for each rank r = 0..W−1: its sampler state
//	                   (data.Sampler.MarshalBinary), then its noise
//	                   generator's state (BlockGenerator.MarshalBinary;
//	                   empty in secure mode)
//
// dptrain/2, written by earlier versions, is dptrain/3 without the average
// section; dptrain/1, older still, is ckptState encoded with encoding/gob.
// Both are read (and a resumed run writes dptrain/3 from then on).
const (
	ckptKind   = "dptrain/3"
	ckptKindV2 = "dptrain/2"
	ckptKindV1 = "dptrain/1"
	ckptName   = "checkpoint.ckpt"
)

// runIdentity holds the settings a resumed run must share with the run that
// wrote the checkpoint: they decide the model, the data, the mechanism and the
// random streams. Everything else (epochs, logging, physical batch size,
// output paths) may change on resume.
type runIdentity struct {
	Model         string
	Precision     string // --precision: float64 (also for checkpoints written before the flag) or float32
	ModelSpec     string // a spec file's canonical JSON; empty for a built-in model
	Data          string // the data flags for --data-format csv or npy; empty for Fashion-MNIST
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
	Noise         string  `json:",omitempty"` // "sharded", or empty for rank-0 noise (as in checkpoints written before --noise)
	EMA           float64 `json:",omitempty"` // --ema decay; 0 (as in checkpoints written before --ema) without
	EMAWarmup     float64 `json:",omitempty"` // --ema-warmup; 0 for the default 10
	Adaptive      string  `json:",omitempty"` // adaptive clipping's settings; empty for fixed thresholds
	Augment       string  `json:",omitempty"` // the augmentation flags; empty for none
	Center        string  `json:",omitempty"` // --center-norm's settings; empty without
}

// modelIdentity is the identity of a model given as a spec file: its
// canonical JSON, so that the file may move or be reformatted between a run
// and its resumption but not change. It is empty for a built-in model, as
// in checkpoints written before spec files existed.
func modelIdentity(c *config, spec *nn.Spec) string {
	if builtinModel(c.Model) {
		return ""
	}
	b, _ := json.Marshal(spec)
	return string(b)
}

// dataIdentity is the identity of the data flags: the format, the files'
// base names (a resumed run may see them under another directory), the
// label column, the classes and the normalisation constants. It is empty
// for Fashion-MNIST with classes from its labels, as in checkpoints
// written before other formats existed.
func dataIdentity(c *config, classes int) string {
	if c.DataFormat == "idx" && c.Classes == 0 {
		return ""
	}
	base := func(list string) string {
		parts := strings.Split(list, ",")
		for i, p := range parts {
			parts[i] = filepath.Base(p)
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprintf("format=%s train=%s test=%s label=%q classes=%d mean=%v std=%v",
		c.DataFormat, base(c.TrainData), base(c.TestData), c.LabelCol, classes, c.NormMean, c.NormStd)
}

// rankState is the per-rank part of a checkpoint.
type rankState struct {
	Sampler []byte
	Noise   []byte // PCG state of the rank's noise generator; nil in secure mode
}

// ckptState is what a checkpoint holds. (Its field names are also the
// dptrain/1 gob encoding's: keep them.)
type ckptState struct {
	ID         runIdentity
	Step       int // logical steps applied to Params
	Params     []float64
	Average    []float64 // the --ema average; nil without --ema
	Thresholds []float64 // the adaptive thresholds after Step steps; nil for fixed ones
	Center     []float64 // --center-norm's private mean of the features; nil without
	Optim      []byte
	Accountant []byte // accountant JSON
	Ranks      []rankState
}

// ckptHeader is the header section of a dptrain/3 payload.
type ckptHeader struct {
	ID         runIdentity
	Step       int
	Ranks      int
	Thresholds []float64 `json:",omitempty"` // the current adaptive thresholds
	Center     []float64 `json:",omitempty"` // --center-norm's private mean of the features
}

// appendSection appends b to dst as one section: its length, then b.
func appendSection(dst, b []byte) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, uint64(len(b)))
	return append(dst, b...)
}

// sections reads a sequence of sections. The first error sticks: later
// calls return nil and err reports it.
type sections struct {
	b   []byte
	err error
}

// next returns the next section (a sub-slice of the input), named what in
// errors.
func (r *sections) next(what string) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < 8 {
		r.err = fmt.Errorf("the %s section is missing (truncated)", what)
		return nil
	}
	n := binary.LittleEndian.Uint64(r.b)
	if n > uint64(len(r.b)-8) {
		r.err = fmt.Errorf("the %s section holds %d bytes of the %d its length says (truncated)", what, len(r.b)-8, n)
		return nil
	}
	s := r.b[8 : 8+n]
	r.b = r.b[8+n:]
	return s
}

// end reports the first error, or trailing bytes after the last section.
func (r *sections) end() error {
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("%d trailing bytes after the last section", len(r.b))
	}
	return r.err
}

// appendFloats appends v to dst as one section of float64 little-endian
// values.
func appendFloats(dst []byte, v []float64) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, uint64(8*len(v)))
	for _, x := range v {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(x))
	}
	return dst
}

// floats reads the next section as float64 little-endian values, named what
// in errors.
func (r *sections) floats(what string) []float64 {
	b := r.next(what)
	if r.err == nil && len(b)%8 != 0 {
		r.err = fmt.Errorf("the %s section holds %d bytes, not a whole number of float64 values", what, len(b))
	}
	if r.err != nil {
		return nil
	}
	v := make([]float64, len(b)/8)
	for i := range v {
		v[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return v
}

// encode returns the dptrain/3 payload of s.
func (s *ckptState) encode() ([]byte, error) {
	h, err := json.Marshal(ckptHeader{ID: s.ID, Step: s.Step, Ranks: len(s.Ranks), Thresholds: s.Thresholds, Center: s.Center})
	if err != nil {
		return nil, fmt.Errorf("encoding the checkpoint header: %w", err)
	}
	size := 8*(5+2*len(s.Ranks)) + len(h) + 8*(len(s.Params)+len(s.Average)) + len(s.Optim) + len(s.Accountant)
	for _, r := range s.Ranks {
		size += len(r.Sampler) + len(r.Noise)
	}
	out := make([]byte, 0, size)
	out = appendSection(out, h)
	out = appendFloats(out, s.Params)
	out = appendFloats(out, s.Average)
	out = appendSection(out, s.Optim)
	out = appendSection(out, s.Accountant)
	for _, r := range s.Ranks {
		out = appendSection(out, r.Sampler)
		out = appendSection(out, r.Noise)
	}
	return out, nil
}

// decodeState decodes a payload of the given kind. Errors wrap
// checkpoint.ErrCorrupt.
func decodeState(kind string, payload []byte) (*ckptState, error) {
	var s *ckptState
	var err error
	switch kind {
	case ckptKind, ckptKindV2:
		s, err = decodeSections(payload, kind == ckptKind)
	case ckptKindV1:
		s, err = decodeV1(payload)
	default:
		return nil, fmt.Errorf("%w: kind %q is not a dptrain checkpoint (this program reads %s, %s and %s)", checkpoint.ErrCorrupt, kind, ckptKind, ckptKindV2, ckptKindV1)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s payload does not decode: %v", checkpoint.ErrCorrupt, kind, err)
	}
	// Identity fields added after a checkpoint was written take the value
	// that run had.
	if s.ID.LRSchedule == "" {
		s.ID.LRSchedule = "constant" // written before --lr-schedule existed
	}
	if s.ID.Precision == "" {
		s.ID.Precision = precisionName[float64]() // written before --precision existed
	}
	return s, nil
}

// decodeSections decodes a dptrain/3 payload, or a dptrain/2 one (without
// the average section) if !average.
func decodeSections(payload []byte, average bool) (*ckptState, error) {
	r := sections{b: payload}
	var h ckptHeader
	if hb := r.next("header"); r.err == nil {
		if err := json.Unmarshal(hb, &h); err != nil {
			return nil, fmt.Errorf("header: %v", err)
		}
		if h.Ranks < 0 || h.Ranks > len(payload)/16 {
			return nil, fmt.Errorf("header: %d ranks", h.Ranks)
		}
	}
	s := &ckptState{ID: h.ID, Step: h.Step, Params: r.floats("parameters"), Thresholds: h.Thresholds, Center: h.Center}
	if average {
		if s.Average = r.floats("average"); len(s.Average) == 0 {
			s.Average = nil
		}
	}
	s.Optim = nonEmpty(r.next("optimizer"))
	s.Accountant = nonEmpty(r.next("accountant"))
	s.Ranks = make([]rankState, h.Ranks)
	for i := range s.Ranks {
		s.Ranks[i].Sampler = nonEmpty(r.next(fmt.Sprintf("rank %d sampler", i)))
		s.Ranks[i].Noise = nonEmpty(r.next(fmt.Sprintf("rank %d noise", i)))
	}
	return s, r.end()
}

// nonEmpty returns a copy of b, nil if b is empty.
func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return bytes.Clone(b)
}

func decodeV1(payload []byte) (*ckptState, error) {
	var s ckptState
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&s); err != nil {
		return nil, err
	}
	return &s, nil
}

// writeCheckpoint writes s to dir/checkpoint.ckpt atomically.
func writeCheckpoint(dir string, s *ckptState) error {
	payload, err := s.encode()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating --checkpoint-dir: %w", err)
	}
	if err := checkpoint.Write(filepath.Join(dir, ckptName), ckptKind, payload); err != nil {
		return fmt.Errorf("writing the checkpoint at step %d: %w", s.Step, err)
	}
	return nil
}

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
	if kind != ckptKind && kind != ckptKindV2 && kind != ckptKindV1 {
		return nil, fmt.Errorf("--resume: checkpoint %s holds %q, not a %s checkpoint", path, kind, ckptKind)
	}
	s, err := decodeState(kind, payload)
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
