package main

import (
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
