package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/accountant"
)

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestEpsilonJSON(t *testing.T) {
	code, out, errs := runCLI("epsilon", "--accountant", "rdp", "--sample-rate", "0.004266666666666667",
		"--noise-multiplier", "1.1", "--steps", "14062", "--delta", "1e-5", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var v struct {
		Epsilon   float64 `json:"epsilon"`
		BestAlpha float64 `json:"best_alpha"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err, out)
	}
	// Reference famous.csv, MNIST row.
	if v.Epsilon != 2.5965558689607486 || v.BestAlpha != 8.1 {
		t.Errorf("got %+v", v)
	}
	code, out, _ = runCLI("epsilon", "--history", "1.0:0.01:500,2.0:0.02:300", "--delta", "1e-5", "--accountant", "gdp")
	if code == 0 {
		t.Errorf("gdp accepted a two-segment history: %s", out)
	}
}

func TestSigma(t *testing.T) {
	code, out, errs := runCLI("sigma", "--target-epsilon", "8", "--delta", "1e-5", "--sample-rate", "0.04", "--epochs", "90", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var v struct {
		Sigma float64 `json:"noise_multiplier"`
		Steps int     `json:"steps"`
	}
	json.Unmarshal([]byte(out), &v)
	if v.Sigma != 1.416015625 || v.Steps != 2250 {
		t.Errorf("got %+v from %s", v, out)
	}
}

func TestBadArguments(t *testing.T) {
	cases := [][]string{
		{"epsilon", "--sample-rate", "0.01", "--noise-multiplier", "1", "--steps", "10", "--delta", "0"},
		{"epsilon", "--sample-rate", "1.5", "--noise-multiplier", "1", "--steps", "10", "--delta", "1e-5"},
		{"epsilon", "--sample-rate", "0.01", "--noise-multiplier", "-1", "--steps", "10", "--delta", "1e-5"},
		{"epsilon", "--sample-rate", "0.01", "--noise-multiplier", "NaN", "--steps", "10", "--delta", "1e-5"},
		{"epsilon", "--sample-rate", "0.01", "--noise-multiplier", "1", "--steps", "-3", "--delta", "1e-5"},
		{"epsilon", "--history", "", "--delta", "1e-5"},
		{"epsilon", "--sample-rate", "0.01", "--steps", "10", "--delta", "1e-5"},
		{"sigma", "--target-epsilon", "0.01", "--delta", "1e-5", "--sample-rate", "0.01", "--steps", "100"},
		{"sigma", "--target-epsilon", "1", "--delta", "1e-5", "--sample-rate", "0.01"},
		{"curve", "--sample-rate", "0.01", "--sigmas", "1,2", "--steps", "10", "--delta", "1e-5", "--csv", "x.csv"},
		{"frobnicate"},
	}
	for _, c := range cases {
		code, out, errs := runCLI(c...)
		if code == 0 || !strings.Contains(errs, "dpaccount:") || strings.Contains(out+errs, "NaN\n") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", c, code, out, errs)
		}
		if strings.Contains(errs, "panic") {
			t.Errorf("%v panicked: %s", c, errs)
		}
	}
}

func TestCurveAndLedger(t *testing.T) {
	dir := t.TempDir()
	csv, png := filepath.Join(dir, "c.csv"), filepath.Join(dir, "c.png")
	code, _, errs := runCLI("curve", "--sample-rate", "0.01", "--noise-multiplier", "1", "--steps", "300", "--delta", "1e-5",
		"--every", "100", "--csv", csv, "--plot", png)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	data, _ := os.ReadFile(csv)
	if lines := strings.Split(strings.TrimSpace(string(data)), "\n"); len(lines) != 4 {
		t.Errorf("csv:\n%s", data)
	}
	if st, err := os.Stat(png); err != nil || st.Size() < 1000 {
		t.Errorf("plot: %v", err)
	}
	ledger := filepath.Join(dir, "run.ledger")
	os.WriteFile(ledger, []byte("# dpmpi privacy ledger v1: step sigma q crc32\n1 1 0.01 "), 0o644)
	code, _, errs = runCLI("ledger", ledger, "--delta", "1e-5")
	if code == 0 || !strings.Contains(errs, "torn") {
		t.Errorf("torn ledger: exit %d, %s", code, errs)
	}
}

// dptrain's ledger is an accountant.Ledger whose records carry the step
// number and a fingerprint tag; a step re-executed after a crash from a
// different state has two records, and both count.
func TestLedgerWithStepsAndTags(t *testing.T) {
	const sigma, q, delta = 1.1, 256.0 / 60000, 1e-5
	path := filepath.Join(t.TempDir(), "ledger.txt")
	l, err := accountant.CreateLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		step int
		tag  string
	}{{1, "3f2a91c0e5d4b7a8c9d0e1f2"}, {2, "77aa01"}, {3, "0b1c2d"}, {3, "9e8f7a"}, {4, "1234ab"}} {
		if err := l.AppendRecord(accountant.LedgerRecord{NoiseMultiplier: sigma, SampleRate: q, Step: r.step, Tag: r.tag}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	want, err := accountant.RDP{}.Epsilon(accountant.History{{NoiseMultiplier: sigma, SampleRate: q, Steps: 5}}, delta)
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, args ...string) {
		t.Helper()
		code, out, errs := runCLI(append([]string{"ledger", path, "--delta", "1e-5", "--accountant", "rdp", "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, errs)
		}
		var v struct {
			Epsilon float64 `json:"epsilon"`
			Steps   int     `json:"steps"`
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatal(err, out)
		}
		if v.Steps != 5 || math.Abs(v.Epsilon-want) > 1e-12*want {
			t.Errorf("%s: ε = %v over %d steps, want %v over 5", name, v.Epsilon, v.Steps, want)
		}
	}
	check("intact")

	// A crash while writing step 5 leaves a line without its newline.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("6 1.1 0.0042 step=5 tag=ab")
	f.Close()
	code, _, errs := runCLI("ledger", path, "--delta", "1e-5")
	if code == 0 || !strings.Contains(errs, "torn") || !strings.Contains(errs, "line 7") {
		t.Errorf("torn ledger: exit %d, %s", code, errs)
	}
	check("after --repair", "--repair")
}
