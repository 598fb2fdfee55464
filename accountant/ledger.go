package accountant

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"
	"strings"
)

// ledgerHeader is the first line of every ledger file.
const ledgerHeader = "# dpmpi privacy ledger v1: step sigma q crc32"

// Ledger is an append-only, crash-safe record of every step's (σ, q).
// Each record is one line "step σ q crc" (crc32-IEEE of "step σ q" in hex)
// and is fsynced before Append returns, so the step hook can write it
// before the update is applied (write-ahead): a crash can only over-count
// spent privacy, never under-count it.
type Ledger struct {
	f    *os.File
	path string
	next int // number of the next record, 1-based
	buf  []byte
}

// TornRecordError reports a last record that is incomplete or corrupt, as a
// crash in the middle of a write leaves it. Records before it are intact.
type TornRecordError struct {
	Path   string
	Line   int   // 1-based line number of the torn record
	Offset int64 // byte offset where it starts
	Text   string
	Reason string
}

func (e *TornRecordError) Error() string {
	return fmt.Sprintf("accountant: ledger %s: the last record, line %d (byte %d), is torn (%s): %q. "+
		"The run stopped while writing it; records are written before their update, so that step was never applied. "+
		"Remove it with RepairLedger (dpaccount ledger --repair) after checking",
		e.Path, e.Line, e.Offset, e.Reason, e.Text)
}

// CreateLedger creates a new ledger file; it fails if the file exists.
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
	return &Ledger{f: f, path: path, next: 1}, nil
}

// OpenLedger opens an existing ledger to append to it, returning the history
// it holds. A torn last record is reported as *TornRecordError and the
// ledger is not opened.
func OpenLedger(path string) (*Ledger, History, error) {
	h, n, err := readLedger(path)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("accountant: opening ledger: %w", err)
	}
	return &Ledger{f: f, path: path, next: n + 1}, h, nil
}

// ReadLedger returns the history recorded in a ledger file, merging
// consecutive identical steps. A torn or corrupt last record is reported
// as *TornRecordError together with the history of the intact records; a
// corrupt record anywhere else is an error.
func ReadLedger(path string) (History, error) {
	h, _, err := readLedger(path)
	return h, err
}

func readLedger(path string) (History, int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, fmt.Errorf("accountant: reading ledger: %w", err)
	}
	if !bytes.HasPrefix(data, []byte(ledgerHeader+"\n")) {
		return nil, 0, fmt.Errorf("accountant: %s is not a dpmpi privacy ledger (first line must be %q)", path, ledgerHeader)
	}
	var h History
	off := int64(len(ledgerHeader) + 1)
	rest := data[off:]
	line, n := 1, 0
	for len(rest) > 0 {
		line++
		i := bytes.IndexByte(rest, '\n')
		last := i < 0 || i == len(rest)-1
		var rec []byte
		if i < 0 {
			rec = rest
		} else {
			rec = rest[:i]
		}
		sigma, q, step, reason := parseRecord(rec)
		if reason == "" && step != n+1 {
			reason = fmt.Sprintf("step number %d, expected %d", step, n+1)
		}
		if i < 0 && reason == "" {
			reason = "no end of line"
		}
		if reason != "" {
			te := &TornRecordError{Path: path, Line: line, Offset: off, Text: string(rec), Reason: reason}
			if last {
				return h, n, te
			}
			return nil, 0, fmt.Errorf("accountant: ledger %s is corrupt in the middle, line %d (byte %d): %s; refusing to guess", path, line, off, reason)
		}
		h = h.Add(sigma, q, 1)
		n++
		off += int64(i + 1)
		rest = rest[i+1:]
	}
	return h, n, nil
}

func parseRecord(rec []byte) (sigma, q float64, step int, reason string) {
	f := strings.Fields(string(rec))
	if len(f) != 4 {
		return 0, 0, 0, fmt.Sprintf("%d fields, want 4", len(f))
	}
	body := f[0] + " " + f[1] + " " + f[2]
	crc, err := strconv.ParseUint(f[3], 16, 32)
	if err != nil || uint32(crc) != crc32.ChecksumIEEE([]byte(body)) {
		return 0, 0, 0, "checksum mismatch"
	}
	step, err1 := strconv.Atoi(f[0])
	sigma, err2 := strconv.ParseFloat(f[1], 64)
	q, err3 := strconv.ParseFloat(f[2], 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return 0, 0, 0, err.Error()
	}
	if err := (Entry{NoiseMultiplier: sigma, SampleRate: q, Steps: 1}).Validate(); err != nil {
		return 0, 0, 0, err.Error()
	}
	return sigma, q, step, ""
}

// Append records one step and makes it durable (fsync) before returning.
func (l *Ledger) Append(sigma, q float64) error {
	if err := (Entry{NoiseMultiplier: sigma, SampleRate: q, Steps: 1}).Validate(); err != nil {
		return err
	}
	b := l.buf[:0]
	b = strconv.AppendInt(b, int64(l.next), 10)
	b = append(b, ' ')
	b = strconv.AppendFloat(b, sigma, 'g', -1, 64)
	b = append(b, ' ')
	b = strconv.AppendFloat(b, q, 'g', -1, 64)
	crc := crc32.ChecksumIEEE(b)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(crc), 16)
	b = append(b, '\n')
	l.buf = b
	if _, err := l.f.Write(b); err != nil {
		return fmt.Errorf("accountant: ledger %s, step %d: %w", l.path, l.next, err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("accountant: ledger %s, step %d: fsync: %w", l.path, l.next, err)
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

// Close closes the ledger file.
func (l *Ledger) Close() error { return l.f.Close() }

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
