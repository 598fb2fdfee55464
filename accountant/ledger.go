package accountant

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Ledger headers: the first line of every ledger file. Version 2 is
// written; version 1 (no step or tag fields) is still read.
const (
	ledgerHeader   = "# dpmpi privacy ledger v2: record sigma q [step=N] [tag=T] crc32"
	ledgerHeaderV1 = "# dpmpi privacy ledger v1: step sigma q crc32"
)

// LedgerRecord is one step recorded in a Ledger.
type LedgerRecord struct {
	NoiseMultiplier float64 // σ of the step
	SampleRate      float64 // q of the step

	// Step is the caller's number for the step, for example the
	// optimizer's step counter; 0 means none is recorded. It need not be
	// increasing: a program that re-executes a step after a crash may
	// record the same step twice.
	Step int

	// Parts, if not nil, are the noise multipliers of the Gaussian
	// mechanisms the step released together on its sampled batch, for
	// example the gradient's and the clipped counts' of adaptive clipping
	// (optimizer.QuantileClipping). Together they are one Gaussian
	// mechanism with noise multiplier (Σ z⁻²)^(−½), which must equal
	// NoiseMultiplier (to a relative 10⁻¹²); the accountant records that.
	Parts []float64

	// Tag is an opaque label, for example a fingerprint of the state the
	// step started from; "" means none. It must be valid UTF-8 without
	// spaces or control characters.
	Tag string
}

// Ledger is an append-only, crash-safe record of every step's (σ, q), with
// an optional step number and tag per record.
//
// The file starts with the header line
//
//	# dpmpi privacy ledger v2: record sigma q [step=N] [tag=T] crc32
//
// followed by one line per step:
//
//	1 1.1 0.0042666666666666667 step=1 tag=3f2a91c0e5d4b7a8c9d0e1f2 9c1e2f3a
//
// record is the 1-based record number, always one more than the previous
// line's; sigma and q are σ and q; "step=N", "parts=Z1,Z2,…" (the
// mechanisms that σ combines, LedgerRecord.Parts) and "tag=T" are present
// only when set, in that order; the last field is the CRC-32 (IEEE, hexadecimal) of everything
// on the line before the space that precedes it. Version 1 files (header
// "# dpmpi privacy ledger v1: step sigma q crc32", records without step and
// tag) are read too.
//
// Each record is fsynced before Append returns, so the step hook can write
// it before the update is applied (write-ahead): a crash can only
// over-count spent privacy, never under-count it.
type Ledger struct {
	f       *os.File
	path    string
	next    int // number of the next record, 1-based
	version int
	buf     []byte
}

// TornRecordError reports a last record that is incomplete or corrupt, as a
// crash in the middle of a write leaves it. Records before it are intact.
type TornRecordError struct {
	Path   string
	Line   int   // 1-based line number of the torn record
	Offset int64 // byte offset where it starts
	Text   string
	Reason string

	// Unterminated reports that the record has no end of line: the write
	// stopped part way. A record that ends its line but is corrupt has
	// Unterminated false.
	Unterminated bool
}

func (e *TornRecordError) Error() string {
	return fmt.Sprintf("accountant: ledger %s: the last record, line %d (byte %d), is torn (%s): %q. "+
		"The run stopped while writing it; records are written before their update, so that step was never applied. "+
		"Remove it with RepairLedger (dpaccount ledger --repair) after checking",
		e.Path, e.Line, e.Offset, e.Reason, e.Text)
}

// CreateLedger creates a new ledger file; it fails if the file exists.
// The file and its directory entry are fsynced before it returns.
func CreateLedger(path string) (*Ledger, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("accountant: creating ledger: %w", err)
	}
	if _, err := f.WriteString(ledgerHeader + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("accountant: writing ledger header: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("accountant: syncing ledger %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		f.Close()
		return nil, fmt.Errorf("accountant: syncing the directory of ledger %s: %w", path, err)
	}
	return &Ledger{f: f, path: path, next: 1, version: 2}, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// OpenLedger opens an existing ledger to append to it, returning the history
// it holds. A torn last record is reported as *TornRecordError and the
// ledger is not opened.
func OpenLedger(path string) (*Ledger, History, error) {
	recs, v, err := readLedger(path)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("accountant: opening ledger: %w", err)
	}
	return &Ledger{f: f, path: path, next: len(recs) + 1, version: v}, historyOf(recs), nil
}

// ReadLedger returns the history recorded in a ledger file, merging
// consecutive identical steps. A torn or corrupt last record is reported
// as *TornRecordError together with the history of the intact records; a
// corrupt record anywhere else is an error.
func ReadLedger(path string) (History, error) {
	recs, _, err := readLedger(path)
	var te *TornRecordError
	if err != nil && !errors.As(err, &te) {
		return nil, err
	}
	return historyOf(recs), err
}

// ReadLedgerRecords returns the records of a ledger file in order. Errors
// are as for ReadLedger: a torn last record is reported as
// *TornRecordError together with the intact records before it.
func ReadLedgerRecords(path string) ([]LedgerRecord, error) {
	recs, _, err := readLedger(path)
	return recs, err
}

func historyOf(recs []LedgerRecord) History {
	var h History
	for _, r := range recs {
		h = h.Add(r.NoiseMultiplier, r.SampleRate, 1)
	}
	return h
}

// readLedger parses a ledger file and returns its records and format
// version.
func readLedger(path string) ([]LedgerRecord, int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("accountant: reading ledger: %w", err)
	}
	var version int
	var off int64
	switch {
	case bytes.HasPrefix(data, []byte(ledgerHeader+"\n")):
		version, off = 2, int64(len(ledgerHeader)+1)
	case bytes.HasPrefix(data, []byte(ledgerHeaderV1+"\n")):
		version, off = 1, int64(len(ledgerHeaderV1)+1)
	default:
		return nil, 0, fmt.Errorf("accountant: %s is not a dpmpi privacy ledger (first line must be %q)", path, ledgerHeader)
	}
	var recs []LedgerRecord
	rest := data[off:]
	line := 1
	for len(rest) > 0 {
		line++
		i := bytes.IndexByte(rest, '\n')
		last := i < 0 || i == len(rest)-1
		var text []byte
		if i < 0 {
			text = rest
		} else {
			text = rest[:i]
		}
		r, num, reason := parseRecord(text, version)
		if reason == "" && num != len(recs)+1 {
			reason = fmt.Sprintf("record number %d, expected %d", num, len(recs)+1)
		}
		if i < 0 && reason == "" {
			reason = "no end of line"
		}
		if reason != "" {
			if last {
				return recs, version, &TornRecordError{Path: path, Line: line, Offset: off, Text: string(text), Reason: reason, Unterminated: i < 0}
			}
			return nil, 0, fmt.Errorf("accountant: ledger %s: line %d is damaged (byte %d: %s): %q; it is not the last record, so it is not a torn write; refusing to guess the privacy spent (restore the file from a copy; do not edit records by hand)",
				path, line, off, reason, text)
		}
		recs = append(recs, r)
		off += int64(i + 1)
		rest = rest[i+1:]
	}
	return recs, version, nil
}

// parseRecord parses one record line; reason is "" if it is intact.
func parseRecord(text []byte, version int) (r LedgerRecord, num int, reason string) {
	j := bytes.LastIndexByte(text, ' ')
	if j < 0 {
		return r, 0, "no checksum field"
	}
	body := text[:j]
	crc, err := strconv.ParseUint(string(text[j+1:]), 16, 32)
	if err != nil || uint32(crc) != crc32.ChecksumIEEE(body) {
		return r, 0, "checksum mismatch"
	}
	f := strings.Split(string(body), " ")
	if version == 1 && len(f) != 3 {
		return r, 0, fmt.Sprintf("%d fields, want 4", len(f)+1)
	}
	if len(f) < 3 || len(f) > 6 {
		return r, 0, fmt.Sprintf("%d fields, want 4 to 7", len(f)+1)
	}
	num, err1 := strconv.Atoi(f[0])
	sigma, err2 := strconv.ParseFloat(f[1], 64)
	q, err3 := strconv.ParseFloat(f[2], 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return r, 0, err.Error()
	}
	r = LedgerRecord{NoiseMultiplier: sigma, SampleRate: q}
	opt := f[3:]
	if len(opt) > 0 && strings.HasPrefix(opt[0], "step=") {
		s, err := strconv.Atoi(opt[0][len("step="):])
		if err != nil || s <= 0 {
			return r, 0, fmt.Sprintf("bad step field %q", opt[0])
		}
		r.Step = s
		opt = opt[1:]
	}
	if len(opt) > 0 && strings.HasPrefix(opt[0], "parts=") {
		for _, z := range strings.Split(opt[0][len("parts="):], ",") {
			v, err := strconv.ParseFloat(z, 64)
			if err != nil {
				return r, 0, fmt.Sprintf("bad parts field %q", opt[0])
			}
			r.Parts = append(r.Parts, v)
		}
		if err := checkParts(sigma, r.Parts); err != nil {
			return r, 0, err.Error()
		}
		opt = opt[1:]
	}
	if len(opt) > 0 && strings.HasPrefix(opt[0], "tag=") {
		r.Tag = opt[0][len("tag="):]
		if err := validTag(r.Tag); err != nil || r.Tag == "" {
			return r, 0, fmt.Sprintf("bad tag field %q", opt[0])
		}
		opt = opt[1:]
	}
	if len(opt) > 0 {
		return r, 0, fmt.Sprintf("unknown field %q", opt[0])
	}
	if err := (Entry{NoiseMultiplier: sigma, SampleRate: q, Steps: 1}).Validate(); err != nil {
		return r, 0, err.Error()
	}
	return r, num, ""
}

// checkParts reports whether the mechanisms parts combine into one with
// noise multiplier sigma: σ⁻² = Σ z⁻².
func checkParts(sigma float64, parts []float64) error {
	if parts == nil {
		return nil
	}
	inv := 0.0
	for _, z := range parts {
		if !(z > 0) || math.IsInf(z, 0) {
			return fmt.Errorf("accountant: ledger record: mechanism noise multiplier %v in parts %v is not finite and > 0", z, parts)
		}
		inv += 1 / (z * z)
	}
	if c := 1 / math.Sqrt(inv); math.Abs(c-sigma) > 1e-12*sigma {
		return fmt.Errorf("accountant: ledger record: parts %v combine to a noise multiplier of %v, not the recorded σ = %v; the step's privacy would be misstated", parts, c, sigma)
	}
	return nil
}

// validTag reports whether t can be stored as a record's tag.
func validTag(t string) error {
	for i, c := range t {
		if c == utf8.RuneError || c <= ' ' || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			return fmt.Errorf("accountant: ledger tag %q has a space, control character or invalid UTF-8 at byte %d; use a tag without them (for example hexadecimal)", t, i)
		}
	}
	return nil
}

// Append records one step without step number or tag and makes it durable
// (fsync) before returning.
func (l *Ledger) Append(sigma, q float64) error {
	return l.AppendRecord(LedgerRecord{NoiseMultiplier: sigma, SampleRate: q})
}

// AppendRecord records one step and makes it durable (fsync) before
// returning. It rejects a σ or q that Entry.Validate rejects, a negative
// step and a tag that is not valid UTF-8 or holds spaces or control
// characters.
func (l *Ledger) AppendRecord(r LedgerRecord) error {
	if err := (Entry{NoiseMultiplier: r.NoiseMultiplier, SampleRate: r.SampleRate, Steps: 1}).Validate(); err != nil {
		return err
	}
	if r.Step < 0 {
		return fmt.Errorf("accountant: ledger %s: step number %d is negative; use 0 for none", l.path, r.Step)
	}
	if err := validTag(r.Tag); err != nil {
		return err
	}
	if err := checkParts(r.NoiseMultiplier, r.Parts); err != nil {
		return err
	}
	if l.version == 1 && (r.Step != 0 || r.Tag != "" || r.Parts != nil) {
		return fmt.Errorf("accountant: ledger %s is in format v1, which has no step numbers or tags; start a new ledger with CreateLedger", l.path)
	}
	b := l.buf[:0]
	b = strconv.AppendInt(b, int64(l.next), 10)
	b = append(b, ' ')
	b = strconv.AppendFloat(b, r.NoiseMultiplier, 'g', -1, 64)
	b = append(b, ' ')
	b = strconv.AppendFloat(b, r.SampleRate, 'g', -1, 64)
	if r.Step != 0 {
		b = append(b, " step="...)
		b = strconv.AppendInt(b, int64(r.Step), 10)
	}
	for i, z := range r.Parts {
		if i == 0 {
			b = append(b, " parts="...)
		} else {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, z, 'g', -1, 64)
	}
	if r.Tag != "" {
		b = append(b, " tag="...)
		b = append(b, r.Tag...)
	}
	crc := crc32.ChecksumIEEE(b)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(crc), 16)
	b = append(b, '\n')
	l.buf = b
	if _, err := l.f.Write(b); err != nil {
		return fmt.Errorf("accountant: ledger %s, record %d: %w", l.path, l.next, err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("accountant: ledger %s, record %d: fsync: %w", l.path, l.next, err)
	}
	l.next++
	return nil
}

// Hook returns a step hook for an optimizer: it appends (σ, q) to the
// ledger, durably, and then records the step in acc. Call it before the
// update is applied; if it returns an error, do not apply the update.
func (l *Ledger) Hook(acc *Accountant) func(sigma, q float64) error {
	return func(sigma, q float64) error {
		if err := l.Append(sigma, q); err != nil {
			return err
		}
		return acc.Step(sigma, q)
	}
}

// Close closes the ledger file. Closing a nil Ledger does nothing.
func (l *Ledger) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	return l.f.Close()
}

// RepairLedger removes a torn last record from a ledger file and returns
// what was removed; it changes nothing if the ledger is intact. Use it
// only after reading the TornRecordError: the removed step was being
// written when the run stopped, so its update was never applied.
func RepairLedger(path string) (removed string, err error) {
	_, _, rerr := readLedger(path)
	var te *TornRecordError
	if !errors.As(rerr, &te) {
		return "", rerr
	}
	if err := os.Truncate(path, te.Offset); err != nil {
		return "", fmt.Errorf("accountant: repairing ledger: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return "", err
	}
	return te.Text, nil
}
