package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
