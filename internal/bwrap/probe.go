package bwrap

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/bwrap-oci/bwrap-oci/internal/sysfile"
)

// probeKey identifies one bwrap binary: a new or replaced binary gets a new
// probe.
type probeKey struct {
	Path  string `json:"path"`
	Size  int64  `json:"size"`
	MTime int64  `json:"mtime"`
	Ino   uint64 `json:"ino"`
	Mode  uint32 `json:"mode"` // chmod u+s changes no other field
	UID   uint32 `json:"uid"`
}

type probeCache struct {
	Key      probeKey `json:"key"`
	Features Features `json:"features"`
}

// Find resolves the bwrap binary: name as given if it holds a slash,
// otherwise looked up on PATH.
func Find(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("bwrap not found (%s): install bubblewrap (apt-get install bubblewrap) or pass --bwrap PATH", name)
	}
	return filepath.Abs(p)
}

// Probe returns what the bwrap binary at path supports. The answer is cached
// in cacheFile (when not empty), keyed by the binary's identity, so that a
// run does not execute bwrap twice more just to ask.
func Probe(path, cacheFile string) (Features, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Features{}, fmt.Errorf("bwrap %s: %w", path, err)
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	key := probeKey{Path: path, Size: fi.Size(), MTime: fi.ModTime().UnixNano()}
	if st != nil {
		key.Ino, key.Mode, key.UID = st.Ino, st.Mode, st.Uid
	}
	var f Features
	if cacheFile != "" {
		var c probeCache
		if data, err := sysfile.ReadFile(cacheFile); err == nil && len(data) <= maxCacheSize && decodeCache(data, &c) && c.Key == key {
			f = c.Features
			f.LastCap = lastCap()
			return f, nil
		}
	}
	f.Setuid = fi.Mode()&os.ModeSetuid != 0 && st != nil && st.Uid == 0
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return Features{}, fmt.Errorf("%s --version: %v", path, err)
	}
	f.Version = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "bubblewrap"))
	help, err := exec.Command(path, "--help").Output()
	if err != nil && len(help) == 0 {
		return Features{}, fmt.Errorf("%s --help: %v", path, err)
	}
	f.Options = parseHelp(help)
	if cacheFile != "" {
		if data, err := json.Marshal(probeCache{Key: key, Features: f}); err == nil {
			tmp := cacheFile + ".tmp" + strconv.Itoa(os.Getpid())
			if os.WriteFile(tmp, data, 0o600) == nil {
				_ = os.Rename(tmp, cacheFile)
			}
		}
	}
	f.LastCap = lastCap()
	return f, nil
}

func parseHelp(help []byte) map[string]bool {
	opts := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(help))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "--") {
			opts[strings.Fields(line)[0]] = true
		}
	}
	return opts
}

func lastCap() int {
	data, err := sysfile.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return n
}

// maxCacheSize bounds a probe cache (one is about 1.3 kB): a larger file
// is not one this package wrote, and bwrap is probed again.
const maxCacheSize = 64 << 10

// Required are the options bwrap-oci cannot work without.
var Required = []string{"--userns-block-fd", "--info-fd", "--as-pid-1", "--args", "--cap-add"}

// Check reports what the features lack for plan.
func (f Features) Check(plan *Plan) error {
	var missing []string
	need := append([]string(nil), Required...)
	for _, o := range plan.Opts {
		need = append(need, o.Name)
	}
	for _, n := range need {
		if !f.Options[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("bwrap %s lacks %s: install bubblewrap 0.8.0 or newer", f.Version, strings.Join(dedup(missing), ", "))
	}
	if f.Setuid {
		// A setuid bwrap's child is root-owned, so newuidmap refuses it,
		// and bwrap then refuses options (--size, --cap-add, ...) and the
		// --userns-block-fd protocol bwrap-oci relies on: refuse it whole.
		return fmt.Errorf("bwrap %s is setuid root: bwrap-oci needs a bwrap that is not (newuidmap refuses a root-owned process, and setuid bwrap refuses options bwrap-oci uses): use one without the setuid bit (chmod u-s BWRAP, on a kernel that allows unprivileged user namespaces) or pass --bwrap PATH", f.Version)
	}
	return nil
}

func dedup(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
