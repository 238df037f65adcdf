package e2e

// `bwrap-oci generate systemd`: the unit for a busybox bundle and for a
// bundle whose process is /sbin/init -> systemd, checked by
// `systemd-analyze --user verify` (systemd need not run) and by running the
// unit's own command lines as the test user.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// needSystemdAnalyze finds systemd-analyze, installing the systemd package
// as root; it skips (fails under CI) without it.
func needSystemdAnalyze(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("systemd-analyze")
	if err != nil && os.Geteuid() == 0 {
		if err := aptInstall("systemd"); err != nil {
			t.Logf("installing systemd: %v", err)
		}
		p, err = exec.LookPath("systemd-analyze")
	}
	if err != nil {
		if ciMode() {
			t.Fatal("systemd-analyze not found (package systemd); CI=true, so not skipping")
		}
		t.Skip("systemd-analyze not found (apt-get install systemd)")
	}
	return p
}

// verifyUnit runs `systemd-analyze --user verify` on a unit file and
// requires exit 0 and no output at all.
func verifyUnit(t *testing.T, analyze, file string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, analyze, "--user", "verify", file)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_RUNTIME_DIR="+t.TempDir(), "SYSTEMD_LOG_LEVEL=notice")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("systemd-analyze --user verify %s: %v\n%s\n--- the unit:\n%s", filepath.Base(file), err, out, readFile(file))
	}
}

// unitSettings maps each setting of a unit file to its values, in order.
func unitSettings(text string) map[string][]string {
	m := map[string][]string{}
	for _, l := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			m[k] = append(m[k], v)
		}
	}
	return m
}

// execWords splits an Exec line the way systemd does (systemd.service(5)):
// an optional "-" prefix, words at unquoted blanks, double quotes grouping,
// C escapes, then "%%" is "%" and, after the executable, "$$" is "$".
func execWords(t *testing.T, line string) []string {
	t.Helper()
	line = strings.TrimPrefix(line, "-")
	var words []string
	for i := 0; i < len(line); {
		if line[i] == ' ' {
			i++
			continue
		}
		var w strings.Builder
		quoted := false
	word:
		for ; i < len(line); i++ {
			switch c := line[i]; {
			case c == '"':
				quoted = !quoted
			case c == ' ' && !quoted:
				break word
			case c == '\\' && i+1 < len(line) && line[i+1] == 'x' && i+3 < len(line):
				n, err := strconv.ParseUint(line[i+2:i+4], 16, 8)
				if err != nil {
					t.Fatalf("%s: bad escape", line)
				}
				w.WriteByte(byte(n))
				i += 3
			case c == '\\' && i+1 < len(line):
				w.WriteByte(line[i+1])
				i++
			default:
				w.WriteByte(c)
			}
		}
		s := strings.ReplaceAll(w.String(), "%%", "%")
		if len(words) > 0 {
			s = strings.ReplaceAll(s, "$$", "$")
		}
		words = append(words, s)
	}
	return words
}

// generateUnit runs `bwrap-oci generate systemd` as the test user (with
// the binary exe) and returns the unit file it wrote into the bundle.
func generateUnit(t *testing.T, exe string, b *bundle, id string) (file, text string) {
	t.Helper()
	dir := filepath.Join(b.dir, "units")
	if err := h.mkdirUser(dir); err != nil {
		t.Fatal(err)
	}
	r := asUser(t, execOpts{}, exe, "generate", "systemd", "--bundle", b.dir, "-o", dir, id)
	if r.code != 0 {
		t.Fatalf("generate systemd: %s", r.describe())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.service"))
	if len(files) != 1 {
		t.Fatalf("generate systemd -o %s wrote %v; %s", dir, files, r.describe())
	}
	if !strings.Contains(r.stderr, files[0]) {
		t.Errorf("generate systemd -o does not say what it wrote: %s", r.describe())
	}
	// Without -o, the same unit on standard output.
	if out := asUser(t, execOpts{}, exe, "generate", "systemd", "--bundle", b.dir, id); out.code != 0 || out.stdout != readFile(files[0]) {
		t.Errorf("generate systemd on stdout differs from the file: %s", out.describe())
	}
	return files[0], readFile(files[0])
}

func wantSettings(t *testing.T, text string, want map[string]string, absent ...string) {
	t.Helper()
	s := unitSettings(text)
	for k, v := range want {
		if len(s[k]) != 1 || s[k][0] != v {
			t.Errorf("%s=%q, want %q\n%s", k, s[k], v, text)
		}
	}
	for _, k := range absent {
		if len(s[k]) != 0 {
			t.Errorf("unexpected %s=%q\n%s", k, s[k], text)
		}
	}
}

// TestGenerateSystemd: a busybox bundle gives a Type=simple unit stopped by
// SIGTERM, whose commands run the container and clean up.
func TestGenerateSystemd(t *testing.T) {
	analyze := needSystemdAnalyze(t)
	b := newBundle(t)
	b.edit(func(s *specs.Spec) {
		shell(s, "echo hello from the unit")
		s.Process.Terminal = false
	})
	id := newID(t)
	file, text := generateUnit(t, h.bin, b, id)
	if filepath.Base(file) != "bwrap-oci-"+id+".service" {
		t.Errorf("unit file %s, want bwrap-oci-%s.service", file, id)
	}
	wantSettings(t, text, map[string]string{
		"Type": "simple", "KillMode": "mixed", "KillSignal": "SIGTERM", "SuccessExitStatus": "143",
		"WantedBy": "default.target", "Restart": "on-failure",
	}, "NotifyAccess", "Delegate", "Environment")
	verifyUnit(t, analyze, file)
	runUnit(t, text, b.dir, id, "hello from the unit")
}

// runUnit checks the unit's commands and runs them as the test user, as
// systemd would: ExecStartPre, ExecStart (which must print out), then
// ExecStopPost, after which the container is gone.
func runUnit(t *testing.T, text, bundleDir, id, out string) {
	t.Helper()
	exe, err := filepath.EvalSymlinks(h.bin)
	if err != nil {
		t.Fatal(err)
	}
	s := unitSettings(text)
	start := execWords(t, s["ExecStart"][0])
	if want := []string{"run", "--bundle", bundleDir, id}; len(start) != 5 || strings.Join(start[1:], "\x00") != strings.Join(want, "\x00") {
		t.Errorf("ExecStart=%s: words %q, want BWRAP-OCI %q", s["ExecStart"][0], start, want)
	}
	if got, err := filepath.EvalSymlinks(start[0]); err != nil || got != exe {
		t.Errorf("ExecStart runs %q (%v), want the binary under test %s", start[0], err, exe)
	}
	for _, k := range []string{"ExecStartPre", "ExecStopPost"} {
		if len(s[k]) != 1 || !strings.HasPrefix(s[k][0], "-") {
			t.Fatalf("%s=%q, want one command whose failure is ignored", k, s[k])
		}
		if w := execWords(t, s[k][0]); strings.Join(w[1:], " ") != "delete --force "+id {
			t.Errorf("%s=%s: words %q, want BWRAP-OCI delete --force %s", k, s[k][0], w, id)
		}
	}
	pre := execWords(t, s["ExecStartPre"][0])
	asUser(t, execOpts{}, pre[0], pre[1:]...)
	r := asUser(t, execOpts{}, start[0], start[1:]...)
	if r.code != 0 || !strings.Contains(r.stdout, out) {
		t.Errorf("ExecStart: %s", r.describe())
	}
	post := execWords(t, s["ExecStopPost"][0])
	asUser(t, execOpts{}, post[0], post[1:]...)
	if exists(statePath(id)) {
		t.Errorf("state of %s left after ExecStopPost", id)
	}
}

// TestGenerateSystemdInit: a process /sbin/init that resolves to systemd in
// the rootfs gives Type=notify, Delegate=yes and SIGRTMIN+3.
func TestGenerateSystemdInit(t *testing.T) {
	analyze := needSystemdAnalyze(t)
	b := newBundle(t)
	rootfs := filepath.Join(b.dir, "rootfs")
	if r := asUser(t, execOpts{}, "sh", "-c", `mkdir -p "$1/usr/lib/systemd" "$1/sbin" && cp "$1/bin/busybox" "$1/usr/lib/systemd/systemd" && rm -f "$1/sbin/init" && ln -s ../usr/lib/systemd/systemd "$1/sbin/init"`, "sh", rootfs); r.code != 0 {
		t.Fatalf("making /sbin/init -> systemd: %s", r.describe())
	}
	b.edit(func(s *specs.Spec) { s.Process.Args = []string{"/sbin/init"} })
	id := newID(t)
	file, text := generateUnit(t, h.bin, b, id)
	wantSettings(t, text, map[string]string{
		"Type": "notify", "NotifyAccess": "main", "Delegate": "yes",
		"KillMode": "mixed", "KillSignal": "SIGRTMIN+3", "SuccessExitStatus": "165",
	})
	verifyUnit(t, analyze, file)

	// The annotations override: no init, a stop signal of its own.
	b.edit(func(s *specs.Spec) {
		s.Annotations = map[string]string{"org.bwrap-oci.init": "none", "org.opencontainers.image.stopSignal": "SIGINT"}
	})
	_, text = generateUnit(t, h.bin, b, id)
	wantSettings(t, text, map[string]string{"Type": "simple", "KillSignal": "SIGINT"}, "Delegate", "NotifyAccess")
}

// TestGenerateSystemdOddPaths: a binary and a bundle whose paths have
// spaces, '%' and '$', and an ID with '+' (escaped in the unit's name):
// systemd-analyze accepts the unit (it checks the executable exists, so a
// wrong quoting of it fails) and the unit's commands run the container.
func TestGenerateSystemdOddPaths(t *testing.T) {
	analyze := needSystemdAnalyze(t)
	b := newBundle(t)
	b.edit(func(s *specs.Spec) {
		shell(s, "echo odd paths")
		s.Process.Terminal = false
	})
	odd := filepath.Join(h.base, "odd dir %h $HOME ${X} é;")
	if err := h.mkdirUser(odd); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(odd, "bundle 100%")
	if err := os.Rename(b.dir, dir); err != nil {
		t.Fatal(err)
	}
	b.dir, b.host = dir, filepath.Join(dir, "host")
	exe := filepath.Join(odd, "bwrap-oci")
	data, err := os.ReadFile(h.bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.writeFileUser(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(odd) })
	id := newID(t) + "+odd"
	t.Cleanup(func() { forceDelete(id) })

	file, text := generateUnit(t, exe, b, id)
	if want := `bwrap-oci-` + strings.TrimSuffix(id, "+odd") + `\x2bodd.service`; filepath.Base(file) != want {
		t.Errorf("unit file %s, want %s", filepath.Base(file), want)
	}
	verifyUnit(t, analyze, file)

	// Run its commands, with the copy of the binary.
	saved := h.bin
	h.bin = exe
	defer func() { h.bin = saved }()
	runUnit(t, text, dir, id, "odd paths")
}
