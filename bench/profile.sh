#!/bin/sh
# bench/profile.sh - where does `bwrap-oci run` of /bin/true spend its time?
# Run as root after (or instead of) bench/run.sh; it reuses run.sh's set-up
# (BENCH_SETUP_ONLY=1) and, like it, measures as the benchmark user in a
# private mount namespace without /sys/fs/cgroup/unified.
#
#   sudo bench/profile.sh
#
# 1. phases by subtraction (hyperfine -N): exec of a tiny binary, Go start
#    (`bwrap-oci --version`), `run --dry-run` with the bwrap feature probe
#    cached and not cached, the bare bwrap call, `run` single-id and
#    multi-id, and one newuidmap exec;
# 2. Go package init (GODEBUG=inittrace=1);
# 3. the phases of `run` (multi-id, single-id, and the bare bwrap call) from
#    kernel tracepoints (perf record -a: exec, fork, exit, renameat2,
#    memfd_create, pivot_root), medians over PROFILE_TRACE_RUNS
#    runs (default 30); tracepoints cost microseconds and, unlike strace, let
#    the setuid newuidmap/newgidmap work; plus strace -c's syscall summary of
#    a single-id run;
# 4. perf stat -r 30 of bwrap-oci run (multi-id) and of the bare bwrap call;
# 5. CPU time per run by process (runtime, keeper, bwrap, idle), kernel and
#    user, from perf record -a over section 3's loops;
# 6. the network namespace lever: bwrap started in a network namespace made
#    ahead of time against making its own (bench/netns-lever.c, built with gcc).
#
# Output goes to stdout and $BENCH_DIR/profile/. Environment: as run.sh
# (BENCH_DIR, BENCH_REV), PROFILE_RUNS (hyperfine runs, default 100),
# PROFILE_NETNS_BLOCKS (section 6's blocks per arm, default 8).
set -eu

W=${BENCH_DIR:-/var/tmp/bwrap-oci-bench}
P=$W/profile
B=$W/bin/bwrap-oci
T=$W/bin/benchtool
BUNDLES=$W/bundles
RUNS=${PROFILE_RUNS:-100}
TRACE_RUNS=${PROFILE_TRACE_RUNS:-30}
NETNS_BLOCKS=${PROFILE_NETNS_BLOCKS:-8}

if [ "${1:-}" = --in-ns ]; then
	# root, inside the private mount namespace
	. "$W/env.sh"
	HOMEDIR=$(getent passwd "$BUSER" | cut -d: -f6)
	ENV="PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=$HOMEDIR XDG_RUNTIME_DIR=/run/user/$BUID LANG=C.UTF-8"
	# shellcheck disable=SC2086
	as_user() { setpriv --reuid "$BUID" --regid "$BGID" --init-groups env -i $ENV "$@"; }
	R=/run/user/$BUID/bwrap-oci-profile
	as_user rm -rf "$R"
	as_user mkdir -p "$R"
	MULTI=$BUNDLES/bwrap-oci-multi
	SINGLE=$BUNDLES/bwrap-oci-single
	line=$(as_user "$B" --root "$R" run --dry-run -b "$SINGLE" p | grep -v '^#')
	BARE=${line#umask 0022 && exec }
	BARE=${BARE#exec }
	# The same bwrap options through benchtool floor: the least a Go runtime
	# can do with bwrap-oci's protocol and a multi-id map (bench/benchtool/floor.go).
	FLOOR="$T floor -maps '0 $BUID 1 1 $SUBUID 65536' $(echo "$BARE" | sed 's/ --unshare-user --uid [0-9]* --gid [0-9]* / /')"
	as_user sh -c 'sleep 600 & echo $!' >"$P/sleeper"
	SLEEPER=$(cat "$P/sleeper")
	trap 'kill $SLEEPER 2>/dev/null || :' EXIT
	CACHE=$R/.bwrap-features.json
	as_user "$B" --root "$R" run -b "$MULTI" p

	idle=$("$T" quiet -idle 0.7 -max 30s)
	echo "## 1. Phases by subtraction (hyperfine -N, $RUNS runs, medians; CPUs $(awk -v x="$idle" 'BEGIN { printf "%d%%", x * 100 }') idle at the start)"
	echo
	as_user hyperfine -N -i --style none --warmup 10 --runs "$RUNS" --export-json "$P/phases.json" \
		-n "exec /bin/true" -p true "/bin/true" \
		-n "bwrap-oci --version" -p true "$B --version" \
		-n "run --dry-run (probe cached)" -p true "$B --root $R run --dry-run -b $MULTI p" \
		-n "run --dry-run (probe not cached)" -p "rm -f $CACHE" "$B --root $R run --dry-run -b $MULTI p" \
		-n "bare bwrap (single-id)" -p true "$BARE" \
		-n "bwrap-oci run (single-id)" -p true "$B --root $R run -b $SINGLE p" \
		-n "bwrap-oci run (multi-id)" -p true "$B --root $R run -b $MULTI p" \
		-n "bwrap-oci run --no-userns-keeper (multi-id)" -p true "$B --root $R --no-userns-keeper run -b $MULTI p" \
		-n "minimal Go runtime, same protocol (multi-id)" -p true "$FLOOR" \
		-n "bare bwrap (single-id) from a Go parent" -p true "$T wrap $BARE" \
		-n "newuidmap (exec + checks, write refused)" -p true "newuidmap $SLEEPER 0 $BUID 1" >/dev/null 2>&1
	[ -f "$CACHE" ] || echo "(note: no probe cache at $CACHE: the cache file has moved; the probe rows are meaningless)"
	g() { "$T" get -json "$P/phases.json" -name "$1"; }
	tru=$(g "exec /bin/true") ver=$(g "bwrap-oci --version")
	dry=$(g "run --dry-run (probe cached)") drync=$(g "run --dry-run (probe not cached)")
	bare=$(g "bare bwrap (single-id)") r1=$(g "bwrap-oci run (single-id)")
	rm_=$(g "bwrap-oci run (multi-id)") nu=$(g "newuidmap (exec + checks, write refused)")
	nok=$(g "bwrap-oci run --no-userns-keeper (multi-id)")
	floor=$(g "minimal Go runtime, same protocol (multi-id)") wrap=$(g "bare bwrap (single-id) from a Go parent")
	"$T" table -crun=false -json "$P/phases.json"
	echo
	awk -v tru="$tru" -v ver="$ver" -v dry="$dry" -v drync="$drync" -v bare="$bare" -v r1="$r1" -v rm_="$rm_" -v nu="$nu" -v floor="$floor" -v wrap="$wrap" -v nok="$nok" 'BEGIN {
		print "| phase (derived from the medians) | ms | share of run (multi-id) |"
		print "|---|---:|---:|"
		row("exec of a tiny static binary (floor of any runtime)", tru)
		row("Go binary start + cobra (--version − exec floor)", ver - tru)
		row("prepare: load, validate, subuid, translate, cached probe (dry-run − --version)", dry - ver)
		row("bwrap itself, single-id (bare bwrap call)", bare)
		row("run orchestration: state dir, memfd, pipes, info-fd, state write, waits (run single − dry-run − bare)", r1 - dry - bare)
		row("multi-id: a user namespace from the keeper instead of one made by bwrap (run multi − run single)", rm_ - r1)
		printf "| total: bwrap-oci run (multi-id) | %.2f | 100%% |\n", rm_
		print ""
		printf "- the bwrap feature probe, when its cache is cold (dry-run uncached − cached): %.2f ms\n", drync - dry
		printf "- without the userns keeper (--no-userns-keeper: newuidmap + newgidmap per container), run multi-id takes %.2f ms, %.2f ms more\n", nok, nok - rm_
		printf "- one newuidmap exec (setuid, parses /etc/subuid, refused write): %.2f ms\n", nu
		printf "- the floor of the newuidmap design: a minimal Go runtime (benchtool floor: bwrap on --args, --info-fd,\n"
		printf "  --userns-block-fd, newuidmap and newgidmap side by side, nothing else) takes %.2f ms, %.2f x the\n", floor, floor / bare
		printf "  bare bwrap call; bwrap-oci run --no-userns-keeper (multi-id) adds %.2f ms to it (config, checks, state)\n", nok - floor
		printf "- of that floor, a Go parent alone (benchtool wrap: exec the bare bwrap call and wait) costs %.2f ms\n", wrap - bare
	}
	function row(name, v) { printf "| %s | %.2f | %.0f%% |\n", name, v, 100 * v / rm_ }'
	echo

	echo "## 2. Go package init (GODEBUG=inittrace=1 bwrap-oci run --dry-run)"
	echo
	as_user env GODEBUG=inittrace=1 "$B" --root "$R" run --dry-run -b "$MULTI" p 2>"$P/inittrace.txt" >/dev/null || :
	awk '/^init / { n++; clk += $5; alloc += $8; print $5, $2 }
		END { printf "TOTAL %.3f ms clock in %d package inits, %d bytes allocated\n", clk, n, alloc }' "$P/inittrace.txt" |
		sort -k1,1gr | awk '$1 == "TOTAL" { total = $0; next } n++ < 8 { printf "    %7.3f ms  %s\n", $1, $2 } END { print "    " total }'
	echo

	echo "## 3. Phases of \`run\` from kernel tracepoints (perf record -a, medians of $TRACE_RUNS runs each)"
	echo
	echo "Process exec/fork/exit and a few syscalls (renameat2 = state dir created, memfd_create = bwrap's"
	echo "arguments, pivot_root) traced system-wide:"
	echo "tracepoints cost microseconds, unlike strace, and do not stop setuid newuidmap/newgidmap."
	echo
	for what in multi single bare; do
		case $what in
		multi) printf '%s\n' "i=0; while [ \$i -lt $TRACE_RUNS ]; do $B --root $R run -b $MULTI p; i=\$((i + 1)); done" >"$P/trace-$what.sh" ;;
		single) printf '%s\n' "i=0; while [ \$i -lt $TRACE_RUNS ]; do $B --root $R run -b $SINGLE p; i=\$((i + 1)); done" >"$P/trace-$what.sh" ;;
		bare) printf '%s\n' "i=0; while [ \$i -lt $TRACE_RUNS ]; do $BARE; i=\$((i + 1)); done" >"$P/trace-$what.sh" ;;
		esac
		perf record -q -a -o "$P/perf-$what.data" \
			-e sched:sched_process_exec,sched:sched_process_exit,sched:sched_process_fork \
			-e syscalls:sys_enter_memfd_create,syscalls:sys_enter_renameat2,syscalls:sys_enter_pivot_root \
			-- setpriv --reuid "$BUID" --regid "$BGID" --init-groups env -i $ENV sh "$P/trace-$what.sh" >/dev/null 2>&1
		perf script -i "$P/perf-$what.data" -F comm,pid,tid,time,event,trace 2>/dev/null >"$P/perf-$what.txt"
	done
	label() {
		case $1 in
		multi) echo "bwrap-oci run (multi-id):" ;;
		single) echo "bwrap-oci run (single-id):" ;;
		bare) echo "bare bwrap (single-id):" ;;
		esac
	}
	phases() { # MODE FILE: per-run phase durations, then their medians
		awk -v mode="$1" -v B="$B" '
		function fld(s, k,   m) { m = s; if (!sub(".*" k "=", "", m)) return ""; sub(/ .*/, "", m); return m }
		{
			for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\/[0-9]+$/) break
			if (i > NF) next
			split($i, pt, "/"); pid = pt[1]; tid = pt[2]
			t = $(i + 1); sub(/:$/, "", t); t *= 1000
			ev = $(i + 2); sub(/:$/, "", ev)
			rest = ""; for (k = i + 3; k <= NF; k++) rest = rest " " $k
		}
		ev == "sched:sched_process_exec" {
			f = fld(rest, "filename")
			start = (mode == "bare") ? (f == "/usr/bin/bwrap" && !(pid in tr)) : (f == B)
			if (start) {
				r++; delete tr; tr[pid] = 1; main = pid; T[r, "start"] = t
				if (mode == "bare") { bw = pid; T[r, "bwrap_exec"] = t }
				nu = ng = -1; cloned = 0
				next
			}
			if (!(pid in tr)) next
			if (f == "/usr/bin/bwrap") { bw = pid; T[r, "bwrap_exec"] = t }
			else if (f ~ /newuidmap$/) { nu = pid; T[r, "nu_exec"] = t }
			else if (f ~ /newgidmap$/) { ng = pid; T[r, "ng_exec"] = t }
			else if (f == "/bin/true") T[r, "true"] = t
			next
		}
		ev == "sched:sched_process_fork" && (pid in tr) {
			c = fld(rest, "child_pid"); tr[c] = 1
			if (pid == bw && !cloned && tid == pid) { cloned = 1; T[r, "clone"] = t }
			next
		}
		!(pid in tr) { next }
		ev == "syscalls:sys_enter_renameat2" && pid == main && !((r, "statedir") in T) { T[r, "statedir"] = t }
		ev == "syscalls:sys_enter_memfd_create" && pid == main && !((r, "memfd") in T) { T[r, "memfd"] = t }
		ev == "syscalls:sys_enter_pivot_root" { T[r, "pivot"] = t }
		ev == "sched:sched_process_exit" {
			if (tid == bw) T[r, "bwrap_exit"] = t
			if (tid == nu) T[r, "nu_exit"] = t
			if (tid == ng) T[r, "ng_exit"] = t
			if (pid == main) T[r, "end"] = t
		}
		function d(r, a, b) { return ((r, a) in T && (r, b) in T) ? T[r, b] - T[r, a] : "" }
		END {
			for (k = 1; k <= r; k++) {
				if (mode == "bare") {
					print "bwrap start until it clones the container", d(k, "bwrap_exec", "clone")
					print "bwrap maps ids, sets up the container until exec", d(k, "clone", "true")
					print "/bin/true runs, bwrap exits", d(k, "true", "end")
					print "total", d(k, "start", "end")
					continue
				}
				maps_end = (mode == "multi") ? "ng_exit" : "state"
				print "Go start, load, validate, translate (exec to state dir)", d(k, "start", "statedir")
				print "state dir, memfd, fork+exec of bwrap", d(k, "statedir", "bwrap_exec")
				print "bwrap start until it clones the container", d(k, "bwrap_exec", "clone")
				# bwrap is released once the maps are written; state.json is
				# saved after that, while bwrap sets the container up.
				if (mode == "multi") {
					print "id maps: bwrap clone to newgidmap exit", d(k, "clone", "ng_exit")
					print "   newuidmap process (exec to exit)", d(k, "nu_exec", "nu_exit")
					print "   newgidmap process (exec to exit)", d(k, "ng_exec", "ng_exit")
					print "release; bwrap sets up the container until exec (state.json saved meanwhile)", d(k, "ng_exit", "true")
				} else
					print "maps written directly, release; bwrap sets up the container until exec", d(k, "clone", "true")
				print "/bin/true runs, bwrap exits", d(k, "true", "bwrap_exit")
				print "bwrap-oci notices, removes the state dir, exits", d(k, "bwrap_exit", "end")
				print "total", d(k, "start", "end")
			}
		}' OFS='\t' "$2" | awk -F '\t' '$2 != "" { if (!($1 in n)) order[++m] = $1; v[$1, ++n[$1]] = $2 }
		END {
			for (j = 1; j <= m; j++) {
				k = order[j]; c = n[k]
				for (a = 1; a <= c; a++) x[a] = v[k, a]
				for (a = 2; a <= c; a++) { y = x[a]; for (b = a - 1; b >= 1 && x[b] > y; b--) x[b + 1] = x[b]; x[b + 1] = y }
				med = (c % 2) ? x[(c + 1) / 2] : (x[c / 2] + x[c / 2 + 1]) / 2
				printf "| %s | %.2f | %d |\n", k, med, c
			}
		}'
	}
	for what in multi single bare; do
		label "$what"
		echo
		echo "| phase | median ms | runs |"
		echo "|---|---:|---:|"
		phases $what "$P/perf-$what.txt"
		echo
	done
	echo "(Phases are medians taken separately, so they need not add up to the total exactly.)"
	echo

	echo "strace -c -f (syscall counts and system time of one single-id run; strace cannot follow"
	echo "the setuid newuidmap of a multi-id run):"
	# shellcheck disable=SC2086
	env -i $ENV strace -u "$BUSER" -c -f -o "$P/strace-c.txt" "$B" --root "$R" run -b "$SINGLE" p
	head -n 16 "$P/strace-c.txt" | sed 's/^/    /'
	echo

	echo "## 4. perf stat -r 30 (software counters, whole process tree)"
	echo
	for what in "bwrap-oci run (multi-id)" "bare bwrap (single-id)"; do
		if [ "$what" = "bare bwrap (single-id)" ]; then
			eval "set -- $BARE"
		else
			set -- "$B" --root "$R" run -b "$MULTI" p
		fi
		echo "$what:"
		as_user perf stat -r 30 -e task-clock,context-switches,cpu-migrations,page-faults "$@" 2>&1 >/dev/null |
			grep -E 'task-clock|context-switches|migrations|page-faults|elapsed' | sed 's/^ */    /'
	done
	echo

	echo "## 5. CPU time by process, system-wide ($TRACE_RUNS runs back to back, perf record -a at 4 kHz)"
	echo
	echo "Each sample is 0.25 ms of one CPU; kernel means the sample's instruction was in the kernel."
	echo "bwrap-oci is the runtime (all its threads), exe its userns keeper (run from /proc/self/exe),"
	echo "swapper the idle CPUs (perf's own start and end included). The loops are section 3's."
	echo
	for what in multi single bare; do
		perf record -q -a -F 4000 -e cpu-clock -o "$P/cpu-$what.data" \
			-- setpriv --reuid "$BUID" --regid "$BGID" --init-groups env -i $ENV sh "$P/trace-$what.sh" >/dev/null 2>&1
		label "$what"
		echo
		echo "| process | CPU ms per run | of it kernel |"
		echo "|---|---:|---:|"
		perf script -i "$P/cpu-$what.data" -F comm,ip 2>/dev/null | awk '
			NF >= 2 { ip = $NF; $NF = ""; sub(/ +$/, ""); sub(/^ +/, ""); c = $0
				s[c]++; if (ip ~ /^ffff/) k[c]++ }
			END { for (c in s) printf "%d\t%s\t%d\n", s[c], c, k[c] }' |
			sort -rn | head -n 6 | awk -F '\t' -v n="$TRACE_RUNS" '
			{ printf "| %s | %.2f | %.0f%% |\n", $2, $1 * 0.25 / n, 100 * $3 / $1 }'
		echo
	done

	echo "## 6. The network namespace lever (bench/netns-lever.c, $NETNS_BLOCKS blocks of 30 runs per arm)"
	echo
	if [ ! -x "$P/netns-lever" ]; then
		echo "(skipped: bench/netns-lever.c is written for x86_64, and this is $(uname -m))"
		exit 0
	fi
	echo "bwrap started three ways from a C parent, each block with namespaces made before it, as the"
	echo "userns keeper makes them ahead of a run (see the header of bench/netns-lever.c). What the"
	echo "container sees, one run each (capabilities, descriptors, loopback):"
	echo
	OPTS=$(echo "$BARE" | sed 's/ --unshare-user --uid [0-9]* --gid [0-9]* / /; s| -- /bin/true$||')
	eval "set -- $OPTS"
	as_user "$P/netns-lever" -check 1 1 "$@" -- /bin/sh -c \
		'grep -E "^Cap(Eff|Bnd)" /proc/self/status | tr "\t\n" "  "; echo "fds: $(ls /proc/self/fd | tr "\n" " ")"; ip -o link show lo | cut -d" " -f2-3' |
		sed 's/^/    /'
	echo
	echo "| arm | median ms | p25 ms | runs |"
	echo "|---|---:|---:|---:|"
	as_user "$P/netns-lever" "$NETNS_BLOCKS" 30 "$@" -- /bin/true
	exit 0
fi

[ "$(id -u)" -eq 0 ] || {
	echo "bench/profile.sh: must run as root" >&2
	exit 1
}
cd "$(dirname "$0")/.."
command -v strace >/dev/null 2>&1 && command -v perf >/dev/null 2>&1 && command -v gcc >/dev/null 2>&1 || {
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends strace linux-perf gcc libc6-dev >/dev/null
}
BENCH_SETUP_ONLY=1 sh bench/run.sh
mkdir -p "$P"
rm -f "$P/netns-lever"
# Its ptrace arm is written for x86_64 only; elsewhere section 6 is skipped.
[ "$(uname -m)" != x86_64 ] || gcc -O2 -Wall -o "$P/netns-lever" bench/netns-lever.c
. "$W/env.sh"
chown "$BUID:$BGID" "$P"
echo "# bwrap-oci profile ($(date -u '+%Y-%m-%d %H:%M UTC'), bwrap-oci $REVDESC)"
echo
# shellcheck disable=SC2016
nice -n "${BENCH_NICE:--10}" unshare -m sh -c '
	if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified || exit 1; fi
	shift; exec "$@"' sh -- env BENCH_DIR="$W" PROFILE_RUNS="$RUNS" PROFILE_TRACE_RUNS="$TRACE_RUNS" PROFILE_NETNS_BLOCKS="$NETNS_BLOCKS" sh "$(pwd)/bench/profile.sh" --in-ns | tee "$P/profile.md"
