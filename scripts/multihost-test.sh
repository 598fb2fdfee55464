#!/usr/bin/env bash
# The multi-host tests (package internal/multihost): brings up 2 hosts in
# network namespaces with a link shaped to 10 Gb/s (scripts/netns-up.sh),
# runs the tests with 2 ranks on each host over TCP, prints the hosts and
# rank counts, and brings the hosts down again (unless they were already up
# before this script ran). Called by scripts/test.sh; about a minute here.
#
#   scripts/multihost-test.sh [go test flags...]
#
# The full log is kept in out/test/multihost.log.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
log=out/test
mkdir -p "$log"
hostfile=$PWD/out/netns/hostfile
t0=$SECONDS

# Capability check: network namespaces need root and iproute2's ip netns,
# and the launch needs Open MPI's mpirun. Without them the tests are
# skipped, saying so (DPMPI_REQUIRE_NETNS=1, as on CI, makes that a failure).
why=
if [ "$(id -u)" != 0 ]; then
	why="not root"
elif ! command -v ip > /dev/null || ! ip netns list > /dev/null 2>&1; then
	why="no ip netns (apt-get install iproute2)"
elif ! command -v tc > /dev/null; then
	why="no tc (apt-get install iproute2)"
elif ! command -v mpirun > /dev/null; then
	why="no mpirun (apt-get install openmpi-bin)"
fi
if [ -n "$why" ]; then
	if [ "${DPMPI_REQUIRE_NETNS:-}" = 1 ]; then
		echo "multihost-test.sh: cannot make hosts in network namespaces: $why" >&2
		exit 1
	fi
	echo "== SKIP multi-host tests (2 hosts × 2 ranks over TCP): $why"
	exit 0
fi

if [ ! -f /run/dpmpi-netns/created ]; then
	trap 'scripts/netns-down.sh' EXIT
fi
scripts/netns-up.sh --hosts 2 --slots 2 --shape 10gbit --hostfile "$hostfile"

echo "== go test ./internal/multihost (2 hosts × 2 ranks, TCP)"
if DPMPI_NETNS_HOSTFILE=$hostfile DPMPI_REQUIRE_NETNS=1 go test -count=1 -v "$@" ./internal/multihost > "$log/multihost.log" 2>&1; then
	grep -E '^(ok|FAIL)|^\s+\S+_test.go:[0-9]+: [0-9]+ ranks on hosts|^\s+--- (PASS|FAIL): \S+/np=[0-9]+|killed the|mpitest: WARNING' "$log/multihost.log" | sed 's/^ *//' || true
	echo "   ($((SECONDS - t0)) s)"
else
	grep -E '^(ok|FAIL|\s*--- FAIL|panic:)' "$log/multihost.log" || true
	echo "the multi-host tests failed; the last 150 lines of $log/multihost.log:" >&2
	tail -n 150 "$log/multihost.log" >&2
	exit 1
fi
