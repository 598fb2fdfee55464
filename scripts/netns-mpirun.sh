#!/usr/bin/env bash
# Open MPI's mpirun across the hosts of scripts/netns-up.sh, over TCP only:
#
#   scripts/netns-mpirun.sh -np 4 ./prog args...
#
# mpirun runs inside the first host's namespace (dpmpi-h1, host name
# dpmpi-h1), so that the daemons it starts on the other hosts through
# scripts/netns-rsh.sh can reach it; ranks are placed by the hostfile
# ($DPMPI_NETNS_HOSTFILE, default out/netns/hostfile: slots per host, filled
# in order). The environment variables that the ranks need (DPMPI_*, GO*,
# OMPI_MCA_*) are forwarded with -x, since the agent starts the daemons with
# a clean environment. Extra mpirun arguments go before the program, as for
# mpirun itself. docs/multinode.md explains each setting.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
hostfile=${DPMPI_NETNS_HOSTFILE:-$here/../out/netns/hostfile}
[ -f "$hostfile" ] || { echo "netns-mpirun.sh: no hostfile $hostfile: run scripts/netns-up.sh first" >&2; exit 1; }
hostfile=$(cd "$(dirname "$hostfile")" && pwd)/$(basename "$hostfile")
head=$(awk 'NF && $1 !~ /^#/ {print $1; exit}' "$hostfile")
fwd=()
while IFS='=' read -r name _; do
	case $name in DPMPI_* | GOMAXPROCS | GODEBUG | GOCOVERDIR | GOTRACEBACK | OPENBLAS_*) fwd+=(-x "$name") ;; esac
done < <(env)
pin=()
[ ! -f "/run/dpmpi-netns/cpus-$head" ] || pin=(taskset -c "$(cat "/run/dpmpi-netns/cpus-$head")")
exec "${pin[@]}" ip netns exec "$head" unshare --uts -- sh -c 'hostname "$1" && shift && exec "$@"' sh "$head" \
	mpirun --allow-run-as-root --hostfile "$hostfile" \
	--mca plm_rsh_agent "$here/netns-rsh.sh" --mca plm_rsh_no_tree_spawn 1 \
	--mca pml ob1 --mca btl tcp,self --mca btl_tcp_if_include dpnet0 --mca oob_tcp_if_include dpnet0 \
	"${fwd[@]}" "$@"
