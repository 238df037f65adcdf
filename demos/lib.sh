# lib.sh - shared by the demo scripts (sourced, POSIX sh).
#
# Everything here runs as an ordinary user. The only steps that may need
# root once are installing packages and, on a host where no systemd hands
# you a delegated cgroup, creating one (see cgroup_setup).
#
# Environment:
#   BWRAP_OCI        bwrap-oci binary to use (default: built from this repo)
#   XDG_CACHE_HOME   cache root (default ~/.cache); the demos use
#                    $XDG_CACHE_HOME/bwrap-oci/{bin,debootstrap,demos}
#   DEBIAN_MIRROR    mirror for debootstrap (default: debootstrap's own)
#   FRESH=1          rebuild the bundle's rootfs from the cached debootstrap

DEMOS_DIR=$(cd "$(dirname "$0")/.." && pwd)
REPO_DIR=$(cd "$DEMOS_DIR/.." && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/bwrap-oci
PROG=${PROG:-$(basename "$(dirname "$0")")/$(basename "$0")}
SUITE=bookworm

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() {
	printf '%s: %s\n' "$PROG" "$*" >&2
	exit 1
}

# elapsed START: seconds since START (from `date +%s`).
elapsed() { echo $(($(date +%s) - $1)); }

# need_tools: check the host has what the demos use, or say what to install.
need_tools() {
	[ "$(id -u)" -ne 0 ] || die "run this as your ordinary user, not root: bwrap-oci is a rootless runtime"
	missing=""
	for t in bwrap:bubblewrap newuidmap:uidmap newgidmap:uidmap unshare:util-linux \
		debootstrap:debootstrap nsenter:util-linux "$@"; do
		cmd=${t%%:*} pkg=${t#*:}
		PATH=$PATH:/usr/sbin:/sbin command -v "$cmd" >/dev/null 2>&1 || missing="$missing $pkg"
	done
	need_go=0
	[ -n "${BWRAP_OCI:-}" ] && [ -n "${DEMOCONFIG:-}" ] && [ -n "${IDSHIFT:-}" ] || need_go=1
	if [ $need_go = 1 ] && ! command -v go >/dev/null 2>&1; then
		if [ -x /usr/local/go/bin/go ]; then
			PATH=$PATH:/usr/local/go/bin
		else
			die "go not found: the demo builds bwrap-oci with the Go toolchain named in go.mod (or set BWRAP_OCI, DEMOCONFIG and IDSHIFT to built binaries)"
		fi
	fi
	if [ -n "$missing" ]; then
		# shellcheck disable=SC2086
		die "missing tools; install them once with:
  sudo apt-get install -y$(printf '%s\n' $missing | sort -u | tr '\n' ' ' | sed 's/^/ /; s/ $//')"
	fi
	PATH=$PATH:/usr/sbin:/sbin
	subids
}

# subids: the caller's first subordinate ranges (SUBUID SUBUIDS SUBGID SUBGIDS).
subids() {
	me=$(id -un)
	myuid=$(id -u)
	set -- $(awk -F: -v n="$me" -v u="$myuid" '($1 == n || $1 == u) && $3 > 0 { print $2, $3; exit }' /etc/subuid 2>/dev/null)
	[ $# -eq 2 ] || die "you ($me) have no range in /etc/subuid; ask an administrator for one:
  sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $me"
	SUBUID=$1 SUBUIDS=$2
	set -- $(awk -F: -v n="$me" -v u="$myuid" '($1 == n || $1 == u) && $3 > 0 { print $2, $3; exit }' /etc/subgid 2>/dev/null)
	[ $# -eq 2 ] || die "you ($me) have no range in /etc/subgid; ask an administrator for one:
  sudo usermod --add-subgids 100000-165535 $me"
	SUBGID=$1 SUBGIDS=$2
	# The id mapping of every user namespace the demos make: the rule
	# bwrap-oci applies to a container whose process is uid 0.
	MAPPING="0:$(id -u):1,1:$SUBUID:$SUBUIDS/0:$(id -g):1,1:$SUBGID:$SUBGIDS"
}

# in_userns CMD...: run CMD as root of a user namespace with the same
# mapping as the containers (0 = you, 1..N = your subordinate range), so
# that the files it creates get exactly the ownership the containers see.
in_userns() {
	unshare --map-root-user --map-users="$SUBUID,1,$SUBUIDS" --map-groups="$SUBGID,1,$SUBGIDS" \
		--mount --pid --fork --kill-child -- "$@"
}

# build_tools: bwrap-oci, democonfig and idshift, unless $BWRAP_OCI,
# $DEMOCONFIG and $IDSHIFT name them already.
build_tools() {
	mkdir -p "$CACHE/bin"
	if [ -z "${BWRAP_OCI:-}" ]; then
		say "building bwrap-oci"
		(cd "$REPO_DIR" && CGO_ENABLED=0 go build -buildvcs=false -o "$CACHE/bin/bwrap-oci" ./cmd/bwrap-oci) ||
			die "go build ./cmd/bwrap-oci failed"
		BWRAP_OCI=$CACHE/bin/bwrap-oci
	fi
	if [ -n "${DEMOCONFIG:-}" ] && [ -n "${IDSHIFT:-}" ]; then
		return
	fi
	for tool in democonfig idshift; do
		(cd "$REPO_DIR" && CGO_ENABLED=0 go build -buildvcs=false -o "$CACHE/bin/$tool" "./demos/cmd/$tool") ||
			die "go build ./demos/cmd/$tool failed"
	done
	DEMOCONFIG=$CACHE/bin/democonfig
	IDSHIFT=$CACHE/bin/idshift
}

# rule_map S HOST START COUNT: bwrap-oci's mapping rule for a container
# whose process runs as id S, as containerID:hostID:size,...
rule_map() {
	if [ "$1" -eq 0 ]; then
		echo "0:$2:1,1:$3:$4"
	elif [ "$1" -lt "$4" ]; then
		echo "0:$3:$1,$1:$2:1,$(($1 + 1)):$(($3 + $1)):$(($4 - $1))"
	else
		echo "0:$3:$4,$1:$2:1"
	fi
}

# shift_rootfs DIR UID GID: move DIR's ownership (unpacked for a process
# running as 0:0) to what a container whose process runs as UID:GID sees
# through bwrap-oci's rule. Recorded in DIR.shift; idempotent.
shift_rootfs() {
	want="$2:$3"
	have=$(cat "$1.shift" 2>/dev/null || echo 0:0)
	[ "$have" != "$want" ] || return 0
	say "moving the ownership of $1 to a container running as $want (idshift)"
	hu=${have%:*} hg=${have#*:}
	uids="$(rule_map "$hu" "$(id -u)" "$SUBUID" "$SUBUIDS")/$(rule_map "$2" "$(id -u)" "$SUBUID" "$SUBUIDS")"
	gids="$(rule_map "$hg" "$(id -g)" "$SUBGID" "$SUBGIDS")/$(rule_map "$3" "$(id -g)" "$SUBGID" "$SUBGIDS")"
	rm -f "$1.shift"
	in_userns "$IDSHIFT" -uids "$uids" -gids "$gids" "$1" || die "idshift failed"
	echo "$want" >"$1.shift"
}

# progress LOG: read debootstrap's output, keep it all in LOG and show one
# line per phase with a package count (updated in place on a terminal).
progress() {
	awk -v logf="$1" -v tty="$([ -t 1 ] && echo 1 || echo 0)" '
		function show(final) {
			if (phase == "") return
			if (tty) printf "\r    %-12s %4d packages%s", phase, n, final ? "\n" : ""
			else if (final || n % 50 == 0) printf "    %-12s %4d packages%s\n", phase, n, final ? "" : " ..."
			fflush()
		}
		{ print > logf; fflush(logf) }
		/^I: (Retrieving|Extracting|Unpacking|Configuring) / {
			p = $2
			if (p == "Unpacking" && $3 == "the") next
			if (p != phase) { show(1); phase = p; n = 0 }
			n++
			if (n % 5 == 0) show(0)
			next
		}
		# W: lines (no mknod, no sysfs in a user namespace) are expected: log only.
		/^E: / { show(1); phase = ""; print "    " $0 }
		END { show(1) }'
}

# debootstrap_cached NAME PACKAGES: a minbase Debian rootfs with PACKAGES
# (comma separated) in $CACHE/debootstrap/NAME, unpacked inside a user
# namespace with your mapping, so that its ownership is already right and
# no root is needed. Reused while the packages and mapping are unchanged.
debootstrap_cached() {
	name=$1 include=$2
	dir=$CACHE/debootstrap/$name
	key="suite=$SUITE variant=minbase include=$include mapping=$MAPPING"
	ROOTFS_BASE=$dir/rootfs
	if [ -f "$dir/complete" ] && [ "$(cat "$dir/complete")" = "$key" ]; then
		say "using the cached rootfs $ROOTFS_BASE"
		return
	fi
	say "building a Debian $SUITE rootfs with $include (debootstrap, about a minute)"
	note "log: $dir/debootstrap.log"
	mkdir -p "$dir" "$CACHE/debootstrap/debs"
	rm -f "$dir/complete"
	if [ -e "$dir/rootfs" ]; then
		in_userns rm -rf "$dir/rootfs" || die "cannot remove the old $dir/rootfs"
	fi
	start=$(date +%s)
	# container=lxc makes debootstrap bind /dev's nodes instead of making
	# them with mknod, which a user namespace cannot do.
	# shellcheck disable=SC2086
	if ! in_userns env container=lxc PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		debootstrap --variant=minbase --include="$include" \
		--cache-dir="$CACHE/debootstrap/debs" "$SUITE" "$dir/rootfs" ${DEBIAN_MIRROR:-} 2>&1 |
		progress "$dir/debootstrap.log"; then
		:
	fi
	grep -q '^I: Base system installed successfully' "$dir/debootstrap.log" ||
		die "debootstrap failed; the end of $dir/debootstrap.log:
$(tail -n 15 "$dir/debootstrap.log")"
	echo "$key" >"$dir/complete"
	note "done in $(elapsed "$start")s"
}

# make_bundle NAME: $CACHE/demos/NAME with a private copy of $ROOTFS_BASE
# (kept across runs unless FRESH=1) and a config.json from `spec --rootless`.
make_bundle() {
	BUNDLE=$CACHE/demos/$1
	mkdir -p "$BUNDLE"
	if [ "${FRESH:-0}" = 1 ] || [ ! -f "$BUNDLE/rootfs.complete" ] ||
		[ "$(cat "$BUNDLE/rootfs.complete")" != "$(cat "$(dirname "$ROOTFS_BASE")/complete")" ]; then
		say "copying the rootfs into $BUNDLE/rootfs"
		rm -f "$BUNDLE/rootfs.complete" "$BUNDLE/rootfs.shift"
		if [ -e "$BUNDLE/rootfs" ]; then
			in_userns rm -rf "$BUNDLE/rootfs" || die "cannot remove $BUNDLE/rootfs"
		fi
		start=$(date +%s)
		in_userns cp -a "$ROOTFS_BASE" "$BUNDLE/rootfs" || die "copying the rootfs failed"
		cp "$(dirname "$ROOTFS_BASE")/complete" "$BUNDLE/rootfs.complete"
		note "done in $(elapsed "$start")s"
	else
		say "reusing $BUNDLE/rootfs (FRESH=1 makes a new copy)"
	fi
	"$BWRAP_OCI" spec --rootless --bundle "$BUNDLE" --force >/dev/null ||
		die "bwrap-oci spec --rootless failed"
}

# container_pid ID: the host pid of the container's init ("" if none).
container_pid() {
	"$BWRAP_OCI" state "$1" 2>/dev/null | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' | head -n 1
}

# in_container PID CMD...: run CMD in the container's namespaces (those it
# does not share with the host), as its root. You own the container's user
# namespace, so this needs no privilege.
in_container() {
	pid=$1
	shift
	set -- --user --mount "$@"
	for ns in pid:--pid ipc:--ipc uts:--uts net:--net cgroup:--cgroup; do
		if [ "$(readlink "/proc/$pid/ns/${ns%%:*}")" != "$(readlink "/proc/self/ns/${ns%%:*}")" ]; then
			set -- "${ns#*:}" "$@"
		fi
	done
	nsenter --target "$pid" "$@"
}

# cgroup_setup NAME: make CGROUP_DIR, a cgroup v2 directory for the
# container, under the cgroup you are in, which must be delegated to you
# (yours to write). systemd needs one: it is bound at /sys/fs/cgroup in the
# container, whose cgroup namespace makes it the root.
cgroup_setup() {
	if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
		v2=/sys/fs/cgroup
	elif [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
		v2=/sys/fs/cgroup/unified # hybrid hierarchy: v1 controllers + an empty v2
	else
		die "no cgroup v2 hierarchy is mounted (neither /sys/fs/cgroup nor /sys/fs/cgroup/unified): systemd cannot run in a container here"
	fi
	own=$(sed -n 's/^0:://p' /proc/self/cgroup)
	base=$v2${own%/}
	if [ ! -w "$base" ] || [ ! -w "$base/cgroup.procs" ]; then
		me=$(id -un)
		die "you are in the cgroup $own of $v2, which is not delegated to you,
and systemd in a container needs a cgroup subtree of its own.
  On a host with systemd, run the demo in a delegated scope:
    systemd-run --user --scope -p Delegate=yes $0 $*
  On a host without systemd (this one runs $(cat /proc/1/comm 2>/dev/null || echo '?') as pid 1), an administrator
  delegates a subtree to you once, and moves your shell into it:
    sudo mkdir -p $v2/bwrap-oci-$me
    sudo chown -R $me: $v2/bwrap-oci-$me
    echo \$\$ | sudo tee $v2/bwrap-oci-$me/cgroup.procs
  then run $0 again from that shell. The host's cgroup mounts are not changed."
	fi
	CGROUP_DIR=$base/$1
	if [ -d "$CGROUP_DIR" ]; then
		cgroup_remove "$CGROUP_DIR" ||
			die "$CGROUP_DIR still has processes: is the container still running? ($BWRAP_OCI list)"
	fi
	mkdir "$CGROUP_DIR" || die "cannot create $CGROUP_DIR"
}

# cgroup_remove DIR: remove a cgroup and what systemd made below it.
cgroup_remove() {
	[ -d "$1" ] || return 0
	find "$1" -depth -type d -exec rmdir {} + 2>/dev/null
	[ ! -d "$1" ]
}

# in_cgroup DIR CMD...: run CMD in the cgroup DIR (moving this process's
# child there is allowed because you own their common ancestor).
in_cgroup() {
	sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' in_cgroup "$@"
}
