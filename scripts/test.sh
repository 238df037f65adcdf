#!/usr/bin/env bash
# test.sh - set up the host (as root) and run every check and test suite.
#
#   sudo ./scripts/test.sh            # fresh machine: set-up + everything
#   ./scripts/test.sh                 # as a user with a /etc/subuid range
#   ./scripts/test.sh -run 'Kill|Exit' # only matching tests
#
# As root: runs scripts/setup-host.sh, then runs the end-to-end suite as the
# unprivileged test user $BWRAP_OCI_E2E_USER (default bwoci), then the Podman
# end-to-end test (e2e/podman_test.sh, rootless and root). As any other
# user: skips set-up and the Podman test and runs the suites as that user.
#
# Options:
#   -run REGEX    passed to "go test -run" (unit and end-to-end); skips Podman
#   -e2e-only     skip gofmt, go vet, the unit tests and fuzzing
#   -no-e2e       skip the end-to-end suites (Go and Podman)
#   -no-podman    skip the Podman end-to-end test
#   -no-fuzz      skip the fuzzing step (each fuzz target for $FUZZTIME, 10s)
set -uo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)

usage() {
	sed -n '2,19s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

run_re=""
do_lint=1
do_unit=1
do_e2e=1
do_podman=1
do_fuzz=1
while [ $# -gt 0 ]; do
	case $1 in
	-run | --run)
		[ $# -ge 2 ] || usage
		run_re=$2
		shift 2
		;;
	-run=* | --run=*)
		run_re=${1#*=}
		shift
		;;
	-e2e-only | --e2e-only)
		do_lint=0 do_unit=0
		shift
		;;
	-no-e2e | --no-e2e)
		do_e2e=0
		shift
		;;
	-no-podman | --no-podman)
		do_podman=0
		shift
		;;
	-no-fuzz | --no-fuzz)
		do_fuzz=0
		shift
		;;
	-h | -help | --help) usage ;;
	*)
		echo "test.sh: unknown argument: $1" >&2
		usage
		;;
	esac
done

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="$PATH:/usr/local/go/bin"
fi

summary=()
failed=0
logdir=$(mktemp -d -t bwrap-oci-test.XXXXXX)
trap 'rm -rf "$logdir"' EXIT

# step NAME CMD...: run CMD, record PASS/FAIL and the time it took.
step() {
	local name=$1 start rc
	shift
	echo
	echo "=== $name"
	start=$(date +%s)
	"$@"
	rc=$?
	local secs=$(($(date +%s) - start))
	if [ $rc -eq 0 ]; then
		summary+=("PASS  $name (${secs}s)")
	else
		summary+=("FAIL  $name (${secs}s, exit $rc)")
		failed=1
	fi
	return $rc
}

skip() {
	summary+=("SKIP  $1${2:+ ($2)}")
}

print_summary() {
	echo
	echo "================ summary ================"
	printf '%s\n' "${summary[@]}"
	if [ -s "$logdir/e2e.log" ]; then
		local fails
		fails=$(grep -E '^\s*--- FAIL' "$logdir/e2e.log" || true)
		if [ -n "$fails" ]; then
			echo "failed end-to-end tests:"
			echo "$fails"
		fi
		echo "end-to-end: $(grep -cE '^\s*--- PASS' "$logdir/e2e.log") passed," \
			"$(grep -cE '^\s*--- FAIL' "$logdir/e2e.log") failed," \
			"$(grep -cE '^\s*--- SKIP' "$logdir/e2e.log") skipped (incl. subtests)"
	fi
	if [ -s "$logdir/podman.log" ]; then
		local pfails
		pfails=$(grep -E '^not ok' "$logdir/podman.log" || true)
		if [ -n "$pfails" ]; then
			echo "failed Podman checks:"
			echo "$pfails"
		fi
		echo "podman: $(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$logdir/podman.log" | tail -n 1)"
	fi
	if [ $failed -eq 0 ]; then
		echo "RESULT: PASS"
	else
		echo "RESULT: FAIL"
	fi
}

command -v go >/dev/null 2>&1 || {
	echo "test.sh: go not found (looked in PATH and /usr/local/go/bin)" >&2
	exit 1
}

# --- set-up -----------------------------------------------------------------
if [ "$(id -u)" -eq 0 ]; then
	export BWRAP_OCI_E2E_USER="${BWRAP_OCI_E2E_USER:-bwoci}"
	if ! step "host set-up (scripts/setup-host.sh)" "$repo/scripts/setup-host.sh"; then
		print_summary
		exit 1
	fi
else
	skip "host set-up" "not root"
	me=$(id -un)
	if ! grep -qE "^($me|$(id -u)):" /etc/subuid 2>/dev/null; then
		echo "test.sh: warning: $me has no range in /etc/subuid;" \
			"the end-to-end tests will be skipped (run: sudo $0)" >&2
	fi
fi

if ! step "go mod download" go mod download; then
	print_summary
	exit 1
fi

# --- lint -------------------------------------------------------------------
gofmt_check() {
	local out
	out=$(gofmt -l . 2>&1)
	if [ -n "$out" ]; then
		echo "gofmt -l: these files need formatting:"
		echo "$out"
		return 1
	fi
}
if [ $do_lint -eq 1 ]; then
	step "gofmt -l" gofmt_check
	step "go vet ./..." go vet ./...
else
	skip "gofmt / go vet" "-e2e-only"
fi

# --- unit tests -------------------------------------------------------------
unit_tests() {
	local pkgs
	pkgs=$(go list ./...) || return 1
	pkgs=$(echo "$pkgs" | grep -v '/e2e$') || {
		echo "no unit-test packages"
		return 0
	}
	# shellcheck disable=SC2086
	go test ${run_re:+-run "$run_re"} $pkgs
}
if [ $do_unit -eq 1 ]; then
	step "unit tests (go test, excluding e2e)" unit_tests
else
	skip "unit tests" "-e2e-only"
fi

# --- fuzzing ----------------------------------------------------------------
# Every fuzz target runs for a short, fixed time; a crash (panic, failed
# check, hang) fails the step, and go test saves the input that caused it to
# the package's testdata/fuzz/<target>/ (commit it: it becomes a regression
# seed that every "go test" runs). The committed seeds there run first.
fuzztime=${FUZZTIME:-10s}
fuzz_targets=(
	"./internal/spec FuzzParse"         # config loading, validation and translation
	"./internal/spec FuzzFastParse"     # the fast decoder agrees with encoding/json
	"./internal/bwrap FuzzQuote"        # the dry-run command line
	"./internal/idmap FuzzParseSubID"   # /etc/subuid and /etc/subgid
	"./internal/idmap FuzzRule"         # the mapping rule
	"./internal/signals FuzzParse"      # signal names and numbers
	"./internal/seccomp FuzzCompile"    # linux.seccomp to BPF
	"./internal/unit FuzzExecLine"      # systemd unit ExecStart= lines
	"./internal/bwrap FuzzDecodeCache"  # the probe cache scanner agrees with encoding/json
	"./internal/state FuzzMarshalState" # state.json's encoder agrees with encoding/json
)
fuzz_tests() {
	local entry pkg target rc=0 file name dir
	# A fuzz target that is not in the list above fails the step: add it.
	while IFS=: read -r file name; do
		dir=./$(dirname "${file#./}")
		name=${name#func }
		name=${name%%(*}
		if ! printf '%s\n' "${fuzz_targets[@]}" | grep -qxF "$dir $name"; then
			echo "FAIL: fuzz target $name in $dir is not listed in scripts/test.sh (fuzz_targets)"
			rc=1
		fi
	done < <(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*(' . | grep -v '^\./vendor/')
	for entry in "${fuzz_targets[@]}"; do
		read -r pkg target _ <<<"$entry"
		echo "--- $target ($pkg, $fuzztime)"
		if ! fuzz_one "$pkg" "$target"; then
			echo "FAIL: fuzzing $target in $pkg"
			rc=1
		fi
	done
	return $rc
}
# fuzz_one fuzzes one target. Go 1.26's fuzzing coordinator can report
# "context deadline exceeded" as a failure when -fuzztime ends while a
# worker is busy (go.dev/issue/75804, fixed in Go 1.27): no input failed and
# none is written. That one outcome is retried once; anything else fails.
fuzz_one() {
	local out rc
	out=$(mktemp)
	go test -run '^$' -fuzz "^${2}\$" -fuzztime "$fuzztime" "$1" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	if [ "$rc" -ne 0 ] && fuzz_deadline_flake "$out"; then
		echo "--- $2: the fuzzing coordinator's deadline race (go.dev/issue/75804), no failing input: once more"
		go test -run '^$' -fuzz "^${2}\$" -fuzztime "$fuzztime" "$1"
		rc=$?
	fi
	rm -f "$out"
	return "$rc"
}
# fuzz_deadline_flake tells from a fuzzing log whether its only failure is
# the coordinator's deadline: "context deadline exceeded" right after the
# target's FAIL line, and no failing input, panic or test error.
fuzz_deadline_flake() {
	grep -q 'Failing input written to\|panic:\|_test\.go:[0-9]*:' "$1" && return 1
	[ "$(grep -c -- '--- FAIL' "$1")" -eq 1 ] || return 1
	grep -A1 -- '--- FAIL' "$1" | tail -n 1 | grep -qx '[[:space:]]*context deadline exceeded'
}
if [ $do_fuzz -eq 0 ]; then
	skip "fuzzing" "-no-fuzz"
elif [ $do_unit -eq 0 ]; then
	skip "fuzzing" "-e2e-only"
elif [ -n "$run_re" ]; then
	skip "fuzzing" "-run given"
else
	step "fuzzing (${#fuzz_targets[@]} targets, $fuzztime each)" fuzz_tests
fi

# --- end-to-end -------------------------------------------------------------
e2e_tests() {
	go test -count=1 -v -timeout 30m ${run_re:+-run "$run_re"} ./e2e/ 2>&1 |
		tee "$logdir/e2e.log"
	return "${PIPESTATUS[0]}"
}
if [ $do_e2e -eq 1 ]; then
	step "end-to-end tests (go test ./e2e/${BWRAP_OCI_E2E_USER:+ as $BWRAP_OCI_E2E_USER})" e2e_tests
else
	skip "end-to-end tests" "-no-e2e"
fi

# --- Podman -----------------------------------------------------------------
podman_tests() {
	"$repo/e2e/podman_test.sh" 2>&1 | tee "$logdir/podman.log"
	return "${PIPESTATUS[0]}"
}
if [ $do_e2e -eq 0 ]; then
	skip "Podman end-to-end test" "-no-e2e"
elif [ $do_podman -eq 0 ]; then
	skip "Podman end-to-end test" "-no-podman"
elif [ -n "$run_re" ]; then
	skip "Podman end-to-end test" "-run given"
elif [ "$(id -u)" -ne 0 ]; then
	skip "Podman end-to-end test" "not root; run e2e/podman_test.sh for rootless only"
else
	step "Podman end-to-end test (e2e/podman_test.sh, rootless as $BWRAP_OCI_E2E_USER and root)" podman_tests
fi

print_summary
exit $failed
