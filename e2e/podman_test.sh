#!/usr/bin/env bash
# podman_test.sh - end-to-end test: Podman drives bwrap-oci as its OCI runtime.
#
#   sudo ./e2e/podman_test.sh     # rootless (as $BWRAP_OCI_E2E_USER) and root
#   ./e2e/podman_test.sh          # as a user: rootless only, as yourself
#
# Builds bwrap-oci, imports a busybox image from a local tarball (no registry
# needed) into a private, throw-away Podman storage, registers the runtime in
# a private containers.conf (CONTAINERS_CONF; no file under /etc or $HOME is
# touched) and checks run, exit codes, run -d, exec, exec -it, logs, top,
# kill, stop, start, restart, rm -f and run -it. Prints one "ok - NAME" or
# "not ok - NAME" line per check, then "N passed, M failed"; exits non-zero
# if any check failed. Needs podman, conmon, slirp4netns, uidmap, script
# (util-linux), busybox-static and Go (scripts/setup-host.sh installs them).
#
# Environment:
#   BWRAP_OCI_E2E_USER  rootless test user when run as root (default: bwoci)
#   PODMAN_TEST_MODES   modes to run (default: "rootless root" as root,
#                       "rootless" otherwise)
#   PODMAN_TIMEOUT      seconds allowed for each podman command (default: 60)
#   PODMAN_LOG_LEVEL    passed to podman --log-level (e.g. debug)
#   KEEP=1              keep the work directory (storage, logs) for debugging
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="$PATH:/usr/local/go/bin"
fi

TO=${PODMAN_TIMEOUT:-60}
IMAGE=localhost/bwrap-oci-busybox
STOP_LIMIT=5 # seconds; podman's stop timeout is 10 s
SYS_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

if [ "$(id -u)" -eq 0 ]; then
	MODES=${PODMAN_TEST_MODES:-rootless root}
	TEST_USER=${BWRAP_OCI_E2E_USER:-bwoci}
else
	MODES=${PODMAN_TEST_MODES:-rootless}
	TEST_USER=$(id -un)
fi

passed=0
failed=0
work=""
tun_mode=""   # original mode of /dev/net/tun, if we changed it
pause_pid=""  # rootless pause process that was running before we started
modes_used="" # modes whose storage needs cleaning up

die() {
	echo "podman_test.sh: $*" >&2
	exit 1
}

# --- reporting ----------------------------------------------------------------
ok() {
	passed=$((passed + 1))
	echo "ok - $mode: $1"
}

# notok NAME [DETAIL...]: a failed check; details are printed as comments.
notok() {
	local name=$1
	shift
	failed=$((failed + 1))
	echo "not ok - $mode: $name"
	local d
	for d in "$@"; do
		printf '%s\n' "$d" | sed 's/^/#   /'
	done
}

# check NAME COND DETAIL...: ok if COND (a shell expression) is true.
check() {
	local name=$1 cond=$2
	shift 2
	if eval "$cond"; then
		ok "$name"
	else
		notok "$name" "$@"
	fi
}

# last command's result, for details
res() {
	printf 'command: %s\nexit status: %s\nstdout:\n%s\nstderr:\n%s' \
		"$CMD" "$RC" "$OUT" "$ERR"
}

# --- running podman -------------------------------------------------------------
as=()     # prefix that runs a command as the mode's user with a clean environment
pflags=() # podman's global flags: private storage

# mode_env MODE: set as and pflags for MODE and cd to a directory its user
# can use.
mode_env() {
	local store="$work/$1"
	local envs=(PATH="$SYS_PATH" CONTAINERS_CONF="$work/containers.conf")
	if [ "$1" = rootless ] && [ "$(id -u)" -eq 0 ]; then
		local uid gid home
		uid=$(id -u "$TEST_USER") || die "no user $TEST_USER (run scripts/setup-host.sh)"
		gid=$(id -g "$TEST_USER")
		home=$(getent passwd "$TEST_USER" | cut -d: -f6)
		[ -d "/run/user/$uid" ] || die "/run/user/$uid missing (run scripts/setup-host.sh)"
		as=(setpriv --reuid="$uid" --regid="$gid" --init-groups
			env -i "${envs[@]}" HOME="$home" USER="$TEST_USER" LOGNAME="$TEST_USER"
			XDG_RUNTIME_DIR="/run/user/$uid")
		cd "$home"
	elif [ "$1" = rootless ]; then
		as=(env -i "${envs[@]}" HOME="$HOME" USER="$TEST_USER" LOGNAME="$TEST_USER"
			XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/run/user/$(id -u)}")
		cd "$HOME"
	else
		as=(env -i "${envs[@]}" HOME=/root USER=root LOGNAME=root)
		cd /
	fi
	pflags=(--root "$store/graph" --runroot "$store/run" --tmpdir "$store/tmp"
		--storage-driver vfs ${PODMAN_LOG_LEVEL:+--log-level "$PODMAN_LOG_LEVEL"})
}

# setup_mode MODE: mode_env, and create the mode's private storage directory.
setup_mode() {
	mode_env "$1"
	local store="$work/$1"
	mkdir -m 0700 "$store"
	if [ "$1" = rootless ] && [ "$(id -u)" -eq 0 ]; then
		chown "$(id -u "$TEST_USER"):$(id -g "$TEST_USER")" "$store"
	fi
	modes_used="$modes_used $1"
}

# pm ARGS...: run podman, time-bound, as the mode's user.
pm() {
	timeout -k 5 "$TO" "${as[@]}" podman "${pflags[@]}" "$@"
}

# pm_tty ARGS...: run podman on a fresh pseudo-terminal (script(1)).
pm_tty() {
	local cmd
	cmd=$(printf '%q ' "${as[@]}" podman "${pflags[@]}" "$@")
	# Without CRs, and without the "^@" (a NUL as the terminal echoes it)
	# that podman's attach sometimes shows, whatever the runtime.
	timeout -k 5 "$TO" script -qec "$cmd" /dev/null </dev/null |
		tr -d '\000\r' | sed 's/\^@//g'
}

# cap CMD...: run CMD, set OUT, ERR, RC, CMD and SECS (elapsed, decimal).
cap() {
	CMD=$(printf '%q ' "$@")
	local t0 t1
	t0=$(date +%s.%N)
	OUT=$("$@" 2>"$work/stderr") && RC=0 || RC=$?
	t1=$(date +%s.%N)
	ERR=$(cat "$work/stderr")
	SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
}

# wait_logs NAME PATTERN COUNT: wait (up to 10 s) until NAME's logs have at
# least COUNT lines matching PATTERN; sets LOGS.
wait_logs() {
	local i n
	for i in $(seq 50); do
		LOGS=$(pm logs "$1" 2>&1) || true
		n=$(grep -c -- "$2" <<<"$LOGS") || true
		[ "$n" -ge "$3" ] && return 0
		sleep 0.2
	done
	return 1
}

state() {
	pm inspect --format '{{.State.Status}}' "$1" 2>&1 || true
}

# runtime_log: the runtime's log files in the mode's storage, for details.
runtime_log() {
	local f
	find "$work/$mode" -name oci-log -size +0 2>/dev/null | while read -r f; do
		echo "runtime log $f:"
		tail -n 20 "$f"
	done
}

# --- set-up and clean-up ----------------------------------------------------------
cleanup() {
	local rc=$? m
	set +e
	for m in $modes_used; do
		mode=$m
		mode_env "$m" >/dev/null 2>&1
		pm rm -a -f -t 0 >/dev/null 2>&1
	done
	cd /
	if [ -n "$work" ] && [ -d "$work" ]; then
		# root's containers may leave their shm mounts behind on failure
		if [ "$(id -u)" -eq 0 ]; then
			findmnt -rn -o TARGET | grep -F "$work/" | sort -r |
				while read -r t; do umount -l "$t"; done
		fi
		if [ "${KEEP:-0}" = 1 ]; then
			echo "# kept $work" >&2
		else
			rm -rf "$work" 2>/dev/null ||
				{ [ "$(id -u)" -ne 0 ] && podman unshare rm -rf "$work"; }
		fi
	fi
	# The rootless pause process (it holds Podman's user namespace) is not
	# ours to keep if it was not running before.
	if [ "$(id -u)" -eq 0 ] && [[ " $modes_used " == *" rootless "* ]]; then
		local f p
		f="/run/user/$(id -u "$TEST_USER")/libpod/tmp/pause.pid"
		p=$(cat "$f" 2>/dev/null)
		if [ -n "$p" ] && [ "$p" != "$pause_pid" ] && kill -0 "$p" 2>/dev/null; then
			kill "$p"
		fi
	fi
	if [ -n "$tun_mode" ]; then
		chmod "$tun_mode" /dev/net/tun
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for c in podman conmon script timeout setpriv go; do
	command -v "$c" >/dev/null 2>&1 || die "$c not found (run scripts/setup-host.sh)"
done

work=$(mktemp -d -t bwrap-oci-podman.XXXXXX)
chmod 0755 "$work" # the rootless user reads the binary, image and config here

echo "# building bwrap-oci"
mkdir -m 0755 "$work/bin"
CGO_ENABLED=0 go build -buildvcs=false -o "$work/bin/bwrap-oci" ./cmd/bwrap-oci ||
	die "go build failed"
chmod 0755 "$work/bin/bwrap-oci"

echo "# building the busybox image tarball"
"$repo/scripts/mkrootfs-busybox.sh" "$work/rootfs"
tar -C "$work/rootfs" -cf "$work/busybox.tar" .
chmod 0644 "$work/busybox.tar"
rm -rf "$work/rootfs"

cat >"$work/containers.conf" <<EOF
[containers]
# As root here Podman's default nproc rlimit (1048576) fails without
# CAP_SYS_RESOURCE.
default_ulimits = []

[engine]
runtime = "bwrap-oci"
runtime_supports_json = ["crun", "runc", "kata", "runsc", "youki", "krun", "bwrap-oci"]
cgroup_manager = "cgroupfs"
events_logger = "file"

[engine.runtimes]
bwrap-oci = ["$work/bin/bwrap-oci"]
EOF
chmod 0644 "$work/containers.conf"

if [ "$(id -u)" -eq 0 ]; then
	# slirp4netns (rootless networking) opens /dev/net/tun; without udev it
	# may be missing or root-only.
	if [ ! -e /dev/net/tun ]; then
		mkdir -p /dev/net
		mknod -m 0666 /dev/net/tun c 10 200 ||
			echo "# warning: cannot create /dev/net/tun; rootless networking may fail" >&2
	elif [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
		tun_mode=$(stat -c %a /dev/net/tun)
		chmod 0666 /dev/net/tun
	fi
	pause_pid=$(cat "/run/user/$(id -u "$TEST_USER" 2>/dev/null)/libpod/tmp/pause.pid" 2>/dev/null) || true
fi

# --- the checks -----------------------------------------------------------------
run_mode() {
	mode=$1
	setup_mode "$mode"
	echo "# $mode: podman as $( [ "$mode" = root ] && echo root || echo "$TEST_USER")"

	cap pm import -q "$work/busybox.tar" "$IMAGE"
	if [ $RC -ne 0 ]; then
		notok "import the busybox image" "$(res)"
		return
	fi
	ok "import the busybox image"

	cap pm info --format '{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Path}}'
	check "podman info: the OCI runtime is bwrap-oci" \
		'[ $RC -eq 0 ] && [ "$OUT" = "bwrap-oci $work/bin/bwrap-oci" ]' \
		"expected: bwrap-oci $work/bin/bwrap-oci" "$(res)"

	cap pm run --rm "$IMAGE" echo hi
	check "run --rm echo hi" '[ $RC -eq 0 ] && [ "$OUT" = hi ]' \
		"expected: exit 0, stdout \"hi\"" "$(res)" "$(runtime_log)"

	cap pm run --rm "$IMAGE" sh -c 'exit 7'
	check "run: exit code 7 passes through" '[ $RC -eq 7 ]' "$(res)"

	cap pm run --rm "$IMAGE" no-such-command
	check "run: a missing command gives 127" '[ $RC -eq 127 ]' "$(res)"

	# A long-running container whose traps show which signals reach it.
	local c="bwrap-oci-e2e-$mode-$$"
	cap pm run -d --name "$c" "$IMAGE" sh -c \
		'trap "echo got-USR1" USR1; trap "echo got-TERM; exit 0" TERM; echo ready; while :; do sleep 0.1; done'
	if [ $RC -ne 0 ]; then
		notok "run -d" "$(res)" "$(runtime_log)"
		return
	fi
	if wait_logs "$c" '^ready' 1; then
		ok "run -d (logs show its output)"
	else
		notok "run -d (logs show its output)" "state: $(state "$c")" "logs: $LOGS" "$(runtime_log)"
	fi

	cap pm inspect --format '{{.OCIRuntime}}' "$c"
	check "inspect: the container's runtime is bwrap-oci" \
		'[ $RC -eq 0 ] && [ "$OUT" = bwrap-oci ]' "$(res)"

	cap pm exec "$c" sh -c 'echo exec-out; exit 3'
	check "exec: output and exit code 3" '[ $RC -eq 3 ] && [ "$OUT" = exec-out ]' \
		"expected: exit 3, stdout \"exec-out\"" "$(res)"

	cap pm exec "$c" no-such-command
	check "exec: a missing command gives 127" '[ $RC -eq 127 ]' "$(res)"

	# tty_nr (/proc/PID/stat field 7) is 0 without a controlling terminal.
	cap pm_tty exec -it "$c" sh -c 'set -- $(cat /proc/$$/stat); echo "tty_nr=$7"; tty; exit 5'
	check "exec -it: a /dev/pts controlling terminal, exit code 5" \
		'[ $RC -eq 5 ] && grep -qE "^/dev/pts/[0-9]+$" <<<"$OUT" && grep -qE "^tty_nr=[1-9]" <<<"$OUT"' \
		"expected: exit 5, output tty_nr=N (N > 0) and /dev/pts/N" "$(res)"

	cap pm top "$c"
	check "top lists the container's processes" \
		'[ $RC -eq 0 ] && grep -q "echo ready" <<<"$OUT" && grep -q "sleep" <<<"$OUT"' \
		"expected: the sh and its sleep" "$(res)"

	cap pm kill -s USR1 "$c"
	if [ $RC -eq 0 ] && wait_logs "$c" got-USR1 1; then
		ok "kill -s USR1 reaches the trap"
	else
		notok "kill -s USR1 reaches the trap" "$(res)" "logs: $LOGS" "$(runtime_log)"
	fi

	cap pm stop "$c"
	local stop_secs=$SECS
	if [ $RC -eq 0 ] && wait_logs "$c" got-TERM 1 &&
		awk -v s="$stop_secs" -v l="$STOP_LIMIT" 'BEGIN { exit !(s < l) }'; then
		ok "stop: SIGTERM reaches the trap (${stop_secs}s)"
	else
		notok "stop: SIGTERM reaches the trap in < ${STOP_LIMIT}s" "took ${stop_secs}s" \
			"$(res)" "logs: $LOGS" "$(runtime_log)"
	fi
	cap pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' "$c"
	check "stop: container exited with the trap's status 0" '[ "$OUT" = "exited 0" ]' \
		"expected: exited 0" "$(res)"

	cap pm start "$c"
	if [ $RC -eq 0 ] && wait_logs "$c" '^ready' 2 && [ "$(state "$c")" = running ]; then
		ok "start: running again"
	else
		notok "start: running again" "$(res)" "state: $(state "$c")" "logs: $LOGS" "$(runtime_log)"
	fi

	cap pm restart "$c"
	local restart_secs=$SECS
	if [ $RC -eq 0 ] && wait_logs "$c" got-TERM 2 && wait_logs "$c" '^ready' 3 &&
		[ "$(state "$c")" = running ] &&
		awk -v s="$restart_secs" -v l="$STOP_LIMIT" 'BEGIN { exit !(s < l) }'; then
		ok "restart: SIGTERM reaches the trap, running again (${restart_secs}s)"
	else
		notok "restart: SIGTERM reaches the trap, running again in < ${STOP_LIMIT}s" \
			"took ${restart_secs}s" "$(res)" "state: $(state "$c")" "logs: $LOGS" "$(runtime_log)"
	fi

	cap pm rm -f "$c"
	local rm_res
	rm_res=$(res)
	cap pm container exists "$c"
	check "rm -f removes the running container" '[ $RC -eq 1 ]' "$rm_res" "$(res)"

	# The terminal must stay the process's controlling terminal (tty_nr,
	# /proc/PID/stat field 7, is 0 without one), and no SIGHUP may reach
	# it: "got-SIGHUP" is the trap, "Hangup" the shell reporting a sleep
	# that SIGHUP killed.
	cap pm_tty run -it --rm "$IMAGE" sh -c 'trap "echo got-SIGHUP" HUP; sleep 2 && echo slept; set -- $(cat /proc/$$/stat); echo "tty_nr=$7"; tty; exit 4'
	check "run -it: stdin is a terminal, exit code 4" \
		'[ $RC -eq 4 ] && grep -qE "^/dev/(pts/[0-9]+|console)$" <<<"$OUT"' \
		"expected: exit 4, output /dev/pts/N (or /dev/console)" "$(res)" "$(runtime_log)"
	check "run -it: the terminal stays the controlling terminal, no SIGHUP" \
		'grep -qE "^tty_nr=[1-9]" <<<"$OUT" && grep -qx slept <<<"$OUT" && ! grep -qE "got-SIGHUP|Hangup" <<<"$OUT"' \
		"expected: output tty_nr=N (N > 0) and slept, no got-SIGHUP or Hangup" "$(res)"

	cap pm ps -a --format '{{.ID}} {{.Names}} {{.Status}}'
	check "ps -a shows nothing left" '[ $RC -eq 0 ] && [ -z "$OUT" ]' "$(res)"
}

for m in $MODES; do
	case $m in
	rootless | root) ;;
	*) die "unknown mode $m (want rootless or root)" ;;
	esac
	if [ "$m" = root ] && [ "$(id -u)" -ne 0 ]; then
		die "mode root needs root"
	fi
	run_mode "$m"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
