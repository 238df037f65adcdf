package bwrap

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestRealHost(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	for _, d := range []string{root + "/etc", root + "/usr"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(root+"/etc/f", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"abs": "/etc", "up": "../../../..", "rel": "usr"} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	h := RealHost{}
	kinds := map[string]Kind{root: Dir, root + "/etc/f": File, root + "/nope": Missing, root + "/rel": Dir, "/dev/null": File}
	for p, want := range kinds {
		if got := h.Kind(p); got != want {
			t.Errorf("Kind(%s) = %v, want %v", p, got, want)
		}
	}
	// Symlinks resolve inside root, as they would in the container.
	ins := map[string]string{"/etc/f": root + "/etc/f", "/abs/f": root + "/etc/f", "/up/etc": root + "/etc", "/rel": root + "/usr", "/../..": root}
	for p, want := range ins {
		if got, err := h.InRoot(root, p); err != nil || got != want {
			t.Errorf("InRoot(%s) = %s, %v; want %s", p, got, err, want)
		}
	}
	if !h.Device("/dev/null", "c", 1, 3) {
		t.Error("/dev/null is not c 1:3")
	}
	for _, c := range []struct {
		p, typ       string
		major, minor int64
	}{{"/dev/null", "b", 1, 3}, {"/dev/null", "c", 1, 5}, {root + "/etc/f", "c", 0, 0}, {root + "/nope", "c", 1, 3}} {
		if h.Device(c.p, c.typ, c.major, c.minor) {
			t.Errorf("Device(%s, %s, %d, %d) = true", c.p, c.typ, c.major, c.minor)
		}
	}
}

func TestProbe(t *testing.T) {
	if _, err := exec.LookPath("bwrap"); err != nil {
		t.Skip("no bwrap installed")
	}
	bin, err := Find("bwrap")
	if err != nil || !filepath.IsAbs(bin) {
		t.Fatalf("Find = %q, %v", bin, err)
	}
	cache := filepath.Join(t.TempDir(), "features.json")
	f, err := Probe(bin, cache)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version == "" || !f.Options["--bind"] || !f.Options["--unshare-user"] || f.LastCap <= 0 {
		t.Errorf("Probe = %+v", f)
	}
	if _, err := os.Stat(cache); err != nil {
		t.Errorf("no cache written: %v", err)
	}
	g, err := Probe(bin, cache)
	if err != nil || g.Version != f.Version || len(g.Options) != len(f.Options) || g.LastCap != f.LastCap {
		t.Errorf("cached Probe = %+v, %v; want %+v", g, err, f)
	}
	if _, err := Find(filepath.Join(t.TempDir(), "no-bwrap")); err == nil {
		t.Error("Find of a missing binary succeeded")
	}
	if _, err := Probe(filepath.Join(t.TempDir(), "no-bwrap"), ""); err == nil {
		t.Error("Probe of a missing binary succeeded")
	}
}
