// Package e2e holds the end-to-end tests of bwrap-oci. They build the
// binary, make busybox bundles and run containers with the real bwrap and
// newuidmap/newgidmap as an unprivileged user:
//
//   - as root: as the user named by $BWRAP_OCI_E2E_USER (see
//     scripts/setup-host.sh, which creates "bwoci");
//   - otherwise: as the invoking user, who needs a range in /etc/subuid and
//     /etc/subgid.
//
// When neither is possible the tests are skipped, unless CI=true, in which
// case they fail. Run them with scripts/test.sh.
//
// This file holds the pure helpers; the tests are in the *_test.go files.
package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// IDRange is one line of /etc/subuid or /etc/subgid.
type IDRange struct {
	Start, Count uint32
}

// FirstSubIDRange returns the first range of the user (matched by name or
// by numeric uid) in an /etc/subuid-format file.
func FirstSubIDRange(path, name string, uid uint32) (IDRange, error) {
	f, err := os.Open(path)
	if err != nil {
		return IDRange{}, err
	}
	defer f.Close()
	return firstSubIDRange(f, path, name, uid)
}

func firstSubIDRange(r io.Reader, path, name string, uid uint32) (IDRange, error) {
	sc := bufio.NewScanner(r)
	uidStr := strconv.FormatUint(uint64(uid), 10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 3 || (f[0] != name && f[0] != uidStr) {
			continue
		}
		start, err1 := strconv.ParseUint(f[1], 10, 32)
		count, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil || count == 0 {
			continue
		}
		return IDRange{uint32(start), uint32(count)}, nil
	}
	if err := sc.Err(); err != nil {
		return IDRange{}, err
	}
	return IDRange{}, fmt.Errorf("%s: no range for %s (uid %d)", path, name, uid)
}

// IDMap is one line of /proc/PID/uid_map: inside, outside, count.
type IDMap struct {
	Inside, Outside, Count uint32
}

func (m IDMap) String() string { return fmt.Sprintf("%d %d %d", m.Inside, m.Outside, m.Count) }

// ExpectedIDMap is the mapping bwrap-oci builds when the config has no
// uidMappings/gidMappings: s is the id the container process runs as, h the
// caller's own id, r the caller's first subordinate range.
func ExpectedIDMap(s, h uint32, r IDRange) []IDMap {
	f, n := r.Start, r.Count
	switch {
	case s == 0:
		return []IDMap{{0, h, 1}, {1, f, n}}
	case s < n:
		return []IDMap{{0, f, s}, {s, h, 1}, {s + 1, f + s, n - s}}
	default:
		return []IDMap{{0, f, n}, {s, h, 1}}
	}
}

// ParseIDMap parses the text of /proc/PID/uid_map, sorted by inside id.
func ParseIDMap(text string) ([]IDMap, error) {
	var out []IDMap
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("bad id map line %q", line)
		}
		var v [3]uint32
		for i := range f {
			n, err := strconv.ParseUint(f[i], 10, 32)
			if err != nil {
				return nil, fmt.Errorf("bad id map line %q: %v", line, err)
			}
			v[i] = uint32(n)
		}
		out = append(out, IDMap{v[0], v[1], v[2]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Inside < out[j].Inside })
	return out, nil
}

// capNumbers maps capability names to their bit numbers
// (linux/capability.h).
var capNumbers = map[string]uint{
	"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2,
	"CAP_FOWNER": 3, "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6,
	"CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_LINUX_IMMUTABLE": 9,
	"CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11, "CAP_NET_ADMIN": 12,
	"CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
	"CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18,
	"CAP_SYS_PTRACE": 19, "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21,
	"CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23, "CAP_SYS_RESOURCE": 24,
	"CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
	"CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30,
	"CAP_SETFCAP": 31, "CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33,
	"CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35, "CAP_BLOCK_SUSPEND": 36,
	"CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
	"CAP_CHECKPOINT_RESTORE": 40,
}

// CapMask returns the /proc/PID/status style mask of the named capabilities
// (e.g. "0000000020000420").
func CapMask(names []string) (string, error) {
	var m uint64
	for _, n := range names {
		bit, ok := capNumbers[strings.ToUpper(n)]
		if !ok {
			return "", fmt.Errorf("unknown capability %q", n)
		}
		m |= 1 << bit
	}
	return fmt.Sprintf("%016x", m), nil
}
