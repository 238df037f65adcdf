#!/bin/sh
# demo.sh - build bwrap-oci and run a tiny busybox container as yourself.
#
# The bundle lives in ${XDG_CACHE_HOME:-$HOME/.cache}/bwrap-oci/demo-bundle
# and is refreshed on every run.
set -eu

cd "$(dirname "$0")/.."
repo=$(pwd)

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	PATH=$PATH:/usr/local/go/bin
fi
command -v go >/dev/null 2>&1 || {
	echo "demo.sh: go not found (install Go, see https://go.dev/dl/)" >&2
	exit 1
}

busybox=${BUSYBOX:-/bin/busybox}
if [ ! -x "$busybox" ] || ! command -v bwrap >/dev/null 2>&1 ||
	! command -v newuidmap >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ]; then
		"$repo/scripts/setup-host.sh"
	else
		echo "demo.sh: missing packages; install them with:" >&2
		echo "  sudo apt-get install -y bubblewrap uidmap busybox-static" >&2
		exit 1
	fi
fi

echo "==> building bin/bwrap-oci"
CGO_ENABLED=0 go build -o bin/bwrap-oci ./cmd/bwrap-oci

bundle=${XDG_CACHE_HOME:-$HOME/.cache}/bwrap-oci/demo-bundle
echo "==> making bundle $bundle"
"$repo/bin/bwrap-oci" delete --force demo >/dev/null 2>&1 || true

mkdir -p "$bundle"
"$repo/scripts/mkrootfs-busybox.sh" "$bundle/rootfs"
"$repo/bin/bwrap-oci" spec --rootless --bundle "$bundle" --force

# The default config runs "sh" with the caller's stdio: feed it the demo.
# Inside, a user namespace's maps read relative to its parent's: with the
# userns keeper (docs/keeper.md) that is the keeper's namespace, so the
# demo also shows them as the host sees them, while the container runs.
echo "==> bin/bwrap-oci run --bundle $bundle demo"
echo
"$repo/bin/bwrap-oci" run --bundle "$bundle" demo <<'SCRIPT' &
echo "id:       $(id)"
echo "hostname: $(hostname)"
echo "uid_map (inside):"
cat /proc/self/uid_map
echo "gid_map (inside):"
cat /proc/self/gid_map
sleep 1
SCRIPT
run=$!
pid=
i=0
while [ -z "$pid" ] && [ $i -lt 50 ]; do
	pid=$("$repo/bin/bwrap-oci" state demo 2>/dev/null | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' | head -n 1)
	i=$((i + 1))
	[ -n "$pid" ] || sleep 0.1
done
sleep 0.5
if [ -n "$pid" ] && [ -r "/proc/$pid/uid_map" ]; then
	echo "uid_map (as the host sees it):"
	cat "/proc/$pid/uid_map"
	echo "gid_map (as the host sees it):"
	cat "/proc/$pid/gid_map"
fi
wait "$run"
