package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/optimizer/optimizertest"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	plot := filepath.Join(dir, "sweep.png")
	for _, c := range []struct {
		name string
		args []string
		code int
		want []string // substrings of stdout (code 0) or stderr (otherwise)
	}{
		{"one audit", []string{"--canaries", "4096", "--runs", "2", "--profile"}, 0,
			[]string{"simple optimizer, W = 1", "claimed RDP", "10.330", "9.353", "δ=0.3", "one run:", "false"}},
		{"sweep with plot", []string{"--optimizer", "hooks", "--sigmas", "1,2", "--canaries", "4096", "--runs", "1", "--plot", plot}, 0,
			[]string{"hooks optimizer", "3.912", "plot: " + plot}},
		{"virtual steps", []string{"--optimizer", "flat", "--max-physical", "100", "--canaries", "2048", "--runs", "1", "--steps", "2"}, 0,
			[]string{"virtual steps (physical batches ≤ 100)"}},
		{"sharded noise", []string{"--noise", "sharded", "--canaries", "2048", "--runs", "1", "--steps", "2"}, 0,
			[]string{"plain steps, sharded noise"}},
		{"unknown noise mode", []string{"--noise", "all"}, 2, []string{`--noise "all": use rank0 or sharded`}},
		{"unknown optimizer", []string{"--optimizer", "adam"}, 2, []string{`--optimizer "adam"`}},
		{"bad sigmas", []string{"--sigmas", "1,x"}, 2, []string{`--sigmas: "x"`}},
		{"plot without sweep", []string{"--plot", "a.png"}, 2, []string{"--plot needs a sweep"}},
		{"plot format", []string{"--sigmas", "1,2", "--plot", "a.jpg"}, 2, []string{".png, .svg or .pdf"}},
		{"invalid experiment", []string{"--sample-rate", "2"}, 2, []string{"sample rate 2"}},
		{"passes and virtual", []string{"--passes", "2", "--max-physical", "5"}, 2, []string{"cannot be combined"}},
		{"stray argument", []string{"now"}, 2, []string{`unexpected argument "now"`}},
		{"unknown flag", []string{"--nope"}, 2, []string{"nope"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(c.args, optimizertest.NewWorld[float64](1).Comm(0), &out, &errb)
			if code != c.code {
				t.Fatalf("exit status %d, want %d; stdout:\n%s\nstderr:\n%s", code, c.code, out.String(), errb.String())
			}
			text := out.String()
			if c.code != 0 {
				text = errb.String()
			}
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
		})
	}
	if st, err := os.Stat(plot); err != nil || st.Size() < 1000 {
		t.Errorf("plot %s not written (%v)", plot, err)
	}
}
