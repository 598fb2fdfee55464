#!/usr/bin/env bash
# Removes what scripts/netns-up.sh created, and nothing else: the namespaces
# and /etc/netns directories listed in /run/dpmpi-netns/created. Processes
# still running inside those namespaces are killed first (they can only be
# leftovers of a test run there). Idempotent.
set -euo pipefail
state=/run/dpmpi-netns
created=$state/created
[ -f "$created" ] || { echo "netns-down.sh: nothing to remove"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "netns-down.sh: needs root (ip netns)" >&2; exit 1; }
while read -r kind name; do
	case $kind in
	netns)
		if ip netns list | awk '{print $1}' | grep -qxF "$name"; then
			pids=$(ip netns pids "$name" || true)
			[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
			ip netns del "$name"
		fi
		;;
	dir)
		case $name in
		/etc/netns) rmdir "$name" 2>/dev/null || true ;;
		/etc/netns/dpmpi-*) rm -rf -- "$name" ;;
		esac
		;;
	esac
done < <(tac "$created") # newest first: a directory's contents before it
rm -f "$created" "$state"/cpus-dpmpi-h*
rmdir "$state" 2>/dev/null || true
echo "netns-down.sh: removed"
