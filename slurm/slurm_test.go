package slurm

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// jobTimeout bounds every wait for a job. Jobs here take about 1 s; a
	// requeued job waits cred_expire (10 s with scripts/slurm-up.sh) first.
	jobTimeout = 60 * time.Second
	// cmdTimeout bounds every Slurm client command, so a dead controller
	// fails the test instead of hanging it.
	cmdTimeout = 20 * time.Second
	pollEvery  = 50 * time.Millisecond
)

// ---------------------------------------------------------------- helpers --

// run runs a command in dir (if not empty) with extra environment variables
// and returns its combined output. It never hangs for longer than cmdTimeout.
func run(dir string, env []string, name string, args ...string) (string, error) {
	return runFor(cmdTimeout, dir, env, name, args...)
}

// runFor is run with another time limit.
func runFor(timeout time.Duration, dir string, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %v", timeout)
	}
	if err != nil {
		err = fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return string(out), err
}

// unavailable skips the test, or fails it when DPMPI_REQUIRE_SLURM=1 (CI):
// there a missing cluster is a broken set-up, not a reason to test nothing.
func unavailable(t *testing.T, why string) {
	t.Helper()
	msg := why + "; start a local single-node Slurm with scripts/slurm-up.sh (as root)"
	if os.Getenv("DPMPI_REQUIRE_SLURM") == "1" {
		t.Fatal(msg + " [DPMPI_REQUIRE_SLURM=1, so this is a failure]")
	}
	t.Skip(msg)
}

// needSlurm checks that the Slurm clients and mpicc exist and that the
// controller answers.
func needSlurm(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"sbatch", "scontrol", "scancel", "mpicc"} {
		if _, err := exec.LookPath(tool); err != nil {
			unavailable(t, tool+" is not on PATH")
		}
	}
	out, err := run("", nil, "scontrol", "ping")
	if err != nil || !strings.Contains(out, "is UP") {
		unavailable(t, fmt.Sprintf("slurmctld does not answer (scontrol ping: %v %s)", err, strings.TrimSpace(out)))
	}
}

var hello struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// helloBinary compiles testdata/hello.c with mpicc once per test binary.
func helloBinary(t *testing.T) string {
	t.Helper()
	hello.once.Do(func() {
		src, err := filepath.Abs(filepath.Join("testdata", "hello.c"))
		if err != nil {
			hello.err = err
			return
		}
		if hello.dir, hello.err = os.MkdirTemp("", "dpmpi-slurm-hello-"); hello.err != nil {
			return
		}
		bin := filepath.Join(hello.dir, "hello")
		if out, err := run("", nil, "mpicc", "-O2", "-Wall", "-o", bin, src); err != nil {
			hello.err = fmt.Errorf("%v\n%s", err, out)
			return
		}
		hello.path = bin
	})
	if hello.err != nil {
		t.Fatalf("building the MPI hello program: %v", hello.err)
	}
	return hello.path
}

func TestMain(m *testing.M) {
	// The tests mostly wait for Slurm, so run more of them at once than the
	// default -parallel (GOMAXPROCS: 2 here) unless -parallel was given.
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", "8")
	}
	code := m.Run()
	if hello.dir != "" {
		os.RemoveAll(hello.dir)
	}
	os.Exit(code)
}

// job is one submitted batch job.
type job struct {
	id        string
	out       string // output file ("" for arrays: one file per task)
	submitted time.Time
}

var jobIDRE = regexp.MustCompile(`^[0-9]+$`)

// submit runs sbatch in dir (which becomes the job's working and submit
// directory) and registers a cleanup that cancels the job if the test ends
// before it does. env is exported to the job (sbatch's default --export=ALL).
func submit(t *testing.T, dir string, env, sbatchArgs []string, script string, scriptArgs ...string) *job {
	t.Helper()
	args := append([]string{"--parsable"}, sbatchArgs...)
	args = append(args, script)
	args = append(args, scriptArgs...)
	start := time.Now()
	out, err := run(dir, env, "sbatch", args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	id, _, _ := strings.Cut(strings.TrimSpace(out), ";") // "id" or "id;cluster"
	if !jobIDRE.MatchString(id) {
		t.Fatalf("sbatch printed %q, want a job id", out)
	}
	j := &job{id: id, submitted: start}
	t.Cleanup(func() {
		// Harmless for a finished job; frees the node for a job the test abandoned.
		_, _ = run("", nil, "scancel", id)
	})
	return j
}

// submitInline writes body to dir/name.sbatch and submits it with its
// output in dir/name.out.
func submitInline(t *testing.T, dir, name, body string, sbatchArgs ...string) *job {
	t.Helper()
	script := filepath.Join(dir, name+".sbatch")
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name+".out")
	args := append([]string{"--job-name=dpmpi-test-" + name, "--output=" + out, "--time=5"}, sbatchArgs...)
	j := submit(t, dir, nil, args, script)
	j.out = out
	return j
}

// record is one job record of `scontrol show job -o`: Key -> Value.
type record map[string]string

var fieldRE = regexp.MustCompile(`(\w+)=(\S*)`)

// records returns the job's records: one for a plain job, one per task
// (once split) for an array.
func records(id string) ([]record, string, error) {
	out, err := run("", nil, "scontrol", "-o", "show", "job", id)
	if err != nil {
		return nil, out, fmt.Errorf("%v: %s", err, strings.TrimSpace(out))
	}
	var recs []record
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		r := record{}
		for _, m := range fieldRE.FindAllStringSubmatch(line, -1) {
			if _, dup := r[m[1]]; !dup { // keep the first of repeated keys
				r[m[1]] = m[2]
			}
		}
		recs = append(recs, r)
	}
	return recs, out, nil
}

var terminal = map[string]bool{
	"COMPLETED": true, "FAILED": true, "CANCELLED": true, "TIMEOUT": true,
	"NODE_FAIL": true, "PREEMPTED": true, "BOOT_FAIL": true, "DEADLINE": true,
	"OUT_OF_MEMORY": true,
}

func allTerminal(recs []record) bool {
	for _, r := range recs {
		if !terminal[r["JobState"]] {
			return false
		}
	}
	return len(recs) > 0
}

// waitFor polls the job until cond holds, and fails the test with the
// job's scontrol record, its output and the controller log when it does
// not within jobTimeout.
func waitFor(t *testing.T, j *job, what string, cond func([]record) bool) []record {
	t.Helper()
	deadline := time.Now().Add(jobTimeout)
	for {
		recs, raw, err := records(j.id)
		if err == nil && cond(recs) {
			return recs
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s: not %s within %v (last error: %v)\n%s", j.id, what, jobTimeout, err, diagnose(j, raw))
		}
		time.Sleep(pollEvery)
	}
}

// waitDone waits for every record of the job to reach a terminal state.
func waitDone(t *testing.T, j *job) []record {
	t.Helper()
	recs := waitFor(t, j, "finished", allTerminal)
	t.Logf("job %s: %s after %.2fs (submit to observed end)", j.id, recs[0]["JobState"], time.Since(j.submitted).Seconds())
	return recs
}

// diagnose gathers what a human needs to see when a job misbehaves.
func diagnose(j *job, scontrolOut string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- scontrol show job %s ---\n%s\n", j.id, strings.TrimSpace(scontrolOut))
	if j.out != "" {
		data, err := os.ReadFile(j.out)
		fmt.Fprintf(&b, "--- job output %s (err=%v) ---\n%s\n", j.out, err, data)
	}
	fmt.Fprintf(&b, "--- slurmctld log tail ---\n%s", ctldLogTail(30))
	return b.String()
}

// ctldLogTail returns the last n lines of the controller's log, found
// through `scontrol show config`.
func ctldLogTail(n int) string {
	cfg, err := run("", nil, "scontrol", "show", "config")
	if err != nil {
		return fmt.Sprintf("(scontrol show config: %v)", err)
	}
	m := regexp.MustCompile(`(?m)^SlurmctldLogFile\s*=\s*(\S+)`).FindStringSubmatch(cfg)
	if m == nil {
		return "(no SlurmctldLogFile in scontrol show config)"
	}
	data, err := os.ReadFile(m[1])
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func readOutput(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("job output: %v", err)
	}
	return string(data)
}

func expectState(t *testing.T, j *job, r record, state, exitCode string) {
	t.Helper()
	if r["JobState"] != state || r["ExitCode"] != exitCode {
		t.Errorf("job %s: JobState=%s ExitCode=%s, want %s and %s\n--- output ---\n%s",
			j.id, r["JobState"], r["ExitCode"], state, exitCode, readOutputQuiet(j.out))
	}
}

func readOutputQuiet(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	return string(data)
}

var helloRE = regexp.MustCompile(`(?m)^hello rank (\d+) of (\d+) sum (\S+) host \S+$`)

// checkHello checks that the output holds exactly one line for each of n
// ranks, all in one world of size n, all with the allreduced sum n(n+1)/2.
// A launcher/library mismatch (n singletons) fails here.
func checkHello(t *testing.T, out string, n int) {
	t.Helper()
	matches := helloRE.FindAllStringSubmatch(out, -1)
	wantSum := strconv.Itoa(n * (n + 1) / 2)
	seen := map[string]int{}
	var problems []string
	for _, m := range matches {
		seen[m[1]]++
		if m[2] != strconv.Itoa(n) {
			problems = append(problems, fmt.Sprintf("rank %s reports world size %s, want %d", m[1], m[2], n))
		}
		if m[3] != wantSum {
			problems = append(problems, fmt.Sprintf("rank %s reports allreduced sum %s, want %s", m[1], m[3], wantSum))
		}
	}
	for r := 0; r < n; r++ {
		if c := seen[strconv.Itoa(r)]; c != 1 {
			problems = append(problems, fmt.Sprintf("rank %d printed %d lines, want 1", r, c))
		}
	}
	if len(matches) != n {
		problems = append(problems, fmt.Sprintf("%d hello lines, want %d", len(matches), n))
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		t.Errorf("%s\n--- output ---\n%s", strings.Join(problems, "\n"), out)
	}
}

// launchers are the two ways an Open MPI program runs inside an allocation.
var launchers = []struct{ name, cmd string }{
	{"srun-pmix", "srun --mpi=pmix"},
	// No -np: mpirun takes its slots from the allocation.
	{"mpirun", "mpirun --allow-run-as-root --bind-to none"},
}

// mpiJobScript is a batch script that runs hello under a launcher and
// reports the launcher's own exit status before exiting with it.
func mpiJobScript(launch, bin string, helloArgs ...string) string {
	return fmt.Sprintf(`#!/bin/bash
set -uo pipefail
# ob1 skips Open MPI's slow probing of absent high-speed transports.
export OMPI_MCA_pml=ob1
%s %s %s
rc=$?
echo "launcher-exit=$rc"
exit $rc
`, launch, bin, strings.Join(helloArgs, " "))
}

// ------------------------------------------------------------------ tests --

// TestMPIWorlds runs 2- and 4-rank MPI jobs under srun --mpi=pmix and under
// mpirun inside the allocation, and checks every rank joined one world.
func TestMPIWorlds(t *testing.T) {
	needSlurm(t)
	bin := helloBinary(t)
	for _, n := range []int{2, 4} {
		for _, l := range launchers {
			t.Run(fmt.Sprintf("%s/n=%d", l.name, n), func(t *testing.T) {
				t.Parallel()
				j := submitInline(t, t.TempDir(), "hello", mpiJobScript(l.cmd, bin), "--ntasks="+strconv.Itoa(n))
				recs := waitDone(t, j)
				expectState(t, j, recs[0], "COMPLETED", "0:0")
				if got := recs[0]["NumTasks"]; got != strconv.Itoa(n) {
					t.Errorf("NumTasks=%s, want %d", got, n)
				}
				checkHello(t, readOutput(t, j.out), n)
			})
		}
	}
}

// TestMPICHWorld runs an MPICH build under srun --mpi=pmi2, the launcher
// train.sbatch uses for DPMPI_LAUNCHER=pmi2 (go build -tags mpich). MPICH is
// optional (scripts/slurm-up.sh installs only Open MPI), so this skips
// without mpicc.mpich.
func TestMPICHWorld(t *testing.T) {
	needSlurm(t)
	if _, err := exec.LookPath("mpicc.mpich"); err != nil {
		t.Skip("mpicc.mpich not on PATH (apt-get install libmpich-dev mpich)")
	}
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "hello-mpich")
	if out, err := run("", nil, "mpicc.mpich", "-O2", "-o", bin, scriptPath(t, filepath.Join("testdata", "hello.c"))); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	j := submitInline(t, dir, "mpich", mpiJobScript("srun --mpi=pmi2", bin), "--ntasks=4")
	recs := waitDone(t, j)
	expectState(t, j, recs[0], "COMPLETED", "0:0")
	checkHello(t, readOutput(t, j.out), 4)
}

// TestExitStatusPropagates: rank 1 exits 3; the launcher, the batch script
// and the job record must all report 3.
func TestExitStatusPropagates(t *testing.T) {
	needSlurm(t)
	bin := helloBinary(t)
	for _, l := range launchers {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			j := submitInline(t, t.TempDir(), "exit3", mpiJobScript(l.cmd, bin, "1", "3"), "--ntasks=2")
			recs := waitDone(t, j)
			expectState(t, j, recs[0], "FAILED", "3:0")
			out := readOutput(t, j.out)
			if !strings.Contains(out, "launcher-exit=3\n") {
				t.Errorf("%s did not return 3\n--- output ---\n%s", l.cmd, out)
			}
			checkHello(t, out, 2) // the ranks ran normally before the exit
		})
	}
}

// TestKillOnInvalidDependency: a job depending (afterok) on a failed job is
// cancelled with --kill-on-invalid-dep=yes, and left pending without it.
func TestKillOnInvalidDependency(t *testing.T) {
	needSlurm(t)
	dir := t.TempDir()
	// Held until both dependents are queued, so the test always covers the
	// transition "dependency pending -> dependency failed" (a dependent
	// submitted after the failure is handled the same way, checked by hand).
	failing := submitInline(t, dir, "fails", "#!/bin/bash\necho failing on purpose\nexit 1\n", "--hold")
	after := "--dependency=afterok:" + failing.id
	killed := submitInline(t, dir, "dep-kill", "#!/bin/bash\necho must not run\n", after, "--kill-on-invalid-dep=yes")
	stuck := submitInline(t, dir, "dep-stuck", "#!/bin/bash\necho must not run\n", after, "--kill-on-invalid-dep=no")
	if out, err := run("", nil, "scontrol", "release", failing.id); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}

	recs := waitDone(t, failing)
	expectState(t, failing, recs[0], "FAILED", "1:0")

	recs = waitDone(t, killed)
	if st := recs[0]["JobState"]; st != "CANCELLED" {
		t.Errorf("dependent job with --kill-on-invalid-dep=yes: JobState=%s Reason=%s, want CANCELLED", st, recs[0]["Reason"])
	}
	if _, err := os.Stat(killed.out); err == nil {
		t.Errorf("cancelled dependent job ran anyway:\n%s", readOutputQuiet(killed.out))
	}

	// The pitfall the flag exists for: without it the job waits forever.
	waitFor(t, stuck, "PENDING with Reason=DependencyNeverSatisfied", func(recs []record) bool {
		return recs[0]["JobState"] == "PENDING" && recs[0]["Reason"] == "DependencyNeverSatisfied"
	})
}

// fakeDptrain stands in for bin/dptrain: it records its arguments, and
// either resumes (with --resume: reads its checkpoint and exits 0) or runs
// until SIGUSR1/SIGTERM, then writes a checkpoint and exits 0, as dptrain
// does. Like dptrain it keeps checkpoint.ckpt in --checkpoint-dir.
// FAKE_RUN_ONCE=1: exit 0 at once. FAKE_NO_CKPT=1: on the signal write only
// a ledger, as if the attempt had died before its first checkpoint.
const fakeDptrain = `#!/bin/bash
# mpirun sets OMPI_COMM_WORLD_RANK; SLURM_PROCID is then the batch step's 0.
rank=${OMPI_COMM_WORLD_RANK:-${SLURM_PROCID:-0}}
ckpt="" resume=0 args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
	case ${args[i]} in
	--checkpoint-dir) ckpt=${args[i+1]} ;;
	--resume) resume=1 ;;
	esac
done
echo "fake-dptrain rank=$rank start args: $*"
if ((resume)); then
	[[ -f $ckpt/checkpoint.ckpt ]] || { echo "fake-dptrain rank=$rank: no checkpoint in '$ckpt'"; exit 4; }
	echo "fake-dptrain rank=$rank resumed from $(<"$ckpt/checkpoint.ckpt")"
	exit 0
fi
[[ -z ${FAKE_RUN_ONCE:-} ]] || exit 0
stop=""
trap 'stop=USR1' USR1
trap 'stop=TERM' TERM
for ((i = 0; i < 900; i++)); do
	[[ -z $stop ]] || break
	sleep 0.1
done
[[ -n $stop ]] || { echo "fake-dptrain rank=$rank: no signal within 90 s"; exit 5; }
mkdir -p "$ckpt"
if [[ -n ${FAKE_NO_CKPT:-} ]]; then
	echo "entry" >>"$ckpt/ledger.txt"
	echo "fake-dptrain rank=$rank got SIG$stop, wrote no checkpoint"
	exit 0
fi
((rank != 0)) || echo step-42 >"$ckpt/checkpoint.ckpt"
echo "fake-dptrain rank=$rank got SIG$stop, checkpointed"
`

func writeFake(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "fake-dptrain")
	if err := os.WriteFile(p, []byte(fakeDptrain), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func scriptPath(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTrainRequeueResume drives slurm/train.sbatch through both ways a
// training job is interrupted, under srun --mpi=pmix and under mpirun:
//
//   - time limit: the warning signal (what --signal=B:USR1@120 sends to the
//     batch shell) is forwarded to every rank, the ranks checkpoint and the
//     script requeues the job itself;
//   - preemption: `scontrol requeue` (as a PreemptMode=REQUEUE preemption)
//     sends SIGTERM to every process of the job and Slurm requeues it.
//
// Either way the rerun (SLURM_RESTART_COUNT=1) must resume from the
// checkpoint, and --open-mode=append must keep both attempts' output.
func TestTrainRequeueResume(t *testing.T) {
	needSlurm(t)
	for _, launcher := range []string{"pmix", "mpirun"} {
		for _, trigger := range []string{"timelimit", "preempt"} {
			t.Run(launcher+"/"+trigger, func(t *testing.T) {
				t.Parallel()
				trainRequeue(t, launcher, trigger)
			})
		}
	}
}

func trainRequeue(t *testing.T, launcher, trigger string) {
	dir := t.TempDir()
	outDir := filepath.Join(dir, "out")
	ckpt := filepath.Join(outDir, "checkpoints") // train.sbatch's default under --out
	out := filepath.Join(dir, "train.out")
	env := []string{
		"DPMPI_LAUNCHER=" + launcher, "DPTRAIN=" + writeFake(t, dir),
		"DPMPI_OUT_DIR=" + outDir, "DPTRAIN_ARGS=--epochs 3",
	}
	j := submit(t, dir, env,
		[]string{"--ntasks=2", "--cpus-per-task=1", "--time=5", "--output=" + out},
		scriptPath(t, "train.sbatch"), "--sigma", "1.5")
	j.out = out

	waitFor(t, j, "running with both ranks started", func(recs []record) bool {
		return recs[0]["JobState"] == "RUNNING" && strings.Count(readOutputQuiet(out), " start args: ") == 2
	})
	interrupt := []string{"scontrol", "requeue", j.id}
	signal, selfRequeue := "SIGTERM", 0
	if trigger == "timelimit" {
		interrupt = []string{"scancel", "--batch", "--signal=USR1", j.id}
		signal, selfRequeue = "SIGUSR1", 1
	}
	if o, err := run("", nil, interrupt[0], interrupt[1:]...); err != nil {
		t.Fatalf("%v\n%s", err, o)
	}
	waitFor(t, j, "requeued (Restarts=1)", func(recs []record) bool { return recs[0]["Restarts"] == "1" })
	recs := waitDone(t, j)
	expectState(t, j, recs[0], "COMPLETED", "0:0")

	// Under mpirun a preemption's SIGTERM also reaches mpirun, which stops
	// forwarding output and SIGKILLs the ranks 1 s later (Open MPI 4.1, see
	// docs/slurm.md): the checkpoints get written (the resume below proves it)
	// but their log lines may be lost.
	checkpointLines := 2
	if launcher == "mpirun" && trigger == "preempt" {
		checkpointLines = strings.Count(readOutputQuiet(out), "got SIGTERM, checkpointed")
	}
	text := readOutput(t, out)
	for _, want := range []struct {
		what  string
		count int
	}{
		{"start args: --epochs 3 --out " + outDir + " --checkpoint-dir " + ckpt + " --sigma 1.5\n", 2},
		{"start args: --epochs 3 --out " + outDir + " --checkpoint-dir " + ckpt + " --resume --sigma 1.5\n", 2},
		{"got " + signal + ", checkpointed", checkpointLines},
		{"resumed from step-42", 2},
		{"requeueing job " + j.id, selfRequeue},
		{"restart 0 on", 1},
		{"restart 1 on", 1},
	} {
		if got := strings.Count(text, want.what); got != want.count {
			t.Errorf("output has %q %d times, want %d", want.what, got, want.count)
		}
	}
	if t.Failed() {
		t.Logf("--- output ---\n%s", text)
	}
}

// TestTrainRealDptrain is the end-to-end check: the real cmd/dptrain, on 2
// ranks under srun --mpi=pmix, gets the time-limit signal mid-training,
// checkpoints, is requeued by train.sbatch and resumes to the end, with all
// steps in one privacy ledger. It skips when the Fashion-MNIST files are
// absent ($DPMPI_FASHION_MNIST or /usr/share/datasets/fashion-mnist).
func TestTrainRealDptrain(t *testing.T) {
	needSlurm(t)
	data := os.Getenv("DPMPI_FASHION_MNIST")
	if data == "" {
		data = "/usr/share/datasets/fashion-mnist"
	}
	if _, err := os.Stat(filepath.Join(data, "train-labels-idx1-ubyte.gz")); err != nil {
		t.Skipf("no Fashion-MNIST for dptrain: %v", err)
	}
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "dptrain")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if out, err := runFor(5*time.Minute, scriptPath(t, ".."), nil, goTool, "build", "-o", bin, "./cmd/dptrain"); err != nil {
		t.Fatalf("building cmd/dptrain: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "train.out")
	const steps = "40"
	j := submit(t, dir, []string{"DPTRAIN=" + bin, "OMPI_MCA_pml=ob1"},
		[]string{"--ntasks=2", "--cpus-per-task=1", "--time=5", "--output=" + out},
		scriptPath(t, "train.sbatch"),
		"--data-dir", data, "--train-limit", "2000", "--test-limit", "500", "--model", "mlp",
		"--steps", steps, "--throttle", "100ms", "--sigma", "1", "--checkpoint-every", "10",
		"--progress", "lines", "--log-every", "10", "--eval-every", "0")
	j.out = out

	waitFor(t, j, "training (step 10 logged)", func(recs []record) bool {
		return recs[0]["JobState"] == "RUNNING" && strings.Contains(readOutputQuiet(out), "step 10/"+steps)
	})
	if o, err := run("", nil, "scancel", "--batch", "--signal=USR1", j.id); err != nil {
		t.Fatalf("%v\n%s", err, o)
	}
	waitFor(t, j, "requeued (Restarts=1)", func(recs []record) bool { return recs[0]["Restarts"] == "1" })
	recs := waitDone(t, j)
	expectState(t, j, recs[0], "COMPLETED", "0:0")
	text := readOutput(t, out)
	for _, want := range []string{
		"stopped by signal after step", "requeueing job " + j.id, "restart 1 on", "dptrain: resumed at step",
		"; " + steps + " steps recorded in",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^steps\s+` + steps + ` of ` + steps + `\b`).MatchString(text) {
		t.Errorf("output lacks the summary line \"steps %s of %s\"", steps, steps)
	}
	if t.Failed() {
		t.Logf("--- output ---\n%s", text)
	}
}

// TestTrainLostCheckpoint: an attempt that left a ledger but no checkpoint
// (killed before its first checkpoint) must make the rerun fail with a
// clear message instead of starting over on top of the old privacy record.
func TestTrainLostCheckpoint(t *testing.T) {
	needSlurm(t)
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "train.out")
	env := []string{"DPTRAIN=" + writeFake(t, dir), "FAKE_NO_CKPT=1", "DPMPI_OUT_DIR=" + filepath.Join(dir, "out")}
	j := submit(t, dir, env, []string{"--ntasks=2", "--cpus-per-task=1", "--time=5", "--output=" + out},
		scriptPath(t, "train.sbatch"))
	j.out = out
	waitFor(t, j, "running with both ranks started", func(recs []record) bool {
		return recs[0]["JobState"] == "RUNNING" && strings.Count(readOutputQuiet(out), " start args: ") == 2
	})
	if o, err := run("", nil, "scontrol", "requeue", j.id); err != nil {
		t.Fatalf("%v\n%s", err, o)
	}
	waitFor(t, j, "requeued (Restarts=1)", func(recs []record) bool { return recs[0]["Restarts"] == "1" })
	recs := waitDone(t, j)
	expectState(t, j, recs[0], "FAILED", "3:0")
	if text := readOutput(t, out); !strings.Contains(text, "has no checkpoint.ckpt but is not empty") {
		t.Errorf("no explanation in the output:\n%s", text)
	}
}

// TestSweepArray runs slurm/sweep.sbatch as a 3-task array and checks each
// task got its own value and its own %A_%a output file.
func TestSweepArray(t *testing.T) {
	needSlurm(t)
	t.Parallel()
	dir := t.TempDir()
	values := []string{"0.5", "1", "2"}
	env := []string{
		"DPTRAIN=" + writeFake(t, dir), "FAKE_RUN_ONCE=1",
		"DPMPI_ROOT=" + scriptPath(t, ".."), "SWEEP_VALUES=" + strings.Join(values, " "),
	}
	j := submit(t, dir, env, []string{"--array=0-2", "--ntasks=1", "--cpus-per-task=1", "--time=5"},
		scriptPath(t, "sweep.sbatch"), "--epochs", "1")
	recs := waitFor(t, j, "finished (all 3 array tasks)", func(recs []record) bool {
		return len(recs) == 3 && allTerminal(recs)
	})
	t.Logf("array %s: 3 tasks done after %.2fs", j.id, time.Since(j.submitted).Seconds())
	for _, r := range recs {
		if r["JobState"] != "COMPLETED" || r["ExitCode"] != "0:0" {
			t.Errorf("array task %s: JobState=%s ExitCode=%s, want COMPLETED 0:0", r["ArrayTaskId"], r["JobState"], r["ExitCode"])
		}
	}
	for i, v := range values {
		path := filepath.Join(dir, fmt.Sprintf("sweep-%s_%d.out", j.id, i))
		text := readOutputQuiet(path)
		outDir := filepath.Join(dir, "out", fmt.Sprintf("%s_%d", j.id, i))
		want := fmt.Sprintf("start args: --out %s --checkpoint-dir %s/checkpoints --sigma %s --epochs 1\n", outDir, outDir, v)
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %q:\n%s", path, want, text)
		}
	}
}
