package seccomp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ProfileOptions say which conditional entries of a Docker/Podman-format
// profile apply.
type ProfileOptions struct {
	// Caps is the container's capability set (e.g. its bounding set), as
	// "CAP_SYS_ADMIN" names.
	Caps []string
	// Kernel is the running kernel's release ("6.1.0-18-amd64"); entries
	// with includes/excludes.minKernel are compared with it. Empty: such
	// entries are dropped (includes) or kept (excludes).
	Kernel string
}

// FromProfile converts a seccomp profile in the format of Docker and of
// containers-common's /usr/share/containers/seccomp.json (archMap, names,
// includes/excludes) into the OCI linux.seccomp section for x86_64, the way
// Podman and Docker do: the archMap entry of SCMP_ARCH_X86_64 gives the
// architectures, and an entry is kept when its includes (arches "amd64",
// caps, minKernel) all hold and its excludes do not.
func FromProfile(data []byte, opt ProfileOptions) (*specs.LinuxSeccomp, error) {
	var p struct {
		DefaultAction   specs.LinuxSeccompAction `json:"defaultAction"`
		DefaultErrnoRet *uint                    `json:"defaultErrnoRet"`
		Architectures   []specs.Arch             `json:"architectures"`
		ArchMap         []struct {
			Arch    specs.Arch   `json:"architecture"`
			SubArch []specs.Arch `json:"subArchitectures"`
		} `json:"archMap"`
		Flags            []specs.LinuxSeccompFlag `json:"flags"`
		ListenerPath     string                   `json:"listenerPath"`
		ListenerMetadata string                   `json:"listenerMetadata"`
		Syscalls         []struct {
			Name     string                   `json:"name"`
			Names    []string                 `json:"names"`
			Action   specs.LinuxSeccompAction `json:"action"`
			ErrnoRet *uint                    `json:"errnoRet"`
			Args     []specs.LinuxSeccompArg  `json:"args"`
			Includes profileFilter            `json:"includes"`
			Excludes profileFilter            `json:"excludes"`
		} `json:"syscalls"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	s := &specs.LinuxSeccomp{
		DefaultAction:    p.DefaultAction,
		DefaultErrnoRet:  p.DefaultErrnoRet,
		Flags:            p.Flags,
		ListenerPath:     p.ListenerPath,
		ListenerMetadata: p.ListenerMetadata,
	}
	if len(p.Architectures) > 0 {
		s.Architectures = p.Architectures
	}
	for _, m := range p.ArchMap {
		if m.Arch == specs.ArchX86_64 {
			s.Architectures = append([]specs.Arch{m.Arch}, m.SubArch...)
		}
	}
	caps := map[string]bool{}
	for _, c := range opt.Caps {
		caps[strings.ToUpper(c)] = true
	}
	for _, sc := range p.Syscalls {
		if !sc.Includes.all(caps, opt.Kernel, true) || sc.Excludes.any(caps, opt.Kernel) {
			continue
		}
		names := sc.Names
		if sc.Name != "" {
			names = append([]string{sc.Name}, names...)
		}
		s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: names, Action: sc.Action, ErrnoRet: sc.ErrnoRet, Args: sc.Args})
	}
	return s, nil
}

type profileFilter struct {
	Arches    []string `json:"arches"`
	Caps      []string `json:"caps"`
	MinKernel string   `json:"minKernel"`
}

// all: every condition of an includes holds.
func (f profileFilter) all(caps map[string]bool, kernel string, _ bool) bool {
	if len(f.Arches) > 0 && !contains(f.Arches, "amd64") {
		return false
	}
	for _, c := range f.Caps {
		if !caps[strings.ToUpper(c)] {
			return false
		}
	}
	if f.MinKernel != "" && !kernelAtLeast(kernel, f.MinKernel) {
		return false
	}
	return true
}

// any: some condition of an excludes holds.
func (f profileFilter) any(caps map[string]bool, kernel string) bool {
	if contains(f.Arches, "amd64") {
		return true
	}
	for _, c := range f.Caps {
		if caps[strings.ToUpper(c)] {
			return true
		}
	}
	return f.MinKernel != "" && kernel != "" && kernelAtLeast(kernel, f.MinKernel)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// kernelAtLeast compares "major.minor" prefixes of kernel releases.
func kernelAtLeast(release, min string) bool {
	if release == "" {
		return false
	}
	r, m := kernelVersion(release), kernelVersion(min)
	return r[0] > m[0] || r[0] == m[0] && r[1] >= m[1]
}

func kernelVersion(s string) [2]int {
	var v [2]int
	for i, part := range strings.SplitN(s, ".", 3) {
		if i > 1 {
			break
		}
		n := 0
		for n < len(part) && part[n] >= '0' && part[n] <= '9' {
			n++
		}
		v[i], _ = strconv.Atoi(part[:n])
	}
	return v
}
