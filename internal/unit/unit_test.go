package unit

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bwrap-oci/bwrap-oci/internal/spec"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func opts(args ...string) Options {
	return Options{
		ID:     "web",
		Exe:    "/usr/bin/bwrap-oci",
		Bundle: "/home/u/bundles/web",
		Spec:   &specs.Spec{Process: &specs.Process{Args: args}, Annotations: map[string]string{}},
	}
}

// lines is the unit's settings, without comments and blank lines.
func lines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func has(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestGenerate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(o *Options)
		want    []string // settings present
		notWant []string // settings absent
		err     string   // substring of the error
	}{
		{
			name: "plain process: simple, SIGTERM",
			want: []string{
				"[Unit]", "Description=bwrap-oci container web", "RequiresMountsFor=/home/u/bundles/web",
				"[Service]", "Type=simple", "KillMode=mixed", "KillSignal=SIGTERM", "SuccessExitStatus=143",
				"ExecStartPre=-/usr/bin/bwrap-oci delete --force web",
				"ExecStart=/usr/bin/bwrap-oci run --bundle /home/u/bundles/web web",
				"ExecStopPost=-/usr/bin/bwrap-oci delete --force web",
				"Restart=on-failure", "[Install]", "WantedBy=default.target",
			},
			notWant: []string{"Type=notify", "NotifyAccess=main", "Delegate=yes"},
		},
		{
			name:    "init: notify, delegated, SIGRTMIN+3",
			edit:    func(o *Options) { o.Init = true },
			want:    []string{"Type=notify", "NotifyAccess=main", "Delegate=yes", "KillSignal=SIGRTMIN+3", "SuccessExitStatus=165"},
			notWant: []string{"Type=simple"},
		},
		{
			name:    "notify annotation without an init",
			edit:    func(o *Options) { o.Spec.Annotations[NotifyAnnotation] = "true" },
			want:    []string{"Type=notify", "NotifyAccess=main", "KillSignal=SIGTERM"},
			notWant: []string{"Delegate=yes"},
		},
		{
			name: "notify annotation false for an init",
			edit: func(o *Options) {
				o.Init = true
				o.Spec.Annotations[NotifyAnnotation] = "false"
			},
			want:    []string{"Type=simple", "Delegate=yes", "KillSignal=SIGRTMIN+3"},
			notWant: []string{"Type=notify"},
		},
		{
			name: "bad notify annotation",
			edit: func(o *Options) { o.Spec.Annotations[NotifyAnnotation] = "yes please" },
			err:  NotifyAnnotation,
		},
		{
			name: "stop signal from the annotation",
			edit: func(o *Options) { o.Spec.Annotations[StopSignalAnnotation] = "SIGINT" },
			want: []string{"KillSignal=SIGINT", "SuccessExitStatus=130"},
		},
		{
			name: "stop signal by number",
			edit: func(o *Options) { o.Spec.Annotations[StopSignalAnnotation] = "10" },
			want: []string{"KillSignal=SIGUSR1", "SuccessExitStatus=138"},
		},
		{
			name: "stop signal without SIG, lower case",
			edit: func(o *Options) { o.Spec.Annotations[StopSignalAnnotation] = "rtmin+3" },
			want: []string{"KillSignal=SIGRTMIN+3"},
		},
		{
			name: "stop signal from RTMAX",
			edit: func(o *Options) { o.Spec.Annotations[StopSignalAnnotation] = "SIGRTMAX-2" },
			want: []string{"KillSignal=SIGRTMAX-2", "SuccessExitStatus=190"},
		},
		{
			name: "the annotation wins over the init's default",
			edit: func(o *Options) {
				o.Init = true
				o.Spec.Annotations[StopSignalAnnotation] = "SIGTERM"
			},
			want: []string{"KillSignal=SIGTERM", "Type=notify"},
		},
		{
			name: "unknown stop signal",
			edit: func(o *Options) { o.Spec.Annotations[StopSignalAnnotation] = "SIGFOO" },
			err:  StopSignalAnnotation,
		},
		{
			name: "reserved stop signal",
			edit: func(o *Options) {
				o.Config = "/home/u/web.json"
				o.Spec.Annotations[StopSignalAnnotation] = "32"
			},
			err: "/home/u/web.json: annotations.org.opencontainers.image.stopSignal: signal 32 is reserved",
		},
		{
			name: "SIGRTMIN cannot be forwarded",
			edit: func(o *Options) { o.Spec.Annotations[StopSignalAnnotation] = "RTMIN" },
			err:  "/home/u/bundles/web/config.json: annotations.org.opencontainers.image.stopSignal: SIGRTMIN (34) ends bwrap-oci run",
		},
		{
			name: "SIGRTMIN by number",
			edit: func(o *Options) { o.Spec.Annotations[StopSignalAnnotation] = "34" },
			err:  "choose another stop signal",
		},
		{
			name: "SIGRTMIN+1 is forwarded",
			edit: func(o *Options) { o.Spec.Annotations[StopSignalAnnotation] = "35" },
			want: []string{"KillSignal=SIGRTMIN+1"},
		},
		{
			name: "runtime flags",
			edit: func(o *Options) {
				o.Root = "/run/user/1000/other"
				o.Bwrap = "/opt/bwrap"
				o.Config = "/home/u/web.json"
			},
			want: []string{
				"ExecStart=/usr/bin/bwrap-oci --root /run/user/1000/other --bwrap /opt/bwrap run --bundle /home/u/bundles/web --config /home/u/web.json web",
				"ExecStopPost=-/usr/bin/bwrap-oci --root /run/user/1000/other --bwrap /opt/bwrap delete --force web",
			},
		},
		{
			name: "default bwrap is not repeated",
			edit: func(o *Options) { o.Bwrap = "bwrap" },
			want: []string{"ExecStart=/usr/bin/bwrap-oci run --bundle /home/u/bundles/web web"},
		},
		{
			name: "restart policy",
			edit: func(o *Options) { o.Restart = "always" },
			want: []string{"Restart=always"},
		},
		{
			name: "bad restart policy",
			edit: func(o *Options) { o.Restart = "sometimes" },
			err:  "restart policy",
		},
		{
			name: "odd paths are quoted",
			edit: func(o *Options) {
				o.Exe = "/home/u/my bin/100%/bwrap-oci"
				o.Bundle = `/home/u/a "b" $HOME\x` + "\t%n"
			},
			want: []string{
				`ExecStart="/home/u/my bin/100%%/bwrap-oci" run --bundle "/home/u/a \"b\" $$HOME\\x\x09%%n" web`,
				`ExecStopPost=-"/home/u/my bin/100%%/bwrap-oci" delete --force web`,
			},
			notWant: []string{"RequiresMountsFor="}, // a tab cannot be written there
		},
		{
			name: "mounts with spaces",
			edit: func(o *Options) { o.Bundle = "/home/u/my bundles/50%" },
			want: []string{`RequiresMountsFor="/home/u/my bundles/50%%"`},
		},
		{
			name: "an executable systemd cannot run",
			edit: func(o *Options) { o.Exe = `/home/u/"q"/bwrap-oci` },
			err:  "systemd cannot run",
		},
		{
			name: "ID with +",
			edit: func(o *Options) { o.ID = "a+b" },
			want: []string{"ExecStart=/usr/bin/bwrap-oci run --bundle /home/u/bundles/web a+b", "Description=bwrap-oci container a+b"},
		},
		{name: "empty ID", edit: func(o *Options) { o.ID = "" }, err: "invalid container ID"},
		{name: "ID with a slash", edit: func(o *Options) { o.ID = "a/b" }, err: "invalid container ID"},
		{name: "ID with a space", edit: func(o *Options) { o.ID = "a b" }, err: "invalid container ID"},
		{name: "ID ..", edit: func(o *Options) { o.ID = ".." }, err: "invalid container ID"},
		{name: "ID like a flag", edit: func(o *Options) { o.ID = "-rf" }, err: "invalid container ID"},
		{name: "ID too long", edit: func(o *Options) { o.ID = strings.Repeat("a", 256) }, err: "invalid container ID"},
		{name: "ID too long for a unit name", edit: func(o *Options) { o.ID = strings.Repeat("a", 250) }, err: "--name"},
		{
			name: "long ID with a name",
			edit: func(o *Options) { o.ID, o.Name = strings.Repeat("a", 250), "web" },
			want: []string{"Description=bwrap-oci container " + strings.Repeat("a", 250)},
		},
		{name: "relative bundle", edit: func(o *Options) { o.Bundle = "bundles/web" }, err: "not absolute"},
		{name: "relative binary", edit: func(o *Options) { o.Exe = "bwrap-oci" }, err: "not absolute"},
		{name: "relative root", edit: func(o *Options) { o.Root = "state" }, err: "not absolute"},
		{name: "bad name", edit: func(o *Options) { o.Name = "my/unit" }, err: "invalid unit name"},
		{name: "no config", edit: func(o *Options) { o.Spec = nil }, err: "no config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := opts("/bin/sh")
			if tc.edit != nil {
				tc.edit(&o)
			}
			u, err := Generate(o)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			l := lines(u.Text)
			for _, w := range tc.want {
				if !has(l, w) {
					t.Errorf("missing %q in\n%s", w, u.Text)
				}
			}
			for _, w := range tc.notWant {
				for _, x := range l {
					if strings.HasPrefix(x, w) {
						t.Errorf("unexpected %q in\n%s", x, u.Text)
					}
				}
			}
			if !strings.HasSuffix(u.Text, "\n") {
				t.Error("no final newline")
			}
			for _, x := range l {
				if x[0] != '[' && !strings.Contains(x, "=") {
					t.Errorf("not a setting: %q", x)
				}
			}
			if !utf8.ValidString(u.Text) {
				t.Error("the unit is not valid UTF-8")
			}
		})
	}
}

func TestGenerateFields(t *testing.T) {
	o := opts("/sbin/init")
	o.Init = true
	u, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "bwrap-oci-web.service" || !u.Notify || !u.Delegate || u.KillSignal != "SIGRTMIN+3" {
		t.Errorf("unit = %+v", *u)
	}
	if !strings.HasPrefix(u.Text, "# bwrap-oci-web.service: ") {
		t.Errorf("header:\n%s", u.Text)
	}
	// The ID is the last word of every command.
	for _, l := range lines(u.Text) {
		if strings.HasPrefix(l, "Exec") && !strings.HasSuffix(l, " web") {
			t.Errorf("%q does not end with the ID", l)
		}
	}
}

func TestNames(t *testing.T) {
	for id, want := range map[string]string{
		"web":     "bwrap-oci-web.service",
		"a+b":     `bwrap-oci-a\x2bb.service`,
		"a_b.c-d": "bwrap-oci-a_b.c-d.service",
	} {
		if got := DefaultName(id); got != want {
			t.Errorf("DefaultName(%q) = %q, want %q", id, got, want)
		}
		if _, err := ServiceName(DefaultName(id)); err != nil {
			t.Errorf("DefaultName(%q) = %q is not a valid name: %v", id, DefaultName(id), err)
		}
	}
	for name, want := range map[string]string{
		"web":              "web.service",
		"web.service":      "web.service",
		"my-app:1.service": "my-app:1.service",
		"x.timer":          "x.timer.service",
		`a\x2bb`:           `a\x2bb.service`,
	} {
		if got, err := ServiceName(name); err != nil || got != want {
			t.Errorf("ServiceName(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, name := range []string{"", ".service", "a/b", "a b", "web@.service", "web@1", "é", strings.Repeat("a", 250)} {
		if got, err := ServiceName(name); err == nil {
			t.Errorf("ServiceName(%q) = %q, want an error", name, got)
		}
	}
}

func TestIsInit(t *testing.T) {
	links := map[string]string{
		"/sbin/init":                 "/rootfs/usr/lib/systemd/systemd",
		"/lib/systemd/systemd":       "/rootfs/usr/lib/systemd/systemd",
		"/usr/lib/systemd/systemd":   "/rootfs/usr/lib/systemd/systemd",
		"/bin/sh":                    "/rootfs/bin/busybox",
		"/usr/sbin/systemd-networkd": "/rootfs/usr/sbin/systemd-networkd",
	}
	resolve := func(p string) (string, error) {
		if h, ok := links[p]; ok {
			return h, nil
		}
		return "/rootfs" + p, nil
	}
	tests := []struct {
		args []string
		ann  map[string]string
		want bool
	}{
		{args: []string{"/sbin/init"}, want: true},
		{args: []string{"/lib/systemd/systemd", "--log-level=debug"}, want: true},
		{args: []string{"/bin/sh"}, want: false},
		{args: []string{"/usr/sbin/systemd-networkd"}, want: false},
		{args: []string{"systemd"}, want: false}, // not a path: not resolved
		{args: nil, want: false},
		{args: []string{"/sbin/init"}, ann: map[string]string{"org.bwrap-oci.init": "none"}, want: false},
		{args: []string{"/bin/sh"}, ann: map[string]string{"org.bwrap-oci.init": "systemd"}, want: true},
		{args: []string{"/bin/sh"}, ann: map[string]string{"org.bwrap-oci.init": "runit"}, want: false},
	}
	for _, tc := range tests {
		s := &specs.Spec{Process: &specs.Process{Args: tc.args}, Annotations: tc.ann}
		if got := IsInit(s, resolve); got != tc.want {
			t.Errorf("IsInit(%q, %v) = %v, want %v", tc.args, tc.ann, got, tc.want)
		}
	}
	failing := func(string) (string, error) { return "", errors.New("outside") }
	if IsInit(&specs.Spec{Process: &specs.Process{Args: []string{"/sbin/init"}}}, failing) {
		t.Error("IsInit with a path that does not resolve = true")
	}
	if IsInit(&specs.Spec{}, resolve) {
		t.Error("IsInit without a process = true")
	}
}

func TestExecLine(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"/usr/bin/bwrap-oci", "run", "--bundle", "/a/b", "id"}, "/usr/bin/bwrap-oci run --bundle /a/b id"},
		{[]string{"/a b/x", "a b"}, `"/a b/x" "a b"`},
		{[]string{"/x%/y", "%h", "$HOME", "${A}"}, `"/x%%/y" "%%h" "$$HOME" "$${A}"`},
		{[]string{"/$x", "a"}, `"/$x" a`}, // the executable is not expanded
		{[]string{"/x", ";"}, `/x ";"`},
		{[]string{"/x", ""}, `/x ""`},
		{[]string{"/x", `a"b'c\d`}, `/x "a\"b'c\\d"`},
		{[]string{"/x", "a\nb\x7f"}, `/x "a\x0ab\x7f"`},
		{[]string{"/x", "\xff"}, `/x "\xff"`},
		{[]string{"/é", "é"}, `"/é" "é"`},
	}
	for _, tc := range tests {
		got, err := ExecLine(tc.args)
		if err != nil || got != tc.want {
			t.Errorf("ExecLine(%q) = %s, %v; want %s", tc.args, got, err, tc.want)
		}
		if back := parseExec(t, got); fmt.Sprintf("%q", back) != fmt.Sprintf("%q", tc.args) {
			t.Errorf("parsing %s gives %q, want %q", got, back, tc.args)
		}
	}
	for _, exe := range []string{`/a"b`, "/a'b", `/a\b`, "/a\tb", "/a\xffb", ""} {
		if got, err := ExecLine([]string{exe, "x"}); err == nil {
			t.Errorf("ExecLine(%q) = %s, want an error", exe, got)
		}
	}
	if _, err := ExecLine(nil); err == nil {
		t.Error("ExecLine(nil): no error")
	}
}

// FuzzExecLine checks that systemd's rules give the arguments back.
func FuzzExecLine(f *testing.F) {
	for _, s := range []string{"", "a b", `"'\`, "%%$$", "\x00\x01\xff", "é ;", "$HOME ${X}", "%h %n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		if strings.IndexByte(arg, 0) >= 0 {
			return
		}
		line, err := ExecLine([]string{"/usr/bin/bwrap-oci", arg, "x"})
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(line, "\n\r") || !utf8.ValidString(line) {
			t.Fatalf("%q: not one valid line", line)
		}
		back := parseExec(t, line)
		if len(back) != 3 || back[1] != arg || back[2] != "x" {
			t.Fatalf("ExecLine(%q) = %s, parsed back as %q", arg, line, back)
		}
	})
}

// parseExec reads an Exec line as systemd does (systemd.service(5),
// "Command lines"): words are split at unquoted whitespace, double quotes
// group, C escapes are undone (\\ \" \xNN \n ...), then "%%" is "%" and,
// in the arguments, "$$" is "$".
func parseExec(t testing.TB, line string) []string {
	var words []string
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i == len(line) {
			break
		}
		var w strings.Builder
		quoted := false
		for i < len(line) {
			c := line[i]
			switch {
			case c == '"':
				quoted = !quoted
				i++
				continue
			case !quoted && (c == ' ' || c == '\t'):
			case c == '\\':
				if i+1 >= len(line) {
					t.Fatalf("%s: trailing backslash", line)
				}
				switch e := line[i+1]; e {
				case 'x':
					n, err := strconv.ParseUint(line[i+2:i+4], 16, 8)
					if err != nil {
						t.Fatalf("%s: bad \\x", line)
					}
					w.WriteByte(byte(n))
					i += 4
				case 'n':
					w.WriteByte('\n')
					i += 2
				case 't':
					w.WriteByte('\t')
					i += 2
				default:
					w.WriteByte(e)
					i += 2
				}
				continue
			default:
				w.WriteByte(c)
				i++
				continue
			}
			break
		}
		if quoted {
			t.Fatalf("%s: unterminated quote", line)
		}
		s := strings.ReplaceAll(w.String(), "%%", "%")
		if len(words) > 0 {
			s = strings.ReplaceAll(s, "$$", "$")
		}
		words = append(words, s)
	}
	return words
}

func TestMountPath(t *testing.T) {
	for p, want := range map[string]string{
		"/a/b":     "/a/b",
		"/a b/%h":  `"/a b/%%h"`,
		`/a"b\c`:   `"/a\"b\\c"`,
		"/é/$HOME": `"/é/$HOME"`,
	} {
		if got, ok := MountPath(p); !ok || got != want {
			t.Errorf("MountPath(%q) = %s, %v; want %s", p, got, ok, want)
		}
	}
	for _, p := range []string{"/a\tb", "/a\nb", "/a\xffb"} {
		if got, ok := MountPath(p); ok {
			t.Errorf("MountPath(%q) = %s, want none", p, got)
		}
	}
}

// TestDemoUnits: the units in demos/systemd-user are what Generate writes
// for the demos' bundles, with %h for the home directory.
func TestDemoUnits(t *testing.T) {
	const home = "/home/demo-user"
	demos := []struct {
		id   string
		init bool
		ann  map[string]string
		args []string
	}{
		{"systemd-demo", true, map[string]string{StopSignalAnnotation: "SIGRTMIN+3"}, []string{"/sbin/init"}},
		{"etcd-demo", false, map[string]string{StopSignalAnnotation: "SIGTERM", NotifyAnnotation: "true"}, []string{"/usr/bin/etcd"}},
	}
	for _, d := range demos {
		u, err := Generate(Options{
			ID:     d.id,
			Exe:    home + "/.cache/bwrap-oci/bin/bwrap-oci",
			Bundle: home + "/.cache/bwrap-oci/demos/" + d.id,
			Spec:   &specs.Spec{Process: &specs.Process{Args: d.args}, Annotations: d.ann},
			Init:   d.init,
		})
		if err != nil {
			t.Fatal(err)
		}
		want := strings.ReplaceAll(u.Text, home, "%h")
		file := filepath.Join("..", "..", "demos", "systemd-user", u.Name)
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(string(data), want) {
			t.Errorf("%s does not end with what Generate writes:\n%s", file, want)
		}
	}
}

func TestFromBundle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my bundle")
	for _, d := range []string{"rootfs/sbin", "rootfs/usr/lib/systemd", "rootfs/bin"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"rootfs/usr/lib/systemd/systemd", "rootfs/bin/busybox"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../usr/lib/systemd/systemd", filepath.Join(dir, "rootfs/sbin/init")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("busybox", filepath.Join(dir, "rootfs/bin/sh")); err != nil {
		t.Fatal(err)
	}
	write := func(args ...string) {
		s := spec.Default(false, nil, nil)
		s.Process.Args = args
		data, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	write("/sbin/init")
	t.Chdir(filepath.Dir(dir))
	o, err := FromBundle(BundleOptions{Bundle: "my bundle", Exe: "/usr/bin/bwrap-oci", Root: "state", Bwrap: "./bwrap"})
	if err != nil {
		t.Fatal(err)
	}
	if !o.Init || o.ID != "my bundle" || o.Bundle != dir || o.Root != filepath.Join(filepath.Dir(dir), "state") ||
		o.Bwrap != filepath.Join(filepath.Dir(dir), "bwrap") || o.Config != "" {
		t.Errorf("FromBundle = %+v", o)
	}
	// "my bundle" is no valid ID: Generate says so.
	if _, err := Generate(o); err == nil || !strings.Contains(err.Error(), "invalid container ID") {
		t.Errorf("Generate with ID %q: %v", o.ID, err)
	}

	write("/bin/sh")
	o, err = FromBundle(BundleOptions{Bundle: dir, ID: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Init || o.ID != "web" || o.Bwrap != "" {
		t.Errorf("FromBundle = %+v", o)
	}
	exe, _ := os.Executable()
	if o.Exe != exe {
		t.Errorf("Exe = %q, want this binary %q", o.Exe, exe)
	}

	if _, err := FromBundle(BundleOptions{Bundle: filepath.Join(dir, "nope")}); err == nil {
		t.Error("FromBundle of a missing bundle: no error")
	}
	if _, err := FromBundle(BundleOptions{Bundle: dir, Config: filepath.Join(dir, "other.json")}); err == nil {
		t.Error("FromBundle with a missing config: no error")
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	u := &Unit{Name: "bwrap-oci-web.service", Text: "[Unit]\n"}
	p, err := Write(u, dir)
	if err != nil || p != filepath.Join(dir, u.Name) {
		t.Fatalf("Write to a directory = %q, %v", p, err)
	}
	if data, _ := os.ReadFile(p); string(data) != u.Text {
		t.Errorf("wrote %q", data)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", fi.Mode())
	}
	p, err = Write(u, filepath.Join(dir, "other.service"))
	if err != nil || p != filepath.Join(dir, "other.service") {
		t.Fatalf("Write to a file = %q, %v", p, err)
	}
	if _, err := Write(u, filepath.Join(dir, "missing", "x.service")); err == nil {
		t.Error("Write into a missing directory: no error")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("left in %s: %v", dir, ents)
	}
}
