#!/bin/sh
# setup-host.sh - prepare a Debian/Ubuntu host for bwrap-oci and its tests.
#
# Must run as root. Idempotent; prints nothing unless something fails,
# except for a final line naming the test user and its uid.
#
#   - installs the packages in $PACKAGES (apt-get update only if one is missing)
#   - creates the unprivileged test user (default: bwoci) with a subordinate
#     uid/gid range in /etc/subuid and /etc/subgid
#   - creates /run/user/$UID owned by that user, mode 0700
#   - makes sure unprivileged user namespaces are enabled
#
# Environment:
#   BWRAP_OCI_E2E_USER   test user name (default: bwoci)
#   EXTRA_PACKAGES       more Debian packages to install (space separated)
set -eu

# Packages the runtime and its tests need. Later work may add e.g.
# "runc crun hyperfine" here (or pass them in EXTRA_PACKAGES).
PACKAGES="bubblewrap uidmap busybox-static"
# Podman end-to-end test (e2e/podman_test.sh); script(1) is in util-linux.
PACKAGES="$PACKAGES podman slirp4netns fuse-overlayfs"
# Demos (debootstrap of systemd and etcd rootfs trees, etcdctl, and
# systemd-analyze for generated units; systemd need not run).
PACKAGES="$PACKAGES debootstrap etcd-client systemd"
# Seccomp tests: Podman's default profile (Debian 12's containers-common)
# and libseccomp's Python binding for the cross-check.
PACKAGES="$PACKAGES golang-github-containers-common python3-seccomp"
# exec and the hook helper use nsenter (util-linux, always there).
PACKAGES="$PACKAGES ${EXTRA_PACKAGES:-}"

TEST_USER="${BWRAP_OCI_E2E_USER:-bwoci}"
SUBID_COUNT=65536

die() {
	echo "setup-host.sh: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (try: sudo $0)"

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# run CMD...: run quietly; on failure show its output and stop.
run() {
	if ! "$@" >"$log" 2>&1; then
		cat "$log" >&2
		die "failed: $*"
	fi
}

# --- packages -------------------------------------------------------------
missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install manually:$missing"
	export DEBIAN_FRONTEND=noninteractive
	run apt-get update -q
	# shellcheck disable=SC2086
	run apt-get install -y -q --no-install-recommends $missing
fi

# --- user namespaces --------------------------------------------------------
# Debian kernels have this knob (default 1); Ubuntu 23.10+ restricts userns
# through AppArmor. Only touch them when they would block the tests.
# (Written directly: minimal images may lack sysctl(8).)
enable() { # enable FILE VALUE-THAT-BLOCKS NEW-VALUE
	if [ -w "$1" ] && [ "$(cat "$1")" = "$2" ]; then
		echo "$3" >"$1" || die "cannot write $1"
	fi
}
enable /proc/sys/kernel/unprivileged_userns_clone 0 1
enable /proc/sys/kernel/apparmor_restrict_unprivileged_userns 1 0
enable /proc/sys/user/max_user_namespaces 0 15000

# --- test user ------------------------------------------------------------
if ! id -u "$TEST_USER" >/dev/null 2>&1; then
	run useradd -m -s /bin/sh -c "bwrap-oci test user" "$TEST_USER"
fi
uid=$(id -u "$TEST_USER")

# has_range FILE: does FILE give the user (by name or uid) a range?
has_range() {
	[ -f "$1" ] && awk -F: -v n="$TEST_USER" -v u="$uid" \
		'($1 == n || $1 == u) && $3 > 0 { found = 1 } END { exit !found }' "$1"
}

# free_start: first multiple of 65536 (>= 100000) above every range in use.
free_start() {
	cat /etc/subuid /etc/subgid 2>/dev/null | awk -F: -v c="$SUBID_COUNT" '
		BEGIN { end = 100000 }
		NF >= 3 && $2 + $3 > end { end = $2 + $3 }
		END { s = int((end + c - 1) / c) * c; if (s < 100000) s = 100000; print s }'
}

# Use one start for both files so that uid and gid ranges line up.
start=$(free_start)
range="$start-$((start + SUBID_COUNT - 1))"
if ! has_range /etc/subuid; then
	touch /etc/subuid
	run usermod --add-subuids "$range" "$TEST_USER"
fi
if ! has_range /etc/subgid; then
	touch /etc/subgid
	run usermod --add-subgids "$range" "$TEST_USER"
fi

# --- runtime dir ----------------------------------------------------------
rundir="/run/user/$uid"
mkdir -p "$rundir"
chown "$uid:$(id -g "$TEST_USER")" "$rundir"
chmod 0700 "$rundir"

echo "test user: $TEST_USER uid=$uid"
