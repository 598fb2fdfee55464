package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dpmpi/dpmpi/checkpoint"
)

// The privacy ledger is an append-only JSON-lines file written by rank 0.
// Its first line is a header; then one line per recorded step:
//
//	{"format":"dptrain-ledger","version":1,"delta":1e-05}
//	{"step":1,"sigma":2.15,"q":0.0341,"state":"3f2a…"}
//
// "step" is the logical step (1-based) whose update follows; "state" is a
// fingerprint of everything that determines that step's release (parameters,
// noise generator and sampler state before the step). An entry is written and
// fsynced before the step's update is applied (write-ahead), so the ledger
// never holds fewer steps than the model has taken.
//
// After a crash the ledger may be ahead of the last checkpoint. On resume the
// entries beyond the checkpoint are kept and counted; when a resumed run
// re-executes step n from exactly the same state (same fingerprint) it
// releases exactly the same noisy gradient as the first execution, so the
// existing entry already accounts for it and no new entry is written. If the
// state differs (secure mode, or anything else changed) the re-executed step is
// a new release and gets a new entry (the ledger then over-counts, never
// under-counts).

type ledgerHeader struct {
	Format  string  `json:"format"`
	Version int     `json:"version"`
	Delta   float64 `json:"delta"`
}

type ledgerEntry struct {
	Step  int     `json:"step"`
	Sigma float64 `json:"sigma"`
	Q     float64 `json:"q"`
	State string  `json:"state,omitempty"`
}

type ledger struct {
	path    string
	f       *os.File
	entries []ledgerEntry
}

const ledgerFormat = "dptrain-ledger"

// readLedger parses a ledger file. A final line without its newline is a write
// that was torn by a crash: its step was never applied (the update follows the
// fsync), so it is dropped and reported in torn. Any other damage is an error.
func readLedger(path string) (entries []ledgerEntry, validLen int64, torn bool, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, false, err
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	var off int64
	for i, ln := range lines {
		if len(ln) == 0 {
			continue
		}
		if ln[len(ln)-1] != '\n' {
			torn = true
			break
		}
		if i == 0 {
			var h ledgerHeader
			if err := json.Unmarshal(ln, &h); err != nil || h.Format != ledgerFormat {
				return nil, 0, false, fmt.Errorf("ledger %s: line 1 is not a dptrain ledger header", path)
			}
			if h.Version != 1 {
				return nil, 0, false, fmt.Errorf("ledger %s: version %d, this program reads version 1", path, h.Version)
			}
		} else {
			var e ledgerEntry
			dec := json.NewDecoder(bytes.NewReader(ln))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&e); err != nil || e.Step <= 0 {
				return nil, 0, false, fmt.Errorf("ledger %s: line %d is damaged (%q); refusing to guess the privacy spent", path, i+1, bytes.TrimSpace(ln))
			}
			entries = append(entries, e)
		}
		off += int64(len(ln))
	}
	if off == 0 {
		return nil, 0, torn, fmt.Errorf("ledger %s: no header line", path)
	}
	return entries, off, torn, nil
}

// createLedger starts a new ledger; it refuses to overwrite an existing file.
func createLedger(path string, delta float64) (*ledger, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating the ledger's directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("ledger %s already exists: continue that run with --resume, or use another --out/--checkpoint-dir (a ledger is never overwritten)", path)
		}
		return nil, fmt.Errorf("creating ledger: %w", err)
	}
	h, _ := json.Marshal(ledgerHeader{Format: ledgerFormat, Version: 1, Delta: delta})
	if _, err := f.Write(append(h, '\n')); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing ledger %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("fsync of ledger %s: %w", path, err)
	}
	if err := checkpoint.SyncDir(filepath.Dir(path)); err != nil {
		f.Close()
		return nil, err
	}
	return &ledger{path: path, f: f}, nil
}

// openLedger opens an existing ledger for appending, dropping a torn final
// line.
func openLedger(path string) (*ledger, bool, error) {
	entries, n, torn, err := readLedger(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, false, fmt.Errorf("--resume: the checkpoint exists but the ledger %s does not; refusing to continue without the record of privacy spent", path)
		}
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, false, fmt.Errorf("opening ledger: %w", err)
	}
	if torn {
		if err := f.Truncate(n); err != nil {
			f.Close()
			return nil, false, fmt.Errorf("ledger %s: dropping the torn last line: %w", path, err)
		}
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, false, err
	}
	return &ledger{path: path, f: f, entries: entries}, torn, nil
}

// Append writes one entry and fsyncs it.
func (l *ledger) Append(e ledgerEntry) error {
	b, _ := json.Marshal(e)
	w := bufio.NewWriter(l.f)
	w.Write(b)
	w.WriteByte('\n')
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing ledger %s at step %d: %w", l.path, e.Step, err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("fsync of ledger %s at step %d: %w", l.path, e.Step, err)
	}
	l.entries = append(l.entries, e)
	return nil
}

func (l *ledger) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	return l.f.Close()
}
