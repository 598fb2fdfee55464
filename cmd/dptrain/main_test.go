package main

// These tests build dptrain and run it as a program: alone and under real
// mpirun at 1, 2 and 4 ranks, on a small synthetic dataset in IDX format so
// that they stay fast.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dpmpi/dpmpi/accountant"
	"github.com/dpmpi/dpmpi/data"
)

var (
	binPath string // the dptrain binary built by TestMain
	dataDir string // the synthetic dataset
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "dptrain-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	binPath = filepath.Join(tmp, "dptrain")
	if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building dptrain: %v\n%s", err, out)
		return 1
	}
	dataDir = filepath.Join(tmp, "data")
	if err := writeSynthetic(dataDir, 512, 128); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// writeSynthetic writes a learnable 10-class 28×28 dataset: class c has a
// bright horizontal band at rows 2c..2c+3 plus noise.
func writeSynthetic(dir string, ntrain, ntest int) error {
	return writeSyntheticClasses(dir, ntrain, ntest, 10, 10)
}

// writeSyntheticClasses is writeSynthetic with the labels of the training
// and test splits drawn from the given numbers of classes (at most 10).
func writeSyntheticClasses(dir string, ntrain, ntest, trainClasses, testClasses int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(7, 7))
	write := func(prefix string, n, classes int) error {
		px := make([]byte, n*784)
		lb := make([]byte, n)
		for i := 0; i < n; i++ {
			c := r.IntN(classes)
			lb[i] = byte(c)
			for p := 0; p < 784; p++ {
				v := r.IntN(80)
				if row := p / 28; row >= 2*c && row < 2*c+4 {
					v += 150
				}
				px[i*784+p] = byte(v)
			}
		}
		for name, x := range map[string]*data.IDX{
			prefix + "-images-idx3-ubyte": {Type: data.IDXUint8, Dims: []int{n, 28, 28}, Raw: px},
			prefix + "-labels-idx1-ubyte": {Type: data.IDXUint8, Dims: []int{n}, Raw: lb},
		} {
			f, err := os.Create(filepath.Join(dir, name))
			if err != nil {
				return err
			}
			if err := data.WriteIDX(f, x); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
		}
		return nil
	}
	if err := write("train", ntrain, trainClasses); err != nil {
		return err
	}
	return write("t10k", ntest, testClasses)
}

// command returns dptrain with args under mpirun -np np, or alone for np 0.
func command(np int, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if np == 0 {
		cmd = exec.Command(binPath, args...)
	} else {
		launcher := os.Getenv("DPMPI_MPIRUN")
		if launcher == "" {
			launcher = "mpirun"
		}
		a := append([]string{"--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", strconv.Itoa(np), binPath}, args...)
		cmd = exec.Command(launcher, a...)
	}
	cmd.Env = append(os.Environ(), "OMPI_MCA_pml=ob1", "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
	return cmd
}

// mpmd runs one job of two programs, dptrain with args0 on rank 0 and with
// args1 on rank 1; a job still running after 90 s is killed and fails the
// test as a hang.
func mpmd(t *testing.T, args0, args1 []string) result {
	t.Helper()
	launcher := os.Getenv("DPMPI_MPIRUN")
	if launcher == "" {
		launcher = "mpirun"
	}
	a := append([]string{"--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", "1", binPath}, args0...)
	a = append(append(a, ":", "-np", "1", binPath), args1...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, launcher, a...)
	cmd.Env = append(os.Environ(), "OMPI_MCA_pml=ob1", "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("the job hung (killed after 90 s):\n%s%s", so.String(), se.String())
	}
	r := result{so.String(), se.String(), 0}
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatal(err)
		}
		r.code = ee.ExitCode()
	}
	return r
}

type result struct {
	stdout, stderr string
	code           int
}

func runJob(t *testing.T, np int, args ...string) result {
	t.Helper()
	cmd := command(np, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	res := result{so.String(), se.String(), 0}
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("running dptrain: %v", err)
		}
		res.code = ee.ExitCode()
	}
	return res
}

func mustRun(t *testing.T, np int, args ...string) result {
	t.Helper()
	r := runJob(t, np, args...)
	if r.code != 0 {
		t.Fatalf("dptrain -np %d %v: exit %d\nstdout:\n%s\nstderr:\n%s", np, args, r.code, r.stdout, r.stderr)
	}
	return r
}

// base are flags shared by the tests: small data, quiet, no plot, float64
// (whose σ = 0 runs agree across world sizes to 1e-9; precision_test.go
// tests float32, the default, within its own bound). A later --precision in
// extra overrides it.
func base(out string, extra ...string) []string {
	return append([]string{"--data-dir", dataDir, "--out", out, "--progress", "none", "--plot", "none", "--model", "mlp", "--precision", "float64"}, extra...)
}

func weights(t *testing.T, path string) []float64 {
	t.Helper()
	w, err := readWeights(path)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func maxDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

// TestEquivalence: with σ = 0 and every sample in every batch (q = 1), the
// final weights must not depend on the number of ranks (1, 2, 4) nor on the
// distributed optimizer. Virtual steps (--max-physical-batch) are exercised
// at every world size.
func TestEquivalence(t *testing.T) {
	dir := t.TempDir()
	args := func(out, opt string) []string {
		return base(filepath.Join(dir, out), "--model", "cnn", "--train-limit", "96", "--test-limit", "32",
			"--sample-rate", "1", "--steps", "4", "--sigma", "0", "--max-grad-norm", "0.5",
			"--lr", "0.5", "--momentum", "0.9", "--max-physical-batch", "10", "--dist-optimizer", opt,
			"--checkpoint-every", "0", "--seed", "3")
	}
	var ref []float64
	init := initWeights(t)
	for _, opt := range []string{"simple", "hooks"} {
		for _, np := range []int{1, 2, 4} {
			out := fmt.Sprintf("%s-%d", opt, np)
			mustRun(t, np, args(out, opt)...)
			w := weights(t, filepath.Join(dir, out, "weights.bin"))
			if ref == nil {
				ref = w
				if d := maxDiff(ref, init); d < 1e-3 {
					t.Fatalf("training moved the weights by only %g", d)
				}
				continue
			}
			if d := maxDiff(ref, w); d > 1e-9 {
				t.Errorf("%s at %d ranks: weights differ from simple at 1 rank by %g (> 1e-9)", opt, np, d)
			}
		}
	}
}

// initWeights returns the initial parameters of the cnn with seed 3.
func initWeights(t *testing.T) []float64 {
	m, _, err := buildModel[float64](&config{Model: "cnn"}, 784, 10)
	if err != nil {
		t.Fatal(err)
	}
	a, err := m.NewArena(3)
	if err != nil {
		t.Fatal(err)
	}
	return a.Params
}

func readLedgerT(t *testing.T, path string) []accountant.LedgerRecord {
	t.Helper()
	e, torn, err := readLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	if torn {
		t.Logf("ledger %s has a torn last line", path)
	}
	return e
}

func ckptStep(dir string) int {
	s, err := loadCheckpoint(dir)
	if err != nil {
		return -1
	}
	return s.Step
}

// resumeArgs are the flags of the resume tests: 2 ranks, noise, sampling,
// momentum, virtual steps.
func resumeArgs(out string, extra ...string) []string {
	return base(out, append([]string{"--train-limit", "512", "--test-limit", "64", "--batch-size", "64",
		"--steps", "30", "--sigma", "1.1", "--max-grad-norm", "1", "--lr", "0.2", "--momentum", "0.9",
		"--max-physical-batch", "20", "--checkpoint-every", "4", "--seed", "11", "--lr-schedule", "cosine"}, extra...)...)
}

// uninterrupted runs the reference for the resume tests once per test.
func uninterrupted(t *testing.T, dir string) ([]float64, []accountant.LedgerRecord) {
	out := filepath.Join(dir, "ref")
	mustRun(t, 2, resumeArgs(out)...)
	return weights(t, filepath.Join(out, "weights.bin")), readLedgerT(t, filepath.Join(out, "checkpoints", "ledger.txt"))
}

// children returns the pids of the processes mpirun started.
func children(pid int) []int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if p, err := strconv.Atoi(f); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// startAndWaitCheckpoint starts a throttled 2-rank run and waits until it has
// written a checkpoint at step ≥ min.
func startAndWaitCheckpoint(t *testing.T, out string, min int, extra ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := command(2, resumeArgs(out, append([]string{"--throttle", "120ms"}, extra...)...)...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for ckptStep(filepath.Join(out, "checkpoints")) < min {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no checkpoint at step ≥ %d within 60 s:\n%s", min, buf.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cmd, &buf
}

func sameLedger(t *testing.T, got, want []accountant.LedgerRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("ledger holds %d entries, the uninterrupted run's %d", len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("ledger entry %d is %+v, the uninterrupted run's %+v", i, got[i], want[i])
		}
	}
}

// TestResume: kill -9 a rank of a 2-rank run after some checkpoints, check
// that the ledger is never behind the model, resume, and compare with an
// uninterrupted run; then the same with SIGTERM (clean checkpoint and exit).
func TestResume(t *testing.T) {
	dir := t.TempDir()
	refW, refL := uninterrupted(t, dir)
	if len(refL) != 30 {
		t.Fatalf("uninterrupted ledger holds %d steps, want 30", len(refL))
	}

	t.Run("kill-9", func(t *testing.T) {
		out := filepath.Join(dir, "killed")
		// Checkpoints every 8 steps; kill once the ledger is 3 steps ahead of
		// the checkpoint at step 8, so that the resumed run re-executes steps
		// the ledger already holds.
		cmd, buf := startAndWaitCheckpoint(t, out, 8, "--checkpoint-every", "8")
		lp := filepath.Join(out, "checkpoints", "ledger.txt")
		for deadline := time.Now().Add(60 * time.Second); ; {
			if e, _, err := readLedger(lp); err == nil && len(e) >= 11 {
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("the ledger did not reach 11 steps within 60 s:\n%s", buf)
			}
			time.Sleep(10 * time.Millisecond)
		}
		kids := children(cmd.Process.Pid)
		if len(kids) == 0 {
			t.Fatal("mpirun has no child processes")
		}
		syscall.Kill(kids[len(kids)-1], syscall.SIGKILL)
		err := cmd.Wait()
		if err == nil {
			t.Fatalf("the killed job exited 0:\n%s", buf)
		}
		ck := ckptStep(filepath.Join(out, "checkpoints"))
		led := readLedgerT(t, filepath.Join(out, "checkpoints", "ledger.txt"))
		if ck < 8 || ck >= 30 {
			t.Fatalf("checkpoint at step %d after the kill; want a run killed midway", ck)
		}
		if len(led) <= ck {
			t.Fatalf("ledger holds %d steps, the checkpointed model has taken %d: want the ledger ahead (never behind)", len(led), ck)
		}
		t.Logf("killed with the checkpoint at step %d and %d ledger entries", ck, len(led))
		r := mustRun(t, 2, resumeArgs(out, "--resume")...)
		if !strings.Contains(r.stdout, fmt.Sprintf("resumed at step %d", ck)) {
			t.Errorf("resume banner missing:\n%s", r.stdout)
		}
		if d := maxDiff(weights(t, filepath.Join(out, "weights.bin")), refW); d != 0 {
			t.Errorf("resumed weights differ from the uninterrupted run's by %g", d)
		}
		sameLedger(t, readLedgerT(t, filepath.Join(out, "checkpoints", "ledger.txt")), refL)
	})

	// SIGTERM to one rank only (as if only it were told): all ranks must
	// stop after the same step. SIGUSR1 to mpirun, which forwards it to
	// every rank; once more with the checkpoint rewritten in the dptrain/1
	// format of earlier versions, which a resume must read.
	for _, sig := range []struct {
		name   string
		signal syscall.Signal
		toRank bool
		legacy bool
	}{{"SIGTERM-one-rank", syscall.SIGTERM, true, false}, {"SIGUSR1-via-mpirun", syscall.SIGUSR1, false, false},
		{"SIGUSR1-legacy-checkpoint", syscall.SIGUSR1, false, true}} {
		t.Run(sig.name, func(t *testing.T) {
			out := filepath.Join(dir, sig.name)
			cmd, buf := startAndWaitCheckpoint(t, out, 4)
			pid := cmd.Process.Pid
			if sig.toRank {
				kids := children(pid)
				if len(kids) == 0 {
					t.Fatal("mpirun has no child processes")
				}
				pid = kids[0]
			}
			syscall.Kill(pid, sig.signal)
			if err := cmd.Wait(); err != nil {
				t.Fatalf("%s: job failed: %v\n%s", sig.name, err, buf)
			}
			if !strings.Contains(buf.String(), "stopped by signal after step") {
				t.Fatalf("no stop message:\n%s", buf)
			}
			ck := ckptStep(filepath.Join(out, "checkpoints"))
			led := readLedgerT(t, filepath.Join(out, "checkpoints", "ledger.txt"))
			if ck <= 0 || ck >= 30 || len(led) != ck {
				t.Fatalf("after %s: checkpoint step %d, ledger %d entries; want equal and midway", sig.name, ck, len(led))
			}
			if sig.legacy {
				s, err := loadCheckpoint(filepath.Join(out, "checkpoints"))
				if err != nil {
					t.Fatal(err)
				}
				writeV1(t, filepath.Join(out, "checkpoints"), s)
			}
			mustRun(t, 2, resumeArgs(out, "--resume")...)
			if d := maxDiff(weights(t, filepath.Join(out, "weights.bin")), refW); d != 0 {
				t.Errorf("resumed weights differ from the uninterrupted run's by %g", d)
			}
			sameLedger(t, readLedgerT(t, filepath.Join(out, "checkpoints", "ledger.txt")), refL)
		})
	}
}

func fileHash(t *testing.T, path string) [32]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
}

// flagCase is a set of flags and the error they must give.
type flagCase struct {
	args []string
	want string
}

// checkFlagErrors runs a small 2-rank job with each case's flags added and
// checks that it fails with the case's error.
func checkFlagErrors(t *testing.T, cases []flagCase) {
	t.Helper()
	dir := t.TempDir()
	for _, tt := range cases {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			args := base(filepath.Join(dir, "x"), append([]string{"--train-limit", "64", "--test-limit", "16", "--batch-size", "32", "--steps", "2", "--sigma", "1"}, tt.args...)...)
			r := runJob(t, 2, args...)
			if r.code == 0 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, want an error containing %q:\n%s", r.code, tt.want, r.stderr)
			}
		})
	}
}

// TestBadInput: every mistake is a clear error.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	small := func(out string, extra ...string) []string {
		return base(filepath.Join(dir, out), append([]string{"--train-limit", "128", "--test-limit", "32", "--batch-size", "32", "--steps", "4", "--checkpoint-every", "2"}, extra...)...)
	}
	expect := func(t *testing.T, r result, code int, want ...string) {
		t.Helper()
		if r.code != code {
			t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
		}
		for _, w := range want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
			}
		}
	}
	t.Run("missing dataset", func(t *testing.T) {
		args := small("nodata", "--sigma", "1")
		args[1] = t.TempDir() // --data-dir: an empty directory
		expect(t, runJob(t, 2, args...), 1, "apt-get install dataset-fashion-mnist", "--data-dir", "rank 0")
	})
	t.Run("sigma and target epsilon", func(t *testing.T) {
		expect(t, runJob(t, 0, small("both", "--sigma", "1", "--target-epsilon", "3")...), 2, "--sigma and --target-epsilon both given")
	})
	t.Run("neither sigma nor target epsilon", func(t *testing.T) {
		expect(t, runJob(t, 0, small("neither")...), 2, "give --sigma")
	})
	t.Run("wrong threshold count", func(t *testing.T) {
		expect(t, runJob(t, 2, small("thr", "--sigma", "1", "--max-grad-norms", "1,1,1")...), 1, "--max-grad-norms gives 3 thresholds", "has 2 layers")
	})
	t.Run("budget exhausted at step 0", func(t *testing.T) {
		r := runJob(t, 2, small("tiny", "--sigma", "0.8", "--max-epsilon", "0.05")...)
		expect(t, r, 1, "already exhausted at step 0")
		if _, err := os.Stat(filepath.Join(dir, "tiny", "weights.bin")); err == nil {
			t.Error("a weights file was written although no step was allowed")
		}
	})
	t.Run("classes from the training labels", func(t *testing.T) {
		d := filepath.Join(dir, "four-classes")
		if err := writeSyntheticClasses(d, 128, 32, 4, 4); err != nil {
			t.Fatal(err)
		}
		args := small("four", "--sigma", "1")
		args[1] = d // --data-dir
		mustRun(t, 1, args...)
		if n := len(weights(t, filepath.Join(dir, "four", "weights.bin"))); n != 784*128+128+128*4+4 {
			t.Errorf("the mlp on 4 classes has %d parameters, want %d (4 outputs)", n, 784*128+128+128*4+4)
		}
	})
	t.Run("test label outside the training classes", func(t *testing.T) {
		d := filepath.Join(dir, "more-test-classes")
		if err := writeSyntheticClasses(d, 128, 32, 4, 10); err != nil {
			t.Fatal(err)
		}
		args := small("more", "--sigma", "1")
		args[1] = d
		expect(t, runJob(t, 2, args...), 1, "of test image", filepath.Join(d, "t10k-labels-idx1-ubyte"), "outside the 4 classes of the training labels", "rank 0")
	})
	t.Run("ranks with other settings", func(t *testing.T) {
		// One job, two programs (MPMD): rank 1 gets another learning rate
		// and seed.
		r := mpmd(t, small("mpmd", "--sigma", "1"), small("mpmd", "--sigma", "1", "--lr", "0.3", "--seed", "2"))
		expect(t, r, 1, "the ranks disagree on LR (rank 0: 0.1), Seed (rank 0: 1)", "same flags")
		if _, err := os.Stat(filepath.Join(dir, "mpmd", "checkpoints", "ledger.txt")); err == nil {
			t.Error("a ledger was created although the ranks disagree")
		}
	})
	// A finished run to damage and to resume with a spent budget.
	good := filepath.Join(dir, "good")
	mustRun(t, 2, small("good", "--sigma", "1")...)
	ck := filepath.Join(good, "checkpoints", ckptName)
	t.Run("budget spent on resume", func(t *testing.T) {
		out := filepath.Join(dir, "spent")
		copyDir(t, good, out)
		s, _ := loadCheckpoint(filepath.Join(out, "checkpoints"))
		var h = readLedgerT(t, filepath.Join(out, "checkpoints", "ledger.txt"))
		eps, err := epsFor(mustMech(t), nil, 1, 32.0/128, len(h), 1e-5)
		if err != nil || s == nil {
			t.Fatal(err)
		}
		r := runJob(t, 2, small("spent", "--sigma", "1", "--resume", "--steps", "8", "--max-epsilon", strconv.FormatFloat(eps*1.0001, 'g', -1, 64))...)
		expect(t, r, 1, "already exhausted at step 4")
	})
	t.Run("budget guard stops training", func(t *testing.T) {
		eps, _ := epsFor(mustMech(t), nil, 1, 32.0/128, 3, 1e-5)
		r := runJob(t, 2, small("guard", "--sigma", "1", "--steps", "10", "--max-epsilon", strconv.FormatFloat(eps, 'g', -1, 64))...)
		if r.code != 0 || !strings.Contains(r.stdout, "budget guard: stopped after step 3 of 10") {
			t.Fatalf("exit %d, want a stop after step 3:\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		if n := len(readLedgerT(t, filepath.Join(dir, "guard", "checkpoints", "ledger.txt"))); n != 3 {
			t.Errorf("ledger holds %d steps, want 3", n)
		}
	})
	damage := map[string]func([]byte) []byte{
		"corrupt checkpoint":   func(b []byte) []byte { b[len(b)/2] ^= 0x40; return b },
		"truncated checkpoint": func(b []byte) []byte { return b[:len(b)-100] },
	}
	wantMsg := map[string]string{"corrupt checkpoint": "SHA-256", "truncated checkpoint": "truncated"}
	for name, f := range damage {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			copyDir(t, good, out)
			p := filepath.Join(out, "checkpoints", ckptName)
			b, _ := os.ReadFile(ck)
			if err := os.WriteFile(p, f(b), 0o600); err != nil {
				t.Fatal(err)
			}
			before := fileHash(t, p)
			ledBefore := fileHash(t, filepath.Join(out, "checkpoints", "ledger.txt"))
			wBefore := fileHash(t, filepath.Join(out, "weights.bin"))
			r := runJob(t, 2, small(filepath.Base(out), "--sigma", "1", "--resume", "--steps", "6")...)
			expect(t, r, 1, "refusing checkpoint", wantMsg[name])
			if fileHash(t, p) != before || fileHash(t, filepath.Join(out, "checkpoints", "ledger.txt")) != ledBefore || fileHash(t, filepath.Join(out, "weights.bin")) != wBefore {
				t.Error("a file was changed after the checkpoint was refused")
			}
		})
	}
	t.Run("resume with other settings", func(t *testing.T) {
		out := filepath.Join(dir, "other")
		copyDir(t, good, out)
		expect(t, runJob(t, 2, small("other", "--sigma", "2", "--resume", "--steps", "6")...), 1, "Sigma: checkpoint 1, now 2")
	})
	t.Run("fresh run over an existing one", func(t *testing.T) {
		out := filepath.Join(dir, "again")
		copyDir(t, good, out)
		expect(t, runJob(t, 2, small("again", "--sigma", "1")...), 1, "already exists", "--resume")
	})
	t.Run("ledger behind the checkpoint", func(t *testing.T) {
		out := filepath.Join(dir, "behind")
		copyDir(t, good, out)
		lp := filepath.Join(out, "checkpoints", "ledger.txt")
		b, _ := os.ReadFile(lp)
		lines := strings.SplitAfter(string(b), "\n")
		os.WriteFile(lp, []byte(strings.Join(lines[:3], "")), 0o644) // header + 2 of 4 steps
		expect(t, runJob(t, 2, small("behind", "--sigma", "1", "--resume", "--steps", "6")...), 1, "records 2 of the 4 steps")
	})
}

func mustMech(t *testing.T) accountant.Mechanism {
	t.Helper()
	m, err := accountant.NewMechanism("rdp")
	if err != nil {
		t.Fatal(err)
	}
	return m
}
