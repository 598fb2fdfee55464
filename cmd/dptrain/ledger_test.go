package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A crash in the middle of a ledger write leaves a last line without its
// newline: that step's update was never applied, so the line is dropped (and
// truncated away before appending); damage anywhere else is refused.
func TestLedgerTornAndDamaged(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ledger.jsonl")
	l, err := createLedger(p, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if err := l.Append(ledgerEntry{Step: i, Sigma: 1, Q: 0.1, State: "s"}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	if _, err := createLedger(p, 1e-5); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("createLedger over an existing ledger: %v", err)
	}
	f, _ := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"step":4,"sig`)
	f.Close()
	l, torn, err := openLedger(p)
	if err != nil || !torn || len(l.entries) != 3 {
		t.Fatalf("openLedger: torn=%v entries=%d err=%v", torn, len(l.entries), err)
	}
	if err := l.Append(ledgerEntry{Step: 4, Sigma: 1, Q: 0.1}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	e, _, torn, err := readLedger(p)
	if err != nil || torn || len(e) != 4 || e[3].Step != 4 {
		t.Fatalf("after repair: %v %v %v", e, torn, err)
	}
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), `"step":2`, `"stop":2`, 1)), 0o644)
	if _, _, _, err := readLedger(p); err == nil || !strings.Contains(err.Error(), "line 3 is damaged") {
		t.Fatalf("damaged middle line: %v", err)
	}
}
