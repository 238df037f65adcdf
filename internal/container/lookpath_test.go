package container

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeRootfs builds a small rootfs:
//
//	/bin/sh            executable
//	/bin/noexec        not executable
//	/usr/bin/noexec    executable (a later PATH entry)
//	/bin/dir/          a directory
//	/opt/bin/tool      executable, outside the default PATH
//	/app/run.sh        executable
//	/bin/inside        -> /bin/sh (absolute, resolved in the rootfs)
//	/bin/escape        -> HOST/outside/tool (absolute host path)
//	/bin/escape-up     -> ../../outside/tool (relative, climbing out)
//
// and HOST/outside/tool, an executable outside the rootfs.
func fakeRootfs(t *testing.T) (rootfs, host string) {
	t.Helper()
	host = t.TempDir()
	rootfs = filepath.Join(host, "rootfs")
	files := map[string]os.FileMode{
		"bin/sh":          0o755,
		"bin/noexec":      0o644,
		"usr/bin/noexec":  0o755,
		"opt/bin/tool":    0o755,
		"app/run.sh":      0o755,
		"sbin/onlyread":   0o600,
		"../outside/tool": 0o755,
	}
	for name, mode := range files {
		p := filepath.Join(rootfs, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(rootfs, "bin", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"bin/inside":    "/bin/sh",
		"bin/escape":    filepath.Join(host, "outside", "tool"),
		"bin/escape-up": "../../outside/tool",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(rootfs, name)); err != nil {
			t.Fatal(err)
		}
	}
	return rootfs, host
}

func noMounts(string) bool { return false }

func TestLookPathFound(t *testing.T) {
	rootfs, _ := fakeRootfs(t)
	for _, c := range []struct {
		name, cwd string
		env       []string
	}{
		{"sh", "/", nil}, // default PATH
		{"sh", "/", []string{"PATH=/usr/bin:/bin"}},      // PATH from env
		{"/bin/sh", "/", nil},                            // absolute
		{"./run.sh", "/app", nil},                        // relative to cwd
		{"run.sh", "/app", []string{"PATH=/bin::/sbin"}}, // empty PATH entry: cwd
		{"run.sh", "/app", []string{"PATH=bin:."}},       // relative PATH entry: cwd
		{"tool", "/", []string{"PATH=/opt/bin"}},
		{"noexec", "/", []string{"PATH=/bin:/usr/bin"}}, // skips the unexecutable one
		{"inside", "/", []string{"PATH=/bin"}},          // symlink inside the rootfs
		{"/bin/inside", "/", nil},
	} {
		if err := lookPath(rootfs, c.cwd, c.name, c.env, "config.json", noMounts); err != nil {
			t.Errorf("lookPath(%q, cwd %s, env %v) = %v, want found", c.name, c.cwd, c.env, err)
		}
	}
}

// notFound checks the error contract for a process.args[0] that cannot be
// executed: *NotFoundError, the file named, the text and the exit status.
func notFound(t *testing.T, err error, name, text string, code int) {
	t.Helper()
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		t.Errorf("lookPath(%q) = %v, want a *NotFoundError", name, err)
		return
	}
	msg := err.Error()
	for _, w := range []string{"/b/config.json", "process.args[0]", `"` + name + `"`, text} {
		if !strings.Contains(msg, w) {
			t.Errorf("lookPath(%q): error %q does not contain %q", name, msg, w)
		}
	}
	if nf.ExitCode() != code {
		t.Errorf("lookPath(%q): exit code %d, want %d", name, nf.ExitCode(), code)
	}
}

func TestLookPathNotFound(t *testing.T) {
	rootfs, _ := fakeRootfs(t)
	for _, c := range []struct {
		name string
		env  []string
		text string
	}{
		{"nope", nil, "executable file not found in $PATH"},
		{"tool", nil, "executable file not found in $PATH"}, // /opt/bin is not in the default PATH
		{"sh", []string{"PATH=/opt/bin"}, "executable file not found in $PATH"},
		{"dir", []string{"PATH=/bin"}, "executable file not found in $PATH"}, // a directory
		{"/bin/nope", nil, "no such file or directory"},
		{"/bin/dir", nil, "no such file or directory"},
	} {
		notFound(t, lookPath(rootfs, "/", c.name, c.env, "/b/config.json", noMounts), c.name, c.text, 127)
	}
}

func TestLookPathDenied(t *testing.T) {
	rootfs, _ := fakeRootfs(t)
	for _, c := range []struct {
		name string
		env  []string
	}{
		{"noexec", []string{"PATH=/bin"}},
		{"/bin/noexec", nil},
		{"onlyread", []string{"PATH=/sbin:/bin"}},
	} {
		notFound(t, lookPath(rootfs, "/", c.name, c.env, "/b/config.json", noMounts), c.name, "permission denied", 126)
	}
}

// TestLookPathMounted: a path under a mount cannot be checked from outside
// and is let through; bwrap reports it.
func TestLookPathMounted(t *testing.T) {
	rootfs, _ := fakeRootfs(t)
	mounted := func(p string) bool { return p == "/mnt" || strings.HasPrefix(p, "/mnt/") }
	if err := lookPath(rootfs, "/", "/mnt/tool", nil, "/b/config.json", mounted); err != nil {
		t.Errorf("lookPath of a path under a mount = %v, want it let through", err)
	}
	if err := lookPath(rootfs, "/", "tool", []string{"PATH=/mnt/bin"}, "/b/config.json", mounted); err != nil {
		t.Errorf("lookPath through a PATH entry under a mount = %v, want it let through", err)
	}
	// The mount check must not let through what is not under it.
	notFound(t, lookPath(rootfs, "/", "/mntx/tool", nil, "/b/config.json", mounted), "/mntx/tool", "no such file or directory", 127)
}

// TestLookPathSymlinkEscape: a symlink pointing out of the rootfs is
// resolved inside it, so an executable on the host does not count.
func TestLookPathSymlinkEscape(t *testing.T) {
	rootfs, host := fakeRootfs(t)
	for _, l := range []string{"escape", "escape-up"} {
		if fi, err := os.Stat(filepath.Join(rootfs, "bin", l)); err != nil || fi.Mode()&0o111 == 0 {
			t.Fatalf("test set-up: /bin/%s should reach an executable on the host (%v)", l, err)
		}
	}
	for _, name := range []string{"escape", "escape-up", "/bin/escape", "/bin/escape-up"} {
		err := lookPath(rootfs, "/", name, []string{"PATH=/bin"}, "/b/config.json", noMounts)
		if err == nil {
			t.Errorf("lookPath(%q) found %s through a symlink out of the rootfs", name, filepath.Join(host, "outside", "tool"))
			continue
		}
		want := "executable file not found in $PATH"
		if strings.Contains(name, "/") {
			want = "no such file or directory"
		}
		notFound(t, err, name, want, 127)
	}
	// The same target created inside the rootfs is found.
	inside := filepath.Join(rootfs, host, "outside", "tool")
	if err := os.MkdirAll(filepath.Dir(inside), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inside, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := lookPath(rootfs, "/", "escape", []string{"PATH=/bin"}, "/b/config.json", noMounts); err != nil {
		t.Errorf("lookPath(escape) with its target inside the rootfs = %v, want found", err)
	}
}

func TestBeforeRootRemount(t *testing.T) {
	got := beforeRootRemount([]string{"--bind", "/r", "/", "--remount-ro", "/", "--chdir", "/"}, "--bind", "/x", "/run/x")
	want := []string{"--bind", "/r", "/", "--bind", "/x", "/run/x", "--remount-ro", "/", "--chdir", "/"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %q, want %q", got, want)
	}
	got = beforeRootRemount([]string{"--bind", "/r", "/"}, "--tmpfs", "/t")
	if strings.Join(got, " ") != "--bind /r / --tmpfs /t" {
		t.Errorf("without a read-only root: %q", got)
	}
}
