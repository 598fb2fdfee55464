#!/usr/bin/env bash
# Brings up 2-3 "hosts" for multi-node MPI tests on one machine: network
# namespaces dpmpi-h1..dpmpi-hN, each with one interface dpnet0 holding
# 10.251.16.N/24, joined by a bridge that lives in a namespace of its own
# (dpmpi-sw). The addresses exist only inside these namespaces: nothing
# outside them is ever addressed, and the namespaces have no route out.
#
#   scripts/netns-up.sh [--hosts N] [--slots S] [--shape RATE] [--hostfile FILE]
#
#   --hosts N      number of hosts, 2 or 3 (default 2)
#   --slots S      MPI slots per host written to the hostfile (default 2)
#   --shape RATE   shape every host's link to RATE (a tc rate: 10gbit, 1gbit) with
#                  a token bucket (tbf); RATE,DELAY (10gbit,50us) also adds a
#                  one-way delay with netem where the kernel has it (this
#                  machine's kernel has no sch_netem: the delay is then refused)
#   --shape none   removes the shaping
#   --hostfile F   where to write the Open MPI hostfile (default out/netns/hostfile)
#   --cpus L1:L2.. give host i the CPUs Li (taskset lists: --cpus 0:1 puts host 1
#                  on CPU 0 and host 2 on CPU 1); its daemon, mpirun on host 1, and
#                  so its ranks run there. Default: every host sees every CPU.
#                  Namespaces do not partition CPUs: without --cpus, Open MPI's
#                  default binding puts the first rank of every host on core 0,
#                  so run with --bind-to none (docs/multinode.md)
#   --cpus none    removes the CPU sets
#
# Idempotent: what exists is kept (the shaping is replaced), and what this
# script creates is recorded in /run/dpmpi-netns/created, which
# scripts/netns-down.sh reads to remove exactly that and nothing else.
# Launch ranks across the hosts with scripts/netns-mpirun.sh (docs/multinode.md).
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=2 slots=2 shape="" hostfile=out/netns/hostfile cpus=""
while [ $# -gt 0 ]; do
	case $1 in
	--hosts) hosts=$2; shift 2 ;;
	--slots) slots=$2; shift 2 ;;
	--shape) shape=$2; shift 2 ;;
	--hostfile) hostfile=$2; shift 2 ;;
	--cpus) cpus=$2; shift 2 ;;
	*) echo "netns-up.sh: unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
	esac
done
case $hosts in 2 | 3) ;; *) echo "netns-up.sh: --hosts must be 2 or 3, not $hosts" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "netns-up.sh: needs root (ip netns)" >&2; exit 1; }

state=/run/dpmpi-netns
mkdir -p "$state"
created=$state/created
touch "$created"
# record KIND NAME notes something this script created, once.
record() { grep -qxF "$1 $2" "$created" || echo "$1 $2" >> "$created"; }
hasns() { ip netns list | awk '{print $1}' | grep -qxF "$1"; }
mkns() {
	if ! hasns "$1"; then
		ip netns add "$1"
		record netns "$1"
	fi
	ip -n "$1" link set lo up
}

sw=dpmpi-sw
mkns "$sw"
if ! ip -n "$sw" link show br0 >/dev/null 2>&1; then
	ip -n "$sw" link add br0 type bridge
fi
ip -n "$sw" link set br0 up

names=()
for i in $(seq "$hosts"); do names+=("dpmpi-h$i"); done
for i in $(seq "$hosts"); do
	h=dpmpi-h$i
	mkns "$h"
	if ! ip -n "$h" link show dpnet0 >/dev/null 2>&1; then
		# Both ends are created inside the switch namespace, then one end
		# is moved into the host: no interface ever appears outside.
		ip -n "$sw" link del "h$i" 2>/dev/null || true
		ip -n "$sw" link add "h$i" type veth peer name dpnet0
		ip -n "$sw" link set dpnet0 netns "$h"
	fi
	ip -n "$sw" link set "h$i" master br0 up
	ip -n "$h" addr replace "10.251.16.$i/24" dev dpnet0
	ip -n "$h" link set dpnet0 up
	# ip netns exec bind-mounts /etc/netns/NAME/hosts over /etc/hosts, so
	# the host names resolve inside the namespaces only.
	if [ ! -d /etc/netns ]; then
		mkdir /etc/netns
		record dir /etc/netns
	fi
	if [ ! -d "/etc/netns/$h" ]; then
		mkdir -p "/etc/netns/$h"
		record dir "/etc/netns/$h"
	fi
	{
		echo "127.0.0.1 localhost"
		for j in $(seq "$hosts"); do echo "10.251.16.$j dpmpi-h$j"; done
	} > "/etc/netns/$h/hosts"
	# CPU set: read by scripts/netns-rsh.sh and scripts/netns-mpirun.sh.
	case $cpus in
	"") ;;
	none) rm -f "$state/cpus-$h" ;;
	*)
		list=$(echo "$cpus" | cut -d: -f"$i")
		[ -n "$list" ] || { echo "netns-up.sh: --cpus $cpus gives no CPUs to host $i" >&2; exit 2; }
		taskset -c "$list" true || { echo "netns-up.sh: --cpus: $list is not a CPU list of this machine" >&2; exit 2; }
		echo "$list" > "$state/cpus-$h"
		;;
	esac
	# Shaping: replace whatever root qdisc the link has.
	case $shape in
	"" ) ;;
	none) tc -n "$h" qdisc del dev dpnet0 root 2>/dev/null || true ;;
	*)
		rate=${shape%%,*} delay=""
		[ "$rate" = "$shape" ] || delay=${shape#*,}
		if [ -n "$delay" ]; then
			tc -n "$h" qdisc replace dev dpnet0 root netem rate "$rate" delay "$delay" limit 100000 || {
				echo "netns-up.sh: this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM); use --shape $rate (a tbf rate limit, no added delay)" >&2
				exit 1
			}
		else
			# burst: 1 ms at the rate, at least 64 KiB (one TSO segment). A
			# smaller bucket makes every refill wait for the qdisc's timer,
			# which on a CPU busy with a rank's polling comes late: 10gbit with
			# a 128 KiB bucket moved about 0.1 GB/s here.
			bits=$(echo "$rate" | awk '{r=tolower($0); m=1; if (r ~ /gbit$/) m=1e9; else if (r ~ /mbit$/) m=1e6; else if (r ~ /kbit$/) m=1e3; sub(/[a-z]+$/, "", r); print r*m}')
			burst=$(awk -v b="$bits" 'BEGIN{x=int(b/8/1000); if (x < 65536) x=65536; print x}')
			tc -n "$h" qdisc replace dev dpnet0 root tbf rate "$rate" burst "$burst" latency 50ms
		fi
		;;
	esac
done
# More hosts from an earlier, larger bring-up stay but leave the hostfile.

mkdir -p "$(dirname "$hostfile")"
: > "$hostfile"
for h in "${names[@]}"; do echo "$h slots=$slots" >> "$hostfile"; done

# Every host must reach every other one: a TCP connection to the discard
# port, where nothing listens, is refused at once when the peer is reachable
# (and times out when it is not).
for i in $(seq "$hosts"); do
	for j in $(seq "$hosts"); do
		msg=$(ip netns exec "dpmpi-h$i" timeout 3 bash -c "exec 3<>/dev/tcp/10.251.16.$j/9" 2>&1 || true)
		if [[ $msg != *refused* ]]; then
			echo "netns-up.sh: dpmpi-h$i cannot reach dpmpi-h$j (10.251.16.$j)" >&2
			exit 1
		fi
	done
done
desc=""
for h in "${names[@]}"; do
	desc+=" $h"
	[ ! -f "$state/cpus-$h" ] || desc+="(CPUs $(cat "$state/cpus-$h"))"
done
link=$(tc -n dpmpi-h1 qdisc show dev dpnet0 | awk '$2=="tbf"||$2=="netem"{print $2, $0; exit}' | sed -E 's/.*(rate [^ ]+).*/\1/')
printf 'netns-up.sh: hosts%s, %s slots each, link %s, hostfile %s\n' "$desc" "$slots" "${link:-unshaped}" "$hostfile"
