package multihost_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/internal/multihost"
	"github.com/dpmpi/dpmpi/mpi/mpitest"
)

func TestMain(m *testing.M) { mpitest.Main(m) }

// np is the rank count of every multi-host test: 2 hosts × 2 ranks with
// the hostfile of scripts/multihost-test.sh.
const np = 4

// hostsUp returns the hosts of DPMPI_NETNS_HOSTFILE, skipping the test
// when it is not set (failing under DPMPI_REQUIRE_NETNS=1). In the go test
// process it also points mpi/mpitest at scripts/netns-mpirun.sh and logs
// the hosts and their rank counts.
func hostsUp(t *testing.T) []multihost.Host {
	t.Helper()
	_, hosts, reason, err := multihost.Available()
	if err != nil {
		t.Fatal(err)
	}
	if reason != "" {
		if os.Getenv(multihost.EnvRequire) == "1" {
			t.Fatal(reason + " [" + multihost.EnvRequire + "=1, so this is a failure]")
		}
		t.Skip(reason)
	}
	if len(hosts) < 2 {
		t.Fatalf("the hostfile names %d host; the multi-host tests need at least 2", len(hosts))
	}
	place, err := multihost.Placement(hosts, np)
	if err != nil {
		t.Fatal(err)
	}
	if mpitest.World() == nil {
		t.Setenv("DPMPI_MPIRUN", launcher(t))
		var b strings.Builder
		for i, h := range hosts {
			if place[i] > 0 {
				b.WriteString(" " + h.Name + "×" + strconv.Itoa(place[i]))
			}
		}
		t.Logf("%d ranks on hosts%s (TCP only)", np, b.String())
	}
	return hosts
}

// launcher returns the absolute path of scripts/netns-mpirun.sh.
func launcher(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "scripts", "netns-mpirun.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the multi-host launcher: %v", err)
	}
	return p
}

// namespacePIDs returns the processes in the network namespace of host.
func namespacePIDs(t *testing.T, host string) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "pids", host).Output()
	if err != nil {
		t.Fatalf("ip netns pids %s: %v", host, err)
	}
	return strings.Fields(string(out))
}
