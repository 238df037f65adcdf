package spec

import "testing"

func TestKnown(t *testing.T) {
	tests := map[string]bool{
		"ociVersion":                         true,
		"process.args[0]":                    true,
		"process.user.uid":                   true,
		"process.user.additionalGids[3]":     true,
		"process.capabilities.bounding[0]":   true,
		"process.scheduler.policy":           true,
		"mounts[1].options[0]":               true,
		"mounts[0].uidMappings[0].size":      true,
		"linux.sysctl.net.ipv4.ip_forward":   true, // below a map every key is known
		"annotations.org.example[1]":         true,
		"linux.seccomp.syscalls[0].names[2]": true,
		"linux.resources.memory.limit":       true,
		"hooks.prestart[0].path":             true,
		"windows.layerFolders[0]":            true,
		"foo":                                false,
		"foo.bar":                            false,
		"process.bar":                        false,
		"process.user.bar":                   false,
		"root.bar":                           false,
		"mounts[0].bar":                      false,
		"linux.bar.baz":                      false,
		"Process.args[0]":                    false, // JSON names are case-sensitive
		"process.args.x":                     false,
		"process.args[0][1]":                 false,
		"ociVersion.x":                       false,
		"process.user.uid[0]":                false,
	}
	for p, want := range tests {
		if got := Known(p); got != want {
			t.Errorf("Known(%q) = %v, want %v", p, got, want)
		}
	}
}
