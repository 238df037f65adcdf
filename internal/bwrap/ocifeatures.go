package bwrap

import (
	"sort"

	"github.com/bwrap-oci/bwrap-oci/internal/spec"
	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// SeccompFeatures is filled in when seccomp support is compiled in.
var SeccompFeatures *features.Seccomp

// OCIFeatures is the runtime spec's features document: what bwrap-oci
// really honours, derived from the translator's own tables.
func OCIFeatures() *features.Features {
	f := false
	opts := map[string]bool{}
	for _, m := range []map[string]bool{bindOK, tmpfsOK, procOK} {
		for k := range m {
			opts[k] = true
		}
	}
	opts["size"], opts["mode"] = true, true
	var mountOptions []string
	for k := range opts {
		mountOptions = append(mountOptions, k)
	}
	sort.Strings(mountOptions)
	var caps []string
	for _, c := range capability.ListKnown() {
		caps = append(caps, spec.CapName(c))
	}
	seccomp := SeccompFeatures
	if seccomp == nil {
		seccomp = &features.Seccomp{Enabled: &f}
	}
	return &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		MountOptions:  mountOptions,
		Linux: &features.Linux{
			// Joinable by path: user and pid only; the rest are created.
			Namespaces:   []string{"cgroup", "ipc", "mount", "network", "pid", "user", "uts"},
			Capabilities: caps,
			Cgroup:       &features.Cgroup{V1: &f, V2: &f, Systemd: &f, SystemdUser: &f, Rdma: &f},
			Seccomp:      seccomp,
			Apparmor:     &features.Apparmor{Enabled: &f},
			Selinux:      &features.Selinux{Enabled: &f},
			IntelRdt:     &features.IntelRdt{Enabled: &f},
			MountExtensions: &features.MountExtensions{
				IDMap: &features.IDMap{Enabled: &f},
			},
			NetDevices: &features.NetDevices{Enabled: &f},
		},
		Annotations: map[string]string{
			"io.github.bwrap-oci.bwrap": "bubblewrap " + "0.8.0 or newer",
		},
	}
}
