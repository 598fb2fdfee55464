#!/usr/bin/env bash
# slurm-up.sh: bring up a local single-node Slurm cluster on this machine.
#
# Idempotent: every step checks first and only acts when something is missing,
# so a second run on a healthy cluster is a fast no-op (a few dpkg/pid checks,
# one config comparison and one sinfo call).
#
# Assumes root and no systemd (PID 1 is not an init system), as on the project's
# build machines and in CI. See docs/slurm.md for the why of every setting.
#
# Environment knobs:
#   SLURM_UP_TIMEOUT   seconds to wait for the node to become usable (default 60)
#   SLURM_NODE_CPUS    CPUs advertised for the node (default 8, more than the real
#                      cores on purpose so 4-rank jobs and small arrays fit)
set -euo pipefail

readonly STATE_DIR=/var/lib/slurm-local
readonly LOG_DIR=/var/log/slurm-local
readonly RUN_DIR=/run/slurm-local
readonly CONF=/etc/slurm/slurm.conf
readonly CTLD_PID=$RUN_DIR/slurmctld.pid
readonly SLURMD_PID=$RUN_DIR/slurmd.pid
readonly MUNGE_KEY=/etc/munge/munge.key
readonly POLICY=/usr/sbin/policy-rc.d
readonly TIMEOUT=${SLURM_UP_TIMEOUT:-60}
readonly NODE_CPUS=${SLURM_NODE_CPUS:-8}
readonly PACKAGES=(slurmctld slurmd slurm-client munge openmpi-bin libopenmpi-dev)

log() { printf 'slurm-up: %s\n' "$*" >&2; }
die() {
	printf 'slurm-up: ERROR: %s\n' "$*" >&2
	exit 1
}

# show_logs prints the end of the daemon logs; called on every failure path so
# the caller (often CI) sees why without logging into the machine.
show_logs() {
	local f
	for f in "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" /var/log/munge/munged.log; do
		if [[ -r $f ]]; then
			printf -- '--- last 20 lines of %s ---\n' "$f" >&2
			tail -n 20 "$f" >&2 || true
		fi
	done
}

[[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages and starts daemons)"

# ---------------------------------------------------------------- packages --

# missing_packages prints the names of PACKAGES that are not fully installed.
# One dpkg-query call: this is the hot path of the no-op run.
missing_packages() {
	local installed
	installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null |
		awk '$2 == "installed" { print $1 }') || true
	local p
	for p in "${PACKAGES[@]}"; do
		grep -qx -- "$p" <<<"$installed" || printf '%s\n' "$p"
	done
}

policy_backup=""
restore_policy() {
	# Put back whatever policy-rc.d was there before (or remove ours).
	if [[ -n $policy_backup ]]; then
		mv -f -- "$policy_backup" "$POLICY"
	else
		rm -f -- "$POLICY"
	fi
}

install_packages() {
	local -a missing=("$@")
	log "installing: ${missing[*]}"
	# Without systemd the postinst scripts start daemons through invoke-rc.d and
	# /etc/init.d. A policy-rc.d that exits 101 forbids that: we start the
	# daemons ourselves below, with our own config, paths and pid files.
	if [[ -e $POLICY ]]; then
		policy_backup=$(mktemp /usr/sbin/policy-rc.d.slurm-up.XXXXXX)
		cp -p -- "$POLICY" "$policy_backup"
	fi
	trap restore_policy EXIT
	printf '#!/bin/sh\n# temporary, written by dpmpi scripts/slurm-up.sh\nexit 101\n' >"$POLICY"
	chmod 0755 "$POLICY"

	# Refresh the lists only now: a no-op run must not touch the network.
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"

	restore_policy
	trap - EXIT
}

mapfile -t missing < <(missing_packages)
if ((${#missing[@]} > 0)); then
	install_packages "${missing[@]}"
fi

# ------------------------------------------------------------------- munge --

munge_ok() { munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; }

if [[ ! -s $MUNGE_KEY ]]; then
	log "creating munge key"
	install -d -o munge -g munge -m 0700 /etc/munge
	# mungekey ships with munge >= 0.5.14; fall back to random bytes otherwise.
	if command -v mungekey >/dev/null; then
		mungekey --create --keyfile="$MUNGE_KEY" --force
	else
		dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
	fi
	chown munge:munge "$MUNGE_KEY"
	chmod 0400 "$MUNGE_KEY"
fi

if ! munge_ok; then
	log "starting munged"
	# /run is a tmpfs: the socket directory vanishes on reboot.
	install -d -o munge -g munge -m 0755 /run/munge
	install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
	# --force: a stale socket/lock left by an unclean stop would otherwise make
	# munged refuse to start. We only get here when munge does not answer.
	runuser -u munge -- /usr/sbin/munged --force
	for _ in $(seq 50); do
		munge_ok && break
		sleep 0.1
	done
	munge_ok || {
		show_logs
		die "munged does not answer (munge -n | unmunge failed)"
	}
fi

# ------------------------------------------------------------- slurm.conf --

# slurmd finds its own NodeName from the short host name (gethostname() cut at
# the first dot), which is what `hostname -s` prints; slurmctld likewise checks
# SlurmctldHost against it. Both must match or the daemons refuse to start.
node=$(hostname -s)
[[ -n $node ]] || die "hostname -s is empty"

conf_text() {
	cat <<EOF
# Written by dpmpi scripts/slurm-up.sh -- a local single-node test cluster.
# Edits are overwritten on the next run; change the script instead.
ClusterName=dpmpi-local
SlurmctldHost=${node}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# Default 120 s: a requeued job waits this long before it may start again.
AuthInfo=cred_expire=10
MpiDefault=pmix
# No cgroups needed: track processes by parent pid, bind nothing (Go sees all cores).
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# No accounting daemon: use scontrol (not sacct) to inspect jobs.
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# Reject impossible requests at submit time instead of pending forever.
EnforcePartLimits=ALL
MailProg=/bin/true
# Pass the scheduler every few seconds (defaults: 60 s main, 30 s backfill):
# a requeued job becomes eligible cred_expire seconds after the requeue, but
# nothing else wakes the scheduler then, so without this it may idle for up to
# another 30 s before restarting the job.
SchedulerParameters=sched_interval=2,bf_interval=2
# A node that was down (e.g. daemons restarted) comes back by itself.
ReturnToService=2
# Trust the CPU count below rather than the hardware (oversubscription on purpose).
SlurmdParameters=config_overrides
StateSaveLocation=${STATE_DIR}/state
SlurmdSpoolDir=${STATE_DIR}/spool
SlurmctldLogFile=${LOG_DIR}/slurmctld.log
SlurmdLogFile=${LOG_DIR}/slurmd.log
SlurmctldPidFile=${CTLD_PID}
SlurmdPidFile=${SLURMD_PID}
NodeName=${node} NodeAddr=127.0.0.1 CPUs=${NODE_CPUS} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

install -d -m 0755 /etc/slurm "$STATE_DIR" "$STATE_DIR/state" "$STATE_DIR/spool" "$LOG_DIR" "$RUN_DIR"

conf_changed=0
new_conf=$(conf_text)
if [[ ! -f $CONF ]] || [[ $(<"$CONF") != "$new_conf" ]]; then
	log "writing $CONF"
	tmp=$(mktemp "$CONF.XXXXXX")
	printf '%s\n' "$new_conf" >"$tmp"
	chmod 0644 "$tmp"
	mv -f -- "$tmp" "$CONF" # atomic: clients never read a half-written file
	conf_changed=1
fi

# ----------------------------------------------------------------- daemons --

# running NAME PIDFILE: true when PIDFILE names a live process called NAME
# (checking the name guards against a recycled pid after a reboot).
running() {
	local pid
	[[ -r $2 ]] || return 1
	pid=$(<"$2")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$1" ]]
}

# stop NAME PIDFILE: SIGTERM, then wait up to 15 s for the process to exit.
stop() {
	running "$1" "$2" || return 0
	local pid
	pid=$(<"$2")
	log "stopping $1 (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 150); do
		[[ -d /proc/$pid ]] || return 0
		sleep 0.1
	done
	die "$1 (pid $pid) did not exit within 15 s of SIGTERM"
}

if ((conf_changed)); then
	# Daemons read slurm.conf only at start; restart the ones that are up.
	stop slurmd "$SLURMD_PID"
	stop slurmctld "$CTLD_PID"
fi

started=0
if ! running slurmctld "$CTLD_PID"; then
	log "starting slurmctld"
	# -i: ignore unreadable state files (first start, or after a crash).
	slurmctld -i || {
		show_logs
		die "slurmctld failed to start"
	}
	started=1
fi
if ! running slurmd "$SLURMD_PID"; then
	log "starting slurmd"
	slurmd || {
		show_logs
		die "slurmd failed to start"
	}
	started=1
fi

# ------------------------------------------------------------ wait for node --

# node_state prints the node's state in lower case, e.g. idle, mixed, down*.
node_state() { sinfo -h -N -n "$node" -o '%T' 2>/dev/null | head -n 1; }

deadline=$((SECONDS + TIMEOUT))
resumed=0
state=""
while :; do
	state=$(node_state) || state=""
	case $state in
	# idle is what a fresh cluster reaches; mixed/allocated mean it already
	# runs someone's jobs, which is also "up".
	idle | mixed | allocated | completing) break ;;
	down | drained | draining | drain)
		# The node was marked down before (e.g. slurmd killed uncleanly) and
		# slurmd is answering again: return it to service once.
		if ((!resumed)); then
			log "node state '$state': resuming it"
			scontrol update NodeName="$node" State=RESUME >/dev/null 2>&1 || true
			resumed=1
		fi
		;;
	esac
	if ((SECONDS >= deadline)); then
		show_logs
		die "node '$node' not usable after ${TIMEOUT}s (last sinfo state: '${state:-no answer}')"
	fi
	sleep 0.1
done

if ((started || conf_changed)); then
	log "node $node is $state"
fi
