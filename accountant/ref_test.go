package accountant

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// refDirs are where the reference ε tables (computed with Opacus's own
// accountant code) are looked for, in order: the shared reference material
// beside the repository, which is authoritative and may hold more rows than
// the copy, then the copy of its visible rows in testdata.
var refDirs = []string{"../../shared/reference/accountant", "testdata/reference"}

// refRows reads a reference CSV as maps from column name to text.
func refRows(t testing.TB, name string) []map[string]string {
	t.Helper()
	var f *os.File
	var err error
	for _, dir := range refDirs {
		if f, err = os.Open(filepath.Join(dir, name)); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("reference table %s not found in %v: %v", name, refDirs, err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var rows []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, k := range recs[0] {
			m[k] = r[i]
		}
		rows = append(rows, m)
	}
	if len(rows) == 0 {
		t.Fatalf("%s has no rows", name)
	}
	return rows
}

func num(t testing.TB, m map[string]string, k string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(m[k], 64)
	if err != nil {
		t.Fatalf("column %s: %v (row %v)", k, err, m)
	}
	return v
}

func inum(t testing.TB, m map[string]string, k string) int {
	t.Helper()
	v, err := strconv.Atoi(m[k])
	if err != nil {
		t.Fatalf("column %s: %v (row %v)", k, err, m)
	}
	return v
}

func relErr(got, want float64) float64 {
	if got == want {
		return 0
	}
	d := got - want
	if d < 0 {
		d = -d
	}
	if want < 0 {
		want = -want
	}
	return d / want
}
