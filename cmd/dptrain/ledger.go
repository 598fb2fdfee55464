package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/dpmpi/dpmpi/accountant"
	"github.com/dpmpi/dpmpi/internal/fingerprint"
	"github.com/dpmpi/dpmpi/optimizer"
)

// The privacy ledger is an accountant.Ledger written by rank 0: one record
// per step with σ, q, the step number and, as the tag, a fingerprint of
// everything that determines that step's release (parameters, noise
// generator and sampler state before the step). A record is written and
// fsynced before the step's update is applied (write-ahead), so the ledger
// never holds fewer steps than the model has taken.
//
// After a crash the ledger may be ahead of the last checkpoint. On resume the
// records beyond the checkpoint are kept and counted; when a resumed run
// re-executes step n from exactly the same state (same fingerprint) it
// releases exactly the same noisy gradient as the first execution, so the
// existing record already accounts for it and no new record is written. If
// the state differs (secure mode, or anything else changed) the re-executed
// step is a new release and gets a new record (the ledger then over-counts,
// never under-counts).

// readLedger returns a ledger's records. A final line without its newline is
// a write that was torn by a crash: its step was never applied (the update
// follows the fsync), so it is left out and reported in torn. Any other
// damage is an error.
func readLedger(path string) (recs []accountant.LedgerRecord, torn bool, err error) {
	recs, err = accountant.ReadLedgerRecords(path)
	var te *accountant.TornRecordError
	switch {
	case errors.As(err, &te) && te.Unterminated:
		return recs, true, nil
	case errors.As(err, &te):
		return nil, false, fmt.Errorf("ledger %s: line %d is damaged (%s: %q); refusing to guess the privacy spent. "+
			"It is the last line, so a crash may have damaged it: check it, then remove it with dpaccount ledger %s --repair --delta D", path, te.Line, te.Reason, te.Text, path)
	case err != nil:
		return nil, false, err
	}
	return recs, false, nil
}

// createLedger starts a new ledger; it refuses to overwrite an existing file.
func createLedger(path string) (*accountant.Ledger, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating the ledger's directory: %w", err)
	}
	l, err := accountant.CreateLedger(path)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("ledger %s already exists: continue that run with --resume, or use another --out/--checkpoint-dir (a ledger is never overwritten)", path)
	}
	return l, err
}

// openLedger opens an existing ledger for appending and returns its records,
// first truncating away a torn final line (see readLedger).
func openLedger(path string) (*accountant.Ledger, []accountant.LedgerRecord, bool, error) {
	_, torn, err := readLedger(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, false, fmt.Errorf("--resume: the checkpoint exists but the ledger %s does not; refusing to continue without the record of privacy spent", path)
		}
		return nil, nil, false, err
	}
	if torn {
		if _, err := accountant.RepairLedger(path); err != nil {
			return nil, nil, false, fmt.Errorf("ledger %s: dropping the torn last line: %w", path, err)
		}
	}
	l, _, err := accountant.OpenLedger(path)
	if err != nil {
		return nil, nil, false, err
	}
	recs, err := accountant.ReadLedgerRecords(path)
	if err != nil {
		l.Close()
		return nil, nil, false, err
	}
	return l, recs, torn, nil
}

// stateNow fingerprints rank 0's state before the next step: the ledger
// tag of that step.
func (t *trainer[F]) stateNow() (string, error) {
	var noise []byte
	if t.rng.noise != nil {
		b, err := t.rng.noise.MarshalBinary()
		if err != nil {
			return "", err
		}
		noise = b
	}
	s, err := t.rng.sampler.MarshalBinary()
	if err != nil {
		return "", err
	}
	return stateTag(t.net.arena.Params, noise, s, t.adaptiveThresholds()), nil
}

// stateTag hashes what decides the next step's release on this rank:
// parameters, noise generator state, sampler state and, with adaptive
// clipping, the thresholds. It is the first 12 bytes of the SHA-256 of the
// parameters, the noise state's length, the noise state, the sampler state
// and the thresholds (nothing for fixed ones, so that their tags are those
// of earlier versions), in hex.
//
// float32 parameters are hashed as the float64 values they convert to
// exactly, so a tag depends on the parameters' values only.
func stateTag[F optimizer.Float](params []F, noise, sampler []byte, thresholds []float64) string {
	h := fingerprint.NewHasher(sha256.New())
	for _, p := range params {
		h.Uint64(math.Float64bits(float64(p)))
	}
	h.Uint64(uint64(len(noise)))
	h.Write(noise)
	h.Write(sampler)
	h.Float64s(thresholds...)
	return hex.EncodeToString(h.Sum(nil)[:12])
}
