package accountant

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLedgerRoundTripAndHook(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.ledger")
	l, err := CreateLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	acc, _ := New("rdp")
	hook := l.Hook(acc)
	for i := 0; i < 5; i++ {
		s := 1.1
		if i == 4 {
			s = 0.9
		}
		if err := hook(s, 256.0/60000); err != nil {
			t.Fatal(err)
		}
	}
	if err := hook(1, 2); err == nil {
		t.Error("q = 2 accepted")
	}
	l.Close()
	h, err := ReadLedger(path)
	want := History{{1.1, 256.0 / 60000, 4}, {0.9, 256.0 / 60000, 1}}
	if err != nil || !reflect.DeepEqual(h, want) || !reflect.DeepEqual(acc.History(), want) {
		t.Fatalf("ledger %v (%v), accountant %v; want %v", h, err, acc.History(), want)
	}
	l, h2, err := OpenLedger(path)
	if err != nil || !reflect.DeepEqual(h2, want) {
		t.Fatal(err)
	}
	l.Append(0.9, 256.0/60000)
	l.Close()
	if h, _ := ReadLedger(path); h[1].Steps != 2 {
		t.Errorf("after reopening: %v", h)
	}
	if _, err := CreateLedger(path); err == nil {
		t.Error("CreateLedger overwrote an existing ledger")
	}
}

func TestLedgerTornRecord(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.ledger")
	l, _ := CreateLedger(path)
	for i := 0; i < 3; i++ {
		l.Append(1.0, 0.01)
	}
	l.Close()
	full, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(full), "\n")
	good := strings.Join(lines[:3], "") // header + 2 records
	third := lines[3]
	cases := map[string]string{
		"cut mid-record":          good + third[:len(third)/2],
		"no newline":              good + strings.TrimSuffix(third, "\n"),
		"zeros from a lost block": good + strings.Repeat("\x00", len(third)-1) + "\n",
		"flipped digit":           good + strings.Replace(third, "1 0.01", "1 0.02", 1),
	}
	for name, content := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		os.WriteFile(p, []byte(content), 0o644)
		h, err := ReadLedger(p)
		var te *TornRecordError
		if !errorsAs(err, &te) || te.Line != 4 {
			t.Errorf("%s: want TornRecordError on line 4, got %v", name, err)
			continue
		}
		if !reflect.DeepEqual(h, History{{1, 0.01, 2}}) {
			t.Errorf("%s: intact history %v", name, h)
		}
		if _, _, err := OpenLedger(p); err == nil {
			t.Errorf("%s: OpenLedger appended after a torn record", name)
		}
		removed, err := RepairLedger(p)
		if err != nil || removed == "" {
			t.Errorf("%s: repair: %q %v", name, removed, err)
		}
		if h, err := ReadLedger(p); err != nil || h.Steps() != 2 {
			t.Errorf("%s: after repair %v %v", name, h, err)
		}
	}
	// Corruption before the last record is not a torn write: refuse.
	bad := lines[0] + strings.Replace(lines[1], "1 0.01", "1 0.03", 1) + lines[2] + lines[3]
	p := filepath.Join(dir, "middle")
	os.WriteFile(p, []byte(bad), 0o644)
	if _, err := ReadLedger(p); err == nil || errorsAs(err, new(*TornRecordError)) {
		t.Errorf("corrupt middle record: %v", err)
	}
	os.WriteFile(p, []byte("hello\n"), 0o644)
	if _, err := ReadLedger(p); err == nil {
		t.Error("non-ledger file accepted")
	}
}

func TestLedgerAppendDoesNotAllocate(t *testing.T) {
	l, err := CreateLedger(filepath.Join(t.TempDir(), "a.ledger"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Append(1.1, 0.01) // sizes the buffer
	if n := testing.AllocsPerRun(20, func() { l.Append(1.1, 0.01) }); n != 0 {
		t.Errorf("Append allocates %v times per call", n)
	}
	acc, _ := New("rdp")
	acc.Step(1.1, 0.01)
	if n := testing.AllocsPerRun(100, func() { acc.Step(1.1, 0.01) }); n != 0 {
		t.Errorf("Accountant.Step allocates %v times per call", n)
	}
}
