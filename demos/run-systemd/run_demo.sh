#!/bin/sh
# run_demo.sh - boot systemd --system as an unprivileged container.
#
#   demos/run-systemd/run_demo.sh            build (cached) and boot it in the
#                                            foreground, your terminal as its console
#   demos/run-systemd/run_demo.sh --check    boot it in the background, check it
#                                            reaches `running`, power it off
#   demos/run-systemd/run_demo.sh --prepare  only build the bundle
#
# Run it as your ordinary user. It needs once: the packages bubblewrap,
# uidmap, debootstrap and golang, a range in /etc/subuid and /etc/subgid, and
# a delegated cgroup v2 subtree (the script says how to get one).
#
# The rootfs is made by debootstrap inside a user namespace with your mapping
# (no root, ownership already in your subordinate range) and cached in
# ${XDG_CACHE_HOME:-~/.cache}/bwrap-oci/debootstrap/systemd; the bundle is
# ${XDG_CACHE_HOME:-~/.cache}/bwrap-oci/demos/systemd-demo.
# See docs/systemd.md for what systemd needs and why.
set -eu

. "$(dirname "$0")/../lib.sh"

ID=${DEMO_ID:-systemd-demo}
mode=run
case ${1:-} in
"") ;;
--check) mode=check ;;
--prepare) mode=prepare ;;
-h | --help)
	sed -n '2,19s/^# \{0,1\}//p' "$0"
	exit 0
	;;
*) die "unknown argument $1 (try --help)" ;;
esac

t0=$(date +%s)
need_tools
build_tools
debootstrap_cached systemd systemd,systemd-sysv,dbus
make_bundle "$ID"

# The console: with a terminal, log in as root automatically (the rootfs has
# no passwords); the demo is yours alone, like the terminal it runs on.
rootfs=$BUNDLE/rootfs
in_userns sh -c '
	echo "$2" >"$1/etc/hostname"
	mkdir -p "$1/etc/systemd/system/console-getty.service.d"
	cat >"$1/etc/systemd/system/console-getty.service.d/autologin.conf" <<EOF
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --noclear --keep-baud console 115200,38400,9600 \$TERM
EOF' sh "$rootfs" "$ID"

if [ "$mode" = prepare ]; then
	"$DEMOCONFIG" systemd -hostname "$ID" "$BUNDLE/config.json"
	say "bundle ready: $BUNDLE (the cgroup is bound in when it runs)"
	exit 0
fi

cgroup_setup "$ID"
terminal=false
if [ "$mode" = run ] && [ -t 0 ] && [ -t 1 ]; then
	terminal=true
fi
"$DEMOCONFIG" systemd -cgroup "$CGROUP_DIR" -terminal="$terminal" -hostname "$ID" "$BUNDLE/config.json"
"$BWRAP_OCI" delete --force "$ID" >/dev/null 2>&1 || true
say "ready in $(elapsed "$t0")s: bundle $BUNDLE, cgroup $CGROUP_DIR"

# report STATUS: what the exit status of `run` means for systemd.
report() {
	case $1 in
	0) say "bwrap-oci run exited 0: systemd powered off cleanly" ;;
	130) say "bwrap-oci run exited 130 = 128+SIGINT: the kernel ends a PID namespace's init with SIGINT when it powers off, so this is a clean power-off (bwrap-oci should report it as 0)" ;;
	129) say "bwrap-oci run exited 129 = 128+SIGHUP: systemd rebooted (the container does not restart)" ;;
	*) say "bwrap-oci run exited $1: systemd did not power off cleanly" ;;
	esac
}

if [ "$mode" = run ]; then
	say "bwrap-oci run --bundle $BUNDLE $ID"
	note "from another shell:  $BWRAP_OCI list"
	note "power it off with:   $BWRAP_OCI kill $ID SIGRTMIN+3   (or poweroff on its console)"
	echo
	set +e
	in_cgroup "$CGROUP_DIR" "$BWRAP_OCI" run --bundle "$BUNDLE" "$ID"
	status=$?
	set -e
	echo
	report "$status"
	cgroup_remove "$CGROUP_DIR" || true
	[ "$status" = 0 ] || [ "$status" = 130 ]
	exit
fi

# --check: boot in the background, wait for the default target, power off.
log=$BUNDLE/run.log
say "booting $ID in the background (output in $log)"
tb=$(date +%s)
in_cgroup "$CGROUP_DIR" "$BWRAP_OCI" run --bundle "$BUNDLE" "$ID" </dev/null >"$log" 2>&1 &
runpid=$!
pid=""
i=0
while [ -z "$pid" ] && [ $i -lt 100 ] && kill -0 $runpid 2>/dev/null; do
	pid=$(container_pid "$ID")
	[ -n "$pid" ] || sleep 0.1
	i=$((i + 1))
done
[ -n "$pid" ] || {
	cat "$log" >&2
	die "the container did not start"
}
note "systemd is pid $pid on the host"
# Until systemd listens on its private socket, systemctl cannot connect.
state=""
while [ $(($(date +%s) - tb)) -lt 120 ] && kill -0 $runpid 2>/dev/null; do
	state=$(in_container "$pid" timeout 90 systemctl is-system-running --wait 2>/dev/null) || true
	case $state in
	"" | initializing | starting) sleep 0.2 ;;
	*) break ;;
	esac
done
say "systemctl is-system-running: $state (after $(elapsed "$tb")s)"
if [ "$state" != running ]; then
	in_container "$pid" systemctl --failed --no-pager || true
fi
say "bwrap-oci list"
"$BWRAP_OCI" list
say "bwrap-oci kill $ID SIGRTMIN+3"
th=$(date +%s)
"$BWRAP_OCI" kill "$ID" SIGRTMIN+3
set +e
wait $runpid
status=$?
set -e
report "$status"
note "halted in $(elapsed "$th")s"
cgroup_remove "$CGROUP_DIR" || note "could not remove $CGROUP_DIR"
[ "$state" = running ] && { [ "$status" = 0 ] || [ "$status" = 130 ]; }
