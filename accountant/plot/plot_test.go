package plot

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/accountant"
)

func TestCurvesWritesFile(t *testing.T) {
	h := accountant.History{{NoiseMultiplier: 1.1, SampleRate: 256.0 / 60000, Steps: 2000}}
	pts, err := accountant.RDPCurve(h, 1e-5, 500, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cases := []struct {
		name  string
		check func([]byte) bool
	}{
		{"c.png", func(b []byte) bool { return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) }},
		{"c.svg", func(b []byte) bool { return bytes.Contains(b[:min(len(b), 512)], []byte("<svg")) }},
		{"C.SVG", func(b []byte) bool { return bytes.Contains(b[:min(len(b), 512)], []byte("<svg")) }},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.name)
		if err := Curves(p, "ε against epochs, δ = 1e-5, q = 0.0043", []Series{{"rdp", pts}}); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(p)
		if err != nil || len(data) < 1000 {
			t.Errorf("%s: %d bytes, %v", c.name, len(data), err)
			continue
		}
		if !c.check(data) {
			t.Errorf("%s: wrong header %q", c.name, data[:min(len(data), 16)])
		}
	}
}

func TestCurvesErrors(t *testing.T) {
	dir := t.TempDir()
	good := []accountant.CurvePoint{{Step: 1, Epoch: 0.1, Epsilon: 0.5}, {Step: 2, Epoch: 0.2, Epsilon: 0.7}}
	inf := []accountant.CurvePoint{{Step: 1, Epoch: 0.1, Epsilon: math.Inf(1)}, {Step: 2, Epoch: 0.2, Epsilon: math.NaN()}}
	cases := []struct {
		name, file string
		series     []Series
		want       string
	}{
		{"jpg", "c.jpg", []Series{{"rdp", good}}, "extension must be .png or .svg"},
		{"no extension", "c", []Series{{"rdp", good}}, "extension must be .png or .svg"},
		{"no series", "c.png", nil, "no series"},
		{"no finite point", "c.png", []Series{{"rdp", good}, {"σ = 0", inf}}, `series "σ = 0" has no finite point`},
		{"missing directory", filepath.Join("absent", "c.png"), []Series{{"rdp", good}}, "saving"},
	}
	for _, c := range cases {
		err := Curves(filepath.Join(dir, c.file), "t", c.series)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
