package multihost_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
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
)

// dataDir returns the Fashion-MNIST directory that dptrain reads by default.
func dataDir(t *testing.T) string {
	t.Helper()
	d := os.Getenv("DPMPI_FASHION_MNIST")
	if d == "" {
		d = "/usr/share/datasets/fashion-mnist"
	}
	if _, err := os.Stat(filepath.Join(d, "train-images-idx3-ubyte.gz")); err != nil {
		t.Fatalf("Fashion-MNIST: %v (install it with scripts/setup.sh, or set DPMPI_FASHION_MNIST)", err)
	}
	return d
}

// buildDptrain builds cmd/dptrain into the test's temporary directory.
func buildDptrain(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "dptrain")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/dptrain").CombinedOutput(); err != nil {
		t.Fatalf("building dptrain: %v\n%s", err, out)
	}
	return bin
}

// steps is the length of the dptrain runs.
const steps = 16

// trainArgs are the flags of every dptrain run here: the MLP on 2,048
// images, noise, Poisson sampling, virtual steps, the hook-based optimizer,
// a checkpoint every 4 steps.
func trainArgs(t *testing.T, out string, extra ...string) []string {
	return append([]string{"--data-dir", dataDir(t), "--out", out, "--model", "mlp",
		"--train-limit", "2048", "--test-limit", "256", "--batch-size", "256", "--steps", strconv.Itoa(steps),
		"--sigma", "1", "--max-grad-norm", "1", "--lr", "0.1", "--momentum", "0.9", "--max-physical-batch", "32",
		"--dist-optimizer", "hooks", "--checkpoint-every", "4", "--seed", "5", "--eval-every", "0",
		"--progress", "none", "--plot", "none"}, extra...)
}

// job is a dptrain run under a launcher, killed as a process group if it
// outlives its context.
type job struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan error // the result of Wait, once the job has ended
}

// startJob starts dptrain with np ranks: across the hosts (netns-mpirun.sh)
// or, with local set, under plain mpirun on this host's shared memory.
func startJob(ctx context.Context, t *testing.T, local bool, bin string, args ...string) *job {
	t.Helper()
	name, pre := launcher(t), []string{"-np", strconv.Itoa(np), "--bind-to", "none"}
	if local {
		name, pre = "mpirun", []string{"--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", strconv.Itoa(np)}
	}
	j := &job{cmd: exec.CommandContext(ctx, name, append(append(pre, bin), args...)...), done: make(chan error, 1)}
	j.cmd.Env = append(os.Environ(), "OMPI_MCA_pml=ob1", "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
	j.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	j.cmd.Cancel = func() error { return syscall.Kill(-j.cmd.Process.Pid, syscall.SIGKILL) }
	j.cmd.WaitDelay = 5 * time.Second
	j.cmd.Stdout, j.cmd.Stderr = &j.out, &j.out
	if err := j.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() { j.done <- j.cmd.Wait() }()
	return j
}

// mustTrain runs dptrain to the end and fails the test unless it exits 0.
func mustTrain(t *testing.T, local bool, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	j := startJob(ctx, t, local, bin, args...)
	if err := <-j.done; err != nil {
		t.Fatalf("dptrain on %d ranks (local %v): %v\n%s", np, local, err, j.out.String())
	}
	return j.out.String()
}

// params reads the parameter values of a dptrain weights file (format in
// docs/dptrain.md).
func params(t *testing.T, path string) []float64 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(raw)
	var magic [8]byte
	var ver, layers uint32
	fail := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: not a dptrain weights file: %v", path, err)
		}
	}
	fail(binary.Read(r, binary.LittleEndian, &magic))
	fail(binary.Read(r, binary.LittleEndian, &ver))
	fail(binary.Read(r, binary.LittleEndian, &layers))
	for range layers {
		var n, dims uint32
		fail(binary.Read(r, binary.LittleEndian, &n))
		_, err := r.Seek(int64(n), 1)
		fail(err)
		fail(binary.Read(r, binary.LittleEndian, &dims))
		_, err = r.Seek(int64(4*dims+16), 1)
		fail(err)
	}
	var count uint64
	fail(binary.Read(r, binary.LittleEndian, &count))
	p := make([]float64, count)
	fail(binary.Read(r, binary.LittleEndian, p))
	return p
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

func ledger(t *testing.T, out string) []accountant.LedgerRecord {
	t.Helper()
	recs, err := accountant.ReadLedgerRecords(filepath.Join(out, "checkpoints", "ledger.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// everyStep checks that recs has a record for each of the logical steps
// 1..n.
func everyStep(t *testing.T, recs []accountant.LedgerRecord, n int) {
	t.Helper()
	seen := make(map[int]bool)
	for _, r := range recs {
		seen[r.Step] = true
	}
	for s := 1; s <= n; s++ {
		if !seen[s] {
			t.Errorf("the ledger has no record of step %d (of %d applied)", s, n)
		}
	}
}

// TestDptrain runs dptrain with 2 ranks on each of 2 hosts over TCP and
// compares it with the same 4-rank run on one host's shared memory (the
// same weights and ledger: the reduction's order of additions does not
// depend on the transport). Then it loses a host: once the ledger holds 7
// steps (a checkpoint at step 4), every process in the last host's
// namespace (its MPI daemon and ranks) is killed; the job must end within
// 30 s, nonzero, with a message naming that host; dptrain --resume on the
// hosts must then finish with the uninterrupted run's weights, bit for bit,
// and its ledger line for line, which has every applied step.
func TestDptrain(t *testing.T) {
	hosts := hostsUp(t)
	bin := buildDptrain(t)
	dir := t.TempDir()

	ref := filepath.Join(dir, "hosts")
	mustTrain(t, false, bin, trainArgs(t, ref)...)
	refW, refL := params(t, filepath.Join(ref, "weights.bin")), ledger(t, ref)
	if len(refL) != steps {
		t.Fatalf("the run across hosts recorded %d steps, want %d", len(refL), steps)
	}
	everyStep(t, refL, steps)

	t.Run("shared-memory", func(t *testing.T) {
		out := filepath.Join(dir, "shm")
		mustTrain(t, true, bin, trainArgs(t, out)...)
		if d := maxDiff(params(t, filepath.Join(out, "weights.bin")), refW); d != 0 {
			t.Errorf("weights on shared memory differ from those across hosts by %g", d)
		}
		sameLedger(t, ledger(t, out), refL)
	})

	t.Run("host-loss", func(t *testing.T) {
		lost := hosts[len(hosts)-1].Name
		out := filepath.Join(dir, "loss")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		j := startJob(ctx, t, false, bin, trainArgs(t, out, "--throttle", "150ms")...)
		lp := filepath.Join(out, "checkpoints", "ledger.txt")
		for {
			if recs, err := accountant.ReadLedgerRecords(lp); err == nil && len(recs) >= 7 {
				break
			}
			select {
			case err := <-j.done:
				t.Fatalf("the job ended (%v) before its ledger reached 7 steps:\n%s", err, j.out.String())
			case <-time.After(10 * time.Millisecond):
			}
		}
		pids := namespacePIDs(t, lost)
		if len(pids) == 0 {
			t.Fatalf("no process runs on host %s", lost)
		}
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		killed := time.Now()
		var err error
		select {
		case err = <-j.done:
		case <-time.After(30 * time.Second):
			cancel()
			<-j.done
			t.Fatalf("the job did not end within 30 s of losing host %s (%d processes killed):\n%s", lost, len(pids), j.out.String())
		}
		t.Logf("killed the %d processes of host %s; the job ended %v later (%v)", len(pids), lost, time.Since(killed).Round(time.Millisecond), err)
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("the job survived the loss of host %s (%v):\n%s", lost, err, j.out.String())
		}
		var naming []string
		for _, line := range strings.Split(j.out.String(), "\n") {
			if strings.Contains(line, lost) {
				naming = append(naming, strings.TrimSpace(line))
			}
		}
		if len(naming) == 0 {
			t.Errorf("no message names the lost host %s:\n%s", lost, j.out.String())
		}
		t.Logf("the lines naming %s:\n%s", lost, strings.Join(naming, "\n"))
		led := ledger(t, out)
		if len(led) < 7 || len(led) >= steps {
			t.Fatalf("the ledger holds %d steps after the loss; want a run stopped midway", len(led))
		}

		res := mustTrain(t, false, bin, trainArgs(t, out, "--resume")...)
		if !strings.Contains(res, "resumed at step") {
			t.Errorf("no resume banner:\n%s", res)
		}
		if d := maxDiff(params(t, filepath.Join(out, "weights.bin")), refW); d != 0 {
			t.Errorf("resumed weights differ from the uninterrupted run's by %g", d)
		}
		got := ledger(t, out)
		everyStep(t, got, steps)
		sameLedger(t, got, refL)
	})
}

func sameLedger(t *testing.T, got, want []accountant.LedgerRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("the ledger holds %d records, the run across hosts %d", len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("ledger record %d is %+v, the run across hosts' %+v", i+1, got[i], want[i])
		}
	}
}
