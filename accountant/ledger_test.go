package accountant

import (
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
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
	r := LedgerRecord{NoiseMultiplier: 1.1, SampleRate: 0.01, Step: 123456, Tag: "3f2a91c0e5d4b7a8c9d0e1f2"}
	l.AppendRecord(r) // sizes the buffer
	if n := testing.AllocsPerRun(20, func() { l.AppendRecord(r) }); n != 0 {
		t.Errorf("AppendRecord with a step and a tag allocates %v times per call", n)
	}
	acc, _ := New("rdp")
	acc.Step(1.1, 0.01)
	if n := testing.AllocsPerRun(100, func() { acc.Step(1.1, 0.01) }); n != 0 {
		t.Errorf("Accountant.Step allocates %v times per call", n)
	}
}

func TestLedgerStepsAndTags(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.ledger")
	l, err := CreateLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []LedgerRecord{
		{NoiseMultiplier: 1.1, SampleRate: 0.01, Step: 1, Tag: "3f2a91c0e5d4"},
		{NoiseMultiplier: 1.1, SampleRate: 0.01, Step: 2, Tag: "a=b,c"},
		{NoiseMultiplier: 1.1, SampleRate: 0.01, Step: 2, Tag: "ffff"}, // a step re-executed
		{NoiseMultiplier: 1.1, SampleRate: 0.01, Step: 3},
		{NoiseMultiplier: 0.9, SampleRate: 0.01, Tag: "only-a-tag"},
		{NoiseMultiplier: 0.9, SampleRate: 0.01},
	}
	for _, r := range want {
		if err := l.AppendRecord(r); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []LedgerRecord{
		{NoiseMultiplier: 1, SampleRate: 0.01, Tag: "a b"},
		{NoiseMultiplier: 1, SampleRate: 0.01, Tag: "a\nb"},
		{NoiseMultiplier: 1, SampleRate: 0.01, Tag: "\xff"},
		{NoiseMultiplier: 1, SampleRate: 0.01, Step: -1},
		{NoiseMultiplier: 1, SampleRate: 2, Step: 1},
	} {
		if err := l.AppendRecord(bad); err == nil {
			t.Errorf("AppendRecord(%+v) accepted", bad)
		}
	}
	l.Close()
	got, err := ReadLedgerRecords(path)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ReadLedgerRecords = %+v, %v; want %+v", got, err, want)
	}
	h, err := ReadLedger(path)
	if wantH := (History{{1.1, 0.01, 4}, {0.9, 0.01, 2}}); err != nil || !reflect.DeepEqual(h, wantH) {
		t.Fatalf("ReadLedger = %v, %v; want %v", h, err, wantH)
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(string(data), "\n")
	if lines[0] != ledgerHeader || !strings.HasPrefix(lines[1], "1 1.1 0.01 step=1 tag=3f2a91c0e5d4 ") || !strings.HasPrefix(lines[6], "6 0.9 0.01 ") || len(strings.Fields(lines[6])) != 4 {
		t.Errorf("file:\n%s", data)
	}

	// A record cut part way is torn and unterminated; one that ends its line
	// but is corrupt is torn and terminated.
	good := strings.Join(lines[:6], "\n") + "\n"
	for name, c := range map[string]struct {
		text         string
		intact       int
		unterminated bool
	}{
		"cut in the tag":   {good + "6 0.9 0.01 step=3 ta", 5, true},
		"step edited":      {strings.Join(lines[:4], "\n") + "\n" + strings.Replace(lines[4], "step=3", "step=4", 1) + "\n", 3, false},
		"unknown field":    {good + "6 0.9 0.01 x=1 " + crcHex("6 0.9 0.01 x=1") + "\n", 5, false},
		"tag before step":  {good + "6 0.9 0.01 tag=a step=3 " + crcHex("6 0.9 0.01 tag=a step=3") + "\n", 5, false},
		"record number 7":  {good + "7 0.9 0.01 " + crcHex("7 0.9 0.01") + "\n", 5, false},
		"zero step number": {good + "6 0.9 0.01 step=0 " + crcHex("6 0.9 0.01 step=0") + "\n", 5, false},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		os.WriteFile(p, []byte(c.text), 0o644)
		recs, err := ReadLedgerRecords(p)
		var te *TornRecordError
		if !errorsAs(err, &te) || te.Unterminated != c.unterminated {
			t.Errorf("%s: want a TornRecordError with Unterminated %v, got %v", name, c.unterminated, err)
			continue
		}
		if !reflect.DeepEqual(recs, want[:c.intact]) {
			t.Errorf("%s: intact records %+v, want the first %d written", name, recs, c.intact)
		}
	}

	// Reopening continues the record numbers and keeps steps and tags.
	l, _, err = OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.AppendRecord(LedgerRecord{NoiseMultiplier: 0.9, SampleRate: 0.01, Step: 7, Tag: "t"}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if got, err := ReadLedgerRecords(path); err != nil || len(got) != 7 || got[6].Step != 7 || got[6].Tag != "t" {
		t.Errorf("after reopening: %+v, %v", got, err)
	}
}

func crcHex(body string) string {
	return strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(body))), 16)
}

// Version 1 ledgers (no step numbers or tags) are still read and appended to.
func TestLedgerReadsV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.ledger")
	text := ledgerHeaderV1 + "\n1 1 0.01 " + crcHex("1 1 0.01") + "\n2 1 0.01 " + crcHex("2 1 0.01") + "\n"
	os.WriteFile(path, []byte(text), 0o644)
	l, h, err := OpenLedger(path)
	if err != nil || !reflect.DeepEqual(h, History{{1, 0.01, 2}}) {
		t.Fatalf("OpenLedger of a v1 ledger: %v, %v", h, err)
	}
	if err := l.AppendRecord(LedgerRecord{NoiseMultiplier: 1, SampleRate: 0.01, Step: 3}); err == nil || !strings.Contains(err.Error(), "v1") {
		t.Errorf("a step number appended to a v1 ledger: %v", err)
	}
	if err := l.Append(1, 0.01); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if h, err := ReadLedger(path); err != nil || !reflect.DeepEqual(h, History{{1, 0.01, 3}}) {
		t.Errorf("after appending: %v, %v", h, err)
	}
	bad := ledgerHeaderV1 + "\n1 1 0.01 step=1 " + crcHex("1 1 0.01 step=1") + "\n2 1 0.01 " + crcHex("2 1 0.01") + "\n"
	os.WriteFile(path, []byte(bad), 0o644)
	if _, err := ReadLedger(path); err == nil || !strings.Contains(err.Error(), "line 2 is damaged") {
		t.Errorf("a step field in a v1 ledger: %v", err)
	}
}

// A step that releases several Gaussian mechanisms records their noise
// multipliers (parts) beside the σ they combine into; the accountant uses
// σ. Parts that do not combine into σ are refused when written and are a
// damaged record when read.
func TestLedgerParts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.ledger")
	l, err := CreateLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	zg, zc := 1.1377, 204.8
	sigma := 1 / math.Sqrt(1/(zg*zg)+1/(zc*zc))
	want := []LedgerRecord{
		{NoiseMultiplier: sigma, SampleRate: 0.03, Step: 1, Parts: []float64{zg, zc}, Tag: "ab"},
		{NoiseMultiplier: sigma, SampleRate: 0.03, Step: 2, Parts: []float64{zg, zc}},
		{NoiseMultiplier: 2, SampleRate: 0.03, Parts: []float64{2}},
	}
	for _, r := range want {
		if err := l.AppendRecord(r); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range [][]float64{{zg, zc * 2}, {zg}, {zg, 0}, {zg, math.Inf(1)}} {
		if err := l.AppendRecord(LedgerRecord{NoiseMultiplier: sigma, SampleRate: 0.03, Parts: bad}); err == nil {
			t.Errorf("parts %v for σ = %v accepted", bad, sigma)
		}
	}
	l.Close()
	got, err := ReadLedgerRecords(path)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ReadLedgerRecords = %+v, %v; want %+v", got, err, want)
	}
	if h, err := ReadLedger(path); err != nil || !reflect.DeepEqual(h, History{{sigma, 0.03, 2}, {2, 0.03, 1}}) {
		t.Errorf("ReadLedger = %v, %v; want σ = %v twice, then 2", h, err, sigma)
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(string(data), "\n")
	body := "4 1.1 0.03 parts=1.2,5"
	os.WriteFile(path, []byte(strings.Join(lines[:4], "\n")+"\n"+body+" "+crcHex(body)+"\n"), 0o644)
	var te *TornRecordError
	if _, err := ReadLedgerRecords(path); !errorsAs(err, &te) || !strings.Contains(err.Error(), "combine") {
		t.Errorf("a last record whose parts do not combine to σ: %v, want a damaged-record error", err)
	}
}
