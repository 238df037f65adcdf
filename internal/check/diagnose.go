package check

import (
	"errors"
	"path/filepath"
	"strings"

	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
)

// Diagnose explains err, returned while preparing or starting a container,
// by the host check that fails for it, as one line:
//
//	host check newuidmap: /usr/bin/newuidmap is not setuid root ...; fix: sudo chmod u+s /usr/bin/newuidmap
//
// It returns "" when err is nil, is not about the host's set-up (a bad
// config, say), or no check explains it. It gathers the facts again (no
// smoke test; a few milliseconds), so call it only on failure.
func Diagnose(err error, o Options) string {
	names := relevant(err)
	if len(names) == 0 {
		return ""
	}
	o.Smoke = false
	o.Bundle = ""
	return pick(Evaluate(Gather(o)), names)
}

// Explain returns err with Diagnose's line appended, or err itself when
// there is nothing to add. The result unwraps to err.
func Explain(err error, o Options) error {
	if d := Diagnose(err, o); d != "" {
		return &diagnosed{err: err, diag: d}
	}
	return err
}

type diagnosed struct {
	err  error
	diag string
}

func (d *diagnosed) Error() string { return d.err.Error() + "; " + d.diag }
func (d *diagnosed) Unwrap() error { return d.err }

// pick describes the first failing result among names, in the order of
// names, or else the first warning.
func pick(rs []Result, names []string) string {
	for _, want := range []Status{Fail, Warn} {
		for _, n := range names {
			for _, r := range rs {
				if r.Name == n && r.Status == want {
					s := "host check " + r.Name + ": " + r.Found
					if r.Fix != "" {
						s += "; fix: " + r.Fix
					}
					return s
				}
			}
		}
	}
	return ""
}

// relevant lists, most likely first, the checks that can explain err.
func relevant(err error) []string {
	if err == nil {
		return nil
	}
	var he *idmap.HelperError
	if errors.As(err, &he) {
		if strings.Contains(filepath.Base(he.Helper), "gid") {
			return []string{NameNewGIDMap, NameSubGID, NameBwrapSetuid, NameUserNS}
		}
		return []string{NameNewUIDMap, NameSubUID, NameBwrapSetuid, NameUserNS}
	}
	msg := err.Error()
	has := func(s string) bool { return strings.Contains(msg, s) }
	userns := []string{NameUserNS, NameUsernsClone, NameAppArmor, NameBwrapSetuid, NameBwrap}
	switch {
	case has("bwrap not found"), has("lacks") && has("bubblewrap"):
		return []string{NameBwrap}
	case has("bwrap is setuid root"):
		return []string{NameBwrapSetuid}
	case has("bwrap failed before the container started"), has("releasing the container"),
		has("denying setgroups"), strings.HasPrefix(msg, "starting "):
		return userns
	case has("XDG_RUNTIME_DIR"):
		return []string{NameRuntimeDir}
	case has("subordinate"), has("outside your own"), has("is not mapped (only"):
		if has("gid") {
			return []string{NameSubGID, NameSubUID}
		}
		return []string{NameSubUID, NameSubGID}
	}
	return nil
}
