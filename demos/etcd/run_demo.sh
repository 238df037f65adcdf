#!/bin/sh
# run_demo.sh - run Debian's etcd as a non-root user in an unprivileged
# container, reachable from the host.
#
#   demos/etcd/run_demo.sh            build (cached) and run etcd in the foreground
#                                     (stop it with Ctrl-C or bwrap-oci kill etcd-demo)
#   demos/etcd/run_demo.sh --check    run it in the background, etcdctl put/get
#                                     from the host, stop it with SIGTERM
#   demos/etcd/run_demo.sh --prepare  only build the bundle
#
# Environment: ETCD_CLIENT_PORT (default 2379), ETCD_PEER_PORT (default 2380).
#
# The container shares the host's network (no network namespace): etcd
# listens on 127.0.0.1 of the host, where etcdctl (package etcd-client)
# reaches it. It runs as the etcd user of the rootfs (uid 100, which is a
# uid of your subordinate range on the host), with no capability.
# Its data stays in the bundle's rootfs, /var/lib/etcd/demo, across runs.
set -eu

. "$(dirname "$0")/../lib.sh"

ID=${DEMO_ID:-etcd-demo}
CLIENT_PORT=${ETCD_CLIENT_PORT:-2379}
PEER_PORT=${ETCD_PEER_PORT:-2380}
mode=run
case ${1:-} in
"") ;;
--check) mode=check ;;
--prepare) mode=prepare ;;
-h | --help)
	sed -n '2,18s/^# \{0,1\}//p' "$0"
	exit 0
	;;
*) die "unknown argument $1 (try --help)" ;;
esac

t0=$(date +%s)
if [ "$mode" = check ]; then
	need_tools etcdctl:etcd-client
else
	need_tools
fi
build_tools
debootstrap_cached etcd etcd-server
make_bundle "$ID"

# The etcd user and group as the package made them.
rootfs=$BUNDLE/rootfs
uid=$(awk -F: '$1 == "etcd" { print $3 }' "$rootfs/etc/passwd")
gid=$(awk -F: '$1 == "etcd" { print $4 }' "$rootfs/etc/passwd")
[ -n "$uid" ] && [ -n "$gid" ] || die "no etcd user in $rootfs/etc/passwd"
# bwrap runs the process as the container id your own uid maps to, so for
# uid $uid that is the id mapped to you, and the rootfs's ownership moves to match.
shift_rootfs "$rootfs" "$uid" "$gid"
client=http://127.0.0.1:$CLIENT_PORT
"$DEMOCONFIG" etcd -uid "$uid" -gid "$gid" -client "$client" \
	-peer "http://127.0.0.1:$PEER_PORT" -data /var/lib/etcd/demo "$BUNDLE/config.json"
"$BWRAP_OCI" delete --force "$ID" >/dev/null 2>&1 || true
say "ready in $(elapsed "$t0")s: bundle $BUNDLE; etcd runs as uid $uid (your own uid on the host)"
[ "$mode" != prepare ] || exit 0

if [ "$mode" = run ]; then
	say "bwrap-oci run --bundle $BUNDLE $ID"
	note "from another shell:  ETCDCTL_API=3 etcdctl --endpoints=$client put greeting hello"
	note "stop it with Ctrl-C, or: $BWRAP_OCI kill $ID   (SIGTERM)"
	echo
	set +e
	"$BWRAP_OCI" run --bundle "$BUNDLE" "$ID"
	status=$?
	set -e
	say "bwrap-oci run exited $status"
	exit $status
fi

# --check
log=$BUNDLE/run.log
say "starting $ID in the background (output in $log)"
"$BWRAP_OCI" run --bundle "$BUNDLE" "$ID" </dev/null >"$log" 2>&1 &
runpid=$!
export ETCDCTL_API=3
ctl() { etcdctl --endpoints="$client" --dial-timeout=2s "$@"; }
i=0
until ctl endpoint health >/dev/null 2>&1; do
	kill -0 $runpid 2>/dev/null || {
		tail -n 20 "$log" >&2
		die "etcd exited"
	}
	i=$((i + 1))
	[ $i -lt 150 ] || die "etcd is not healthy after 30s (see $log)"
	sleep 0.2
done
say "etcd is healthy at $client"
pid=$(container_pid "$ID")
note "etcd is pid $pid on the host, uid $(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")"
say "bwrap-oci list"
"$BWRAP_OCI" list
value="hello from $(id -un) at $(date +%T)"
say "etcdctl put demo/greeting \"$value\""
ctl put demo/greeting "$value"
say "etcdctl get demo/greeting"
got=$(ctl get --print-value-only demo/greeting)
echo "$got"
[ "$got" = "$value" ] || die "etcdctl get returned \"$got\""
say "bwrap-oci kill $ID SIGTERM"
"$BWRAP_OCI" kill "$ID" SIGTERM
set +e
wait $runpid
status=$?
set -e
say "bwrap-oci run exited $status"
[ "$status" = 0 ] || {
	tail -n 20 "$log" >&2
	die "etcd did not stop cleanly"
}
