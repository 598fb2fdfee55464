package multihost

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Environment variables read by Available.
const (
	// EnvHostfile names the hostfile of the hosts that are up.
	EnvHostfile = "DPMPI_NETNS_HOSTFILE"
	// EnvRequire, set to 1, makes tests fail instead of skipping when
	// the hosts are not up.
	EnvRequire = "DPMPI_REQUIRE_NETNS"
)

// Host is one line of a hostfile: a host name and its number of MPI slots.
type Host struct {
	Name  string
	Slots int
}

// ReadHostfile reads an Open MPI hostfile: one host per line, its name
// followed by optional "slots=N" (1 if absent); blank lines and lines
// starting with # are ignored. Other keywords are an error naming the line.
func ReadHostfile(path string) ([]Host, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("multihost: %w (bring the hosts up with scripts/netns-up.sh)", err)
	}
	defer f.Close()
	var hosts []Host
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		h := Host{Name: fields[0], Slots: 1}
		for _, kv := range fields[1:] {
			v, ok := strings.CutPrefix(kv, "slots=")
			s, err := strconv.Atoi(v)
			if !ok || err != nil || s < 1 {
				return nil, fmt.Errorf("multihost: %s:%d: %q is not slots=N with N ≥ 1", path, n, kv)
			}
			h.Slots = s
		}
		hosts = append(hosts, h)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("multihost: reading %s: %w", path, err)
	}
	if len(hosts) == 0 {
		return nil, fmt.Errorf("multihost: %s names no host", path)
	}
	return hosts, nil
}

// Available returns the hostfile named by DPMPI_NETNS_HOSTFILE and its
// hosts. When the variable is not set it returns an empty path and a
// reason to skip; when the file cannot be read, the error.
func Available() (path string, hosts []Host, reason string, err error) {
	path = os.Getenv(EnvHostfile)
	if path == "" {
		return "", nil, EnvHostfile + " is not set: the multi-host tests need the hosts of scripts/netns-up.sh; run scripts/multihost-test.sh", nil
	}
	hosts, err = ReadHostfile(path)
	return path, hosts, "", err
}

// Slots returns the total number of slots of hosts.
func Slots(hosts []Host) int {
	n := 0
	for _, h := range hosts {
		n += h.Slots
	}
	return n
}

// Placement returns, for a run of np ranks filled into the hosts' slots in
// order (Open MPI's default by-slot mapping with a hostfile), the number of
// ranks on each host. It returns an error if np exceeds the slots.
func Placement(hosts []Host, np int) ([]int, error) {
	if np > Slots(hosts) {
		return nil, fmt.Errorf("multihost: %d ranks do not fit in the %d slots of the hostfile", np, Slots(hosts))
	}
	out := make([]int, len(hosts))
	for i, h := range hosts {
		out[i] = min(h.Slots, np)
		np -= out[i]
	}
	return out, nil
}
