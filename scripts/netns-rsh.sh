#!/usr/bin/env bash
# The "remote shell" that Open MPI's rsh launcher uses to start its daemon
# (orted) on a host made by scripts/netns-up.sh:
#
#   mpirun --mca plm_rsh_agent scripts/netns-rsh.sh ...
#
# It is called as ssh would be, `netns-rsh.sh HOST COMMAND...`, and runs
# COMMAND (its words joined, as ssh does, and read by sh) inside the network
# namespace HOST, with a UTS namespace whose host name is HOST, and with a
# clean environment like a fresh ssh login (PATH and HOME only): what the
# ranks need must be forwarded by mpirun (-x), as on a real cluster. A host
# given CPUs by scripts/netns-up.sh --cpus runs there.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: netns-rsh.sh HOST COMMAND..." >&2; exit 2; }
host=$1
shift
case $host in dpmpi-h[0-9]*) ;; *) echo "netns-rsh.sh: $host is not a host of scripts/netns-up.sh (dpmpi-hN)" >&2; exit 255 ;; esac
# The host's CPU set, if scripts/netns-up.sh --cpus gave it one.
pin=()
[ ! -f "/run/dpmpi-netns/cpus-$host" ] || pin=(taskset -c "$(cat "/run/dpmpi-netns/cpus-$host")")
exec "${pin[@]}" ip netns exec "$host" unshare --uts -- env -i PATH="$PATH" HOME="${HOME:-/root}" \
	sh -c 'hostname "$1" && exec sh -c "$2"' sh "$host" "$*"
