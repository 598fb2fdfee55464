#!/usr/bin/env bash
# slurm-down.sh: stop the local single-node Slurm started by scripts/slurm-up.sh.
#
# Stops slurmd, slurmctld and munged with SIGTERM (their clean shutdown: the
# controller saves its state, so queued jobs survive a down/up cycle) and waits
# for them to exit. Packages, config and state are left in place, so the next
# slurm-up.sh is fast. Safe to run when nothing is running.
#
#   --keep-munge   leave munged running (other munge users on the machine)
set -euo pipefail

readonly RUN_DIR=/run/slurm-local
keep_munge=0
for arg in "$@"; do
	case $arg in
	--keep-munge) keep_munge=1 ;;
	*)
		printf 'usage: %s [--keep-munge]\n' "$0" >&2
		exit 2
		;;
	esac
done

log() { printf 'slurm-down: %s\n' "$*" >&2; }

[[ $(id -u) -eq 0 ]] || {
	log "ERROR: must run as root"
	exit 1
}

# pid_of NAME PIDFILE prints the pid if PIDFILE names a live process called NAME.
pid_of() {
	local pid
	[[ -r $2 ]] || return 1
	pid=$(<"$2")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$1" ]] || return 1
	printf '%s\n' "$pid"
}

# stop_all NAME:PIDFILE...: signal all first, then wait, so the ~2 s each
# daemon takes to exit overlap instead of adding up.
stop_all() {
	local spec name file pid
	local -a pids=()
	for spec in "$@"; do
		name=${spec%%:*}
		file=${spec#*:}
		if pid=$(pid_of "$name" "$file"); then
			log "stopping $name (pid $pid)"
			kill -TERM "$pid" 2>/dev/null || true
			pids+=("$pid")
		fi
	done
	for pid in "${pids[@]}"; do
		for _ in $(seq 200); do
			[[ -d /proc/$pid ]] || continue 2
			sleep 0.1
		done
		log "ERROR: pid $pid still running 20 s after SIGTERM"
		return 1
	done
}

# Slurm first: slurmd and slurmctld may still talk to munge while shutting down.
stop_all "slurmd:$RUN_DIR/slurmd.pid" "slurmctld:$RUN_DIR/slurmctld.pid"
if ((!keep_munge)); then
	stop_all "munged:/run/munge/munged.pid"
fi
log "done"
