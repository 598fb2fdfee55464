package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/accountant"
)

// A crash in the middle of a ledger write leaves a last line without its
// newline: that step's update was never applied, so the line is dropped (and
// truncated away before appending); damage anywhere else is refused.
func TestLedgerTornAndDamaged(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ledger.txt")
	l, err := createLedger(p)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if err := l.AppendRecord(accountant.LedgerRecord{NoiseMultiplier: 1, SampleRate: 0.1, Step: i, Tag: "s"}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	if _, err := createLedger(p); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("createLedger over an existing ledger: %v", err)
	}
	f, _ := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`4 1 0.1 st`)
	f.Close()
	l, entries, torn, err := openLedger(p)
	if err != nil || !torn || len(entries) != 3 {
		t.Fatalf("openLedger: torn=%v entries=%d err=%v", torn, len(entries), err)
	}
	if err := l.AppendRecord(accountant.LedgerRecord{NoiseMultiplier: 1, SampleRate: 0.1, Step: 4}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	e, torn, err := readLedger(p)
	if err != nil || torn || len(e) != 4 || e[3].Step != 4 || e[2].Tag != "s" {
		t.Fatalf("after repair: %v %v %v", e, torn, err)
	}
	b, _ := os.ReadFile(p)
	lines := strings.SplitAfter(string(b), "\n")
	// A damaged last line that does end in a newline is not a torn write.
	last := strings.Join(lines[:4], "") + strings.Replace(lines[4], "step=4", "step=5", 1)
	os.WriteFile(p, []byte(last), 0o644)
	if _, _, err := readLedger(p); err == nil || !strings.Contains(err.Error(), "line 5 is damaged") {
		t.Fatalf("damaged last line with its newline: %v", err)
	}
	if _, _, _, err := openLedger(p); err == nil || !strings.Contains(err.Error(), "line 5 is damaged") {
		t.Fatalf("openLedger of a damaged last line with its newline: %v", err)
	}
	os.WriteFile(p, []byte(strings.Replace(string(b), "step=2", "step=7", 1)), 0o644)
	if _, _, err := readLedger(p); err == nil || !strings.Contains(err.Error(), "line 3 is damaged") {
		t.Fatalf("damaged middle line: %v", err)
	}
}

// oldStateTag is the ledger tag as earlier versions computed it: a resumed
// run compares its tags with the ones in the ledger, so they must not
// change.
func oldStateTag(params []float64, noise, sampler []byte) string {
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

func TestStateTag(t *testing.T) {
	tests := []struct {
		name           string
		params         []float64
		noise, sampler []byte
	}{
		{"empty", nil, nil, nil},
		{"secure mode", []float64{1, -2.5}, nil, []byte{1, 2, 3}},
		{"all", []float64{math.Inf(1), math.Copysign(0, -1), 1e-300}, []byte("pcg state"), []byte("sampler")},
	}
	tags := map[string]bool{}
	for _, tt := range tests {
		got := stateTag(tt.params, tt.noise, tt.sampler, nil)
		if want := oldStateTag(tt.params, tt.noise, tt.sampler); got != want {
			t.Errorf("%s: tag %s, earlier versions %s", tt.name, got, want)
		}
		if len(got) != 24 || tags[got] {
			t.Errorf("%s: tag %q is not 24 hex digits or repeats another case's", tt.name, got)
		}
		tags[got] = true
	}
	// The noise state's length separates it from the sampler state.
	if stateTag[float64](nil, []byte("ab"), []byte("c"), nil) == stateTag[float64](nil, []byte("a"), []byte("bc"), nil) {
		t.Error("moving a byte from the noise state to the sampler state keeps the tag")
	}
	// Adaptive thresholds are part of the state.
	if a, b := stateTag[float64](nil, nil, nil, []float64{1, 2}), stateTag[float64](nil, nil, nil, []float64{1, 2.5}); a == b || a == stateTag[float64](nil, nil, nil, nil) {
		t.Error("the adaptive thresholds do not change the tag")
	}
}
