// Package unit writes systemd service units that run a bwrap-oci container
// as a service of the user's own service manager (systemctl --user).
//
// Generate is pure: everything it needs is in Options. FromBundle gathers
// those from a bundle (reading its config and resolving its process in the
// rootfs), and Write saves a unit.
package unit

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bwrap-oci/bwrap-oci/internal/bwrap"
	"github.com/bwrap-oci/bwrap-oci/internal/signals"
	"github.com/bwrap-oci/bwrap-oci/internal/spec"
	"github.com/bwrap-oci/bwrap-oci/internal/state"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const (
	// NotifyAnnotation says whether the container's process speaks
	// sd_notify ("true" or "false"): it overrides the init detection.
	NotifyAnnotation = "org.bwrap-oci.notify"
	// StopSignalAnnotation is the OCI image annotation naming the signal
	// that stops the container.
	StopSignalAnnotation = "org.opencontainers.image.stopSignal"
	// DefaultRestart is the unit's Restart= unless Options.Restart says
	// otherwise.
	DefaultRestart = "on-failure"
)

// restartValues are the values systemd accepts for Restart=.
var restartValues = []string{"no", "on-success", "on-failure", "on-abnormal", "on-watchdog", "on-abort", "always"}

// Options is everything a unit is made of.
type Options struct {
	ID     string // the container's ID
	Name   string // the unit's name; "" for DefaultName(ID)
	Exe    string // absolute path of the bwrap-oci binary
	Bundle string // absolute path of the bundle
	Config string // absolute path of the config file; "" for BUNDLE/config.json
	Root   string // absolute state root passed as --root; "" for the default
	Bwrap  string // bwrap binary passed as --bwrap; "" or "bwrap" for the default
	// Restart is the unit's Restart= ("" for DefaultRestart).
	Restart string
	// Spec is the bundle's config: its annotations choose the stop signal
	// and, with Init, the service type.
	Spec *specs.Spec
	// Init: the process is an init system (see IsInit).
	Init bool
}

// Unit is a generated unit.
type Unit struct {
	Name       string // file name, e.g. "bwrap-oci-web.service"
	Text       string // the unit file
	Notify     bool   // Type=notify (else Type=simple)
	Delegate   bool   // Delegate=yes
	KillSignal string // KillSignal=, e.g. "SIGTERM"
}

// IsInit tells whether the config's process is an init system, by the
// translator's rule (internal/bwrap): the annotation bwrap.InitAnnotation
// decides when present ("systemd" is one, anything else, such as "none",
// is not); otherwise process.args[0], an absolute path resolved in the
// rootfs by resolve (following links), must be named "systemd".
func IsInit(s *specs.Spec, resolve func(containerPath string) (string, error)) bool {
	if v, ok := s.Annotations[bwrap.InitAnnotation]; ok {
		return v == "systemd"
	}
	if s.Process == nil || len(s.Process.Args) == 0 || !strings.HasPrefix(s.Process.Args[0], "/") {
		return false
	}
	h, err := resolve(s.Process.Args[0])
	if err != nil {
		return false
	}
	return h[strings.LastIndexByte(h, '/')+1:] == "systemd"
}

// DefaultName is the unit name for container id: "bwrap-oci-ID.service",
// with the bytes of the ID that a unit name cannot hold ('+') escaped the
// way systemd-escape does ("\x2b").
func DefaultName(id string) string {
	var b strings.Builder
	b.WriteString("bwrap-oci-")
	for i := 0; i < len(id); i++ {
		c := id[i]
		if unitNameByte(c) && c != '\\' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	b.WriteString(".service")
	return b.String()
}

// unitNameMax is the longest unit name systemd accepts (UNIT_NAME_MAX - 1).
const unitNameMax = 255

func unitNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == ':' || c == '-' || c == '_' || c == '.' || c == '\\'
}

// ServiceName completes a unit name given by the user with ".service" and
// checks it: ASCII letters, digits and ":-_.\" only (no template '@', no
// '/'), at most 255 bytes.
func ServiceName(name string) (string, error) {
	if !strings.HasSuffix(name, ".service") {
		name += ".service"
	}
	prefix := strings.TrimSuffix(name, ".service")
	switch {
	case prefix == "":
		return "", fmt.Errorf("invalid unit name %q: empty", name)
	case len(name) > unitNameMax:
		return "", fmt.Errorf("invalid unit name %q: longer than %d bytes", name, unitNameMax)
	case strings.Contains(prefix, "@"):
		return "", fmt.Errorf("invalid unit name %q: template units (with '@') are not generated; name the unit for the container", name)
	}
	for i := 0; i < len(prefix); i++ {
		if !unitNameByte(prefix[i]) {
			return "", fmt.Errorf("invalid unit name %q: byte %q; allowed are A-Z a-z 0-9 : - _ . \\", name, prefix[i])
		}
	}
	return name, nil
}

// Generate writes the unit for o.
func Generate(o Options) (*Unit, error) {
	if err := state.ValidateID(o.ID); err != nil {
		return nil, err
	}
	for _, p := range []struct{ what, path string }{{"bwrap-oci binary", o.Exe}, {"bundle", o.Bundle}, {"config", o.Config}, {"state root", o.Root}} {
		if p.path == "" && (p.what == "config" || p.what == "state root") {
			continue
		}
		if !strings.HasPrefix(p.path, "/") {
			return nil, fmt.Errorf("the %s path %q is not absolute", p.what, p.path)
		}
		if strings.IndexByte(p.path, 0) >= 0 {
			return nil, fmt.Errorf("the %s path %q contains a NUL byte", p.what, p.path)
		}
	}
	if strings.IndexByte(o.Bwrap, 0) >= 0 {
		return nil, fmt.Errorf("the bwrap path %q contains a NUL byte", o.Bwrap)
	}
	if o.Spec == nil {
		return nil, fmt.Errorf("no config")
	}
	u := &Unit{Name: o.Name, Delegate: o.Init, Notify: o.Init}
	if u.Name == "" {
		u.Name = DefaultName(o.ID)
		if len(u.Name) > unitNameMax {
			return nil, fmt.Errorf("the unit name for container %q would be longer than %d bytes: choose one with --name", o.ID, unitNameMax)
		}
	} else {
		var err error
		if u.Name, err = ServiceName(u.Name); err != nil {
			return nil, err
		}
	}
	if v, ok := o.Spec.Annotations[NotifyAnnotation]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, annotationError(o, NotifyAnnotation, "%q: want true or false", v)
		}
		u.Notify = b
	}
	sig := unix.SIGTERM
	if o.Init {
		sig = signals.RTMin + 3 // systemd powers off; SIGTERM only makes it re-execute
	}
	if v, ok := o.Spec.Annotations[StopSignalAnnotation]; ok {
		var err error
		if sig, err = signals.Parse(v); err != nil {
			return nil, annotationError(o, StopSignalAnnotation, "%v", err)
		}
	}
	if sig == 32 || sig == 33 {
		return nil, annotationError(o, StopSignalAnnotation, "signal %d is reserved by the C library: choose another stop signal", sig)
	}
	if sig == signals.RTMin {
		// Go leaves the first real-time signal at its default action even
		// under signal.Notify: it would end `bwrap-oci run`, and with it the
		// container (--die-with-parent), instead of reaching the container.
		return nil, annotationError(o, StopSignalAnnotation, "SIGRTMIN (%d) ends bwrap-oci run instead of reaching the container: choose another stop signal", sig)
	}
	u.KillSignal = signals.Name(sig)
	restart := o.Restart
	if restart == "" {
		restart = DefaultRestart
	}
	if !contains(restartValues, restart) {
		return nil, fmt.Errorf("restart policy %q: want one of %s", restart, strings.Join(restartValues, ", "))
	}

	// The runtime's command line, shared by every Exec line.
	base := []string{o.Exe}
	if o.Root != "" {
		base = append(base, "--root", o.Root)
	}
	if o.Bwrap != "" && o.Bwrap != "bwrap" {
		base = append(base, "--bwrap", o.Bwrap)
	}
	run := append(append([]string{}, base...), "run", "--bundle", o.Bundle)
	if o.Config != "" {
		run = append(run, "--config", o.Config)
	}
	run = append(run, o.ID)
	del := append(append([]string{}, base...), "delete", "--force", o.ID)
	runLine, err := ExecLine(run)
	if err != nil {
		return nil, err
	}
	delLine, err := ExecLine(del)
	if err != nil {
		return nil, err
	}

	var b strings.Builder
	line := func(s ...string) {
		for _, x := range s {
			b.WriteString(x)
		}
		b.WriteByte('\n')
	}
	short := strings.TrimSuffix(u.Name, ".service")
	if strings.Contains(short, "\\") {
		short = "'" + short + "'" // for the shell
	}
	line("# ", u.Name, ": the bwrap-oci container ", o.ID, " as a user service.")
	line("# Written by `bwrap-oci generate systemd` (docs/systemd.md). Save it in")
	line("# ~/.config/systemd/user/ (or generate it with -o ~/.config/systemd/user),")
	line("# then: systemctl --user daemon-reload && systemctl --user start ", short)
	line("[Unit]")
	line("Description=bwrap-oci container ", o.ID)
	if m, ok := MountPath(o.Bundle); ok {
		line("RequiresMountsFor=", m)
	}
	line()
	line("[Service]")
	if u.Notify {
		line("# The container speaks sd_notify; bwrap-oci relays its READY=1 and")
		line("# STATUS= from its own pid.")
		line("Type=notify")
		line("NotifyAccess=main")
	} else {
		line("Type=simple")
	}
	if u.Delegate {
		line("# The service's cgroup is delegated: bwrap-oci makes the init's cgroup")
		line("# below it and binds it at /sys/fs/cgroup.")
		line("Delegate=yes")
	}
	line("# A container left behind by a crash would block the ID.")
	line("ExecStartPre=-", delLine)
	line("ExecStart=", runLine)
	line("# systemd sends the stop signal (", StopSignalAnnotation, ") to")
	line("# `bwrap-oci run` only, which forwards it to the container's process;")
	line("# what is left after TimeoutStopSec= gets SIGKILL.")
	line("KillMode=mixed")
	line("KillSignal=", u.KillSignal)
	line("# The process ended by that signal (128+N) is a clean stop.")
	line("SuccessExitStatus=", strconv.Itoa(128+int(sig)))
	line("# Clean-up, whatever way the container ended.")
	line("ExecStopPost=-", delLine)
	line("Restart=", restart)
	line()
	line("[Install]")
	line("WantedBy=default.target")
	u.Text = b.String()
	return u, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// safeByte: a byte that needs no quoting in a unit file's command line.
func safeByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("_./:+,=@-", c) >= 0
}

// ExecLine quotes a command line for ExecStart= and the like, per
// systemd.syntax(7) and systemd.service(5): a word with anything but
// [A-Za-z0-9_./:+,=@-] is double-quoted with C escapes (\\, \", \xNN for
// control bytes and invalid UTF-8), and '%' is doubled (specifiers). In the
// arguments '$' is doubled too (environment variables); the executable is
// not expanded, and systemd refuses one with quotes, backslashes or control
// bytes in its path.
func ExecLine(args []string) (string, error) {
	if len(args) == 0 || args[0] == "" {
		return "", fmt.Errorf("no command")
	}
	exe := args[0]
	for i := 0; i < len(exe); {
		r, n := utf8.DecodeRuneInString(exe[i:])
		if r == utf8.RuneError && n == 1 || r < 0x20 || r == 0x7f || r == '"' || r == '\'' || r == '\\' {
			return "", fmt.Errorf("systemd cannot run %q: its path contains %q (quotes, backslashes and control characters are refused in an executable's path)", exe, exe[i:i+n])
		}
		i += n
	}
	words := []string{strings.ReplaceAll(quoteWord(exe, false), "%", "%%")}
	for _, a := range args[1:] {
		words = append(words, strings.NewReplacer("%", "%%", "$", "$$").Replace(quoteWord(a, true)))
	}
	return strings.Join(words, " "), nil
}

// MountPath quotes a path for RequiresMountsFor=, which removes quotes and
// backslashes but knows no C escapes: a path with control bytes or invalid
// UTF-8 cannot be written there (ok is false).
func MountPath(p string) (string, bool) {
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRuneInString(p[i:])
		if r == utf8.RuneError && n == 1 || r < 0x20 || r == 0x7f {
			return "", false
		}
		i += n
	}
	return strings.ReplaceAll(quoteWord(p, false), "%", "%%"), true
}

func quoteWord(s string, cEscapes bool) string {
	safe := s != ""
	for i := 0; i < len(s); i++ {
		if !safeByte(s[i]) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\' || r == '"':
			b.WriteByte('\\')
			b.WriteRune(r)
		case cEscapes && (r == utf8.RuneError && n == 1 || r < 0x20 || r == 0x7f):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	b.WriteByte('"')
	return b.String()
}

// annotationError says what is wrong with an annotation of the config, naming
// the config file and the annotation's field path.
func annotationError(o Options, key, format string, a ...any) error {
	file := o.Config
	if file == "" {
		file = filepath.Join(o.Bundle, "config.json")
	}
	return &spec.Error{File: file, Field: "annotations." + key, Msg: fmt.Sprintf(format, a...)}
}
