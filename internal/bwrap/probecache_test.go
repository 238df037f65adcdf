package bwrap

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func sampleCache() probeCache {
	return probeCache{
		Key:      probeKey{Path: "/usr/bin/bwrap", Size: 72080, MTime: 1723626248000000000, Ino: 10166286, Mode: 33261, UID: 0},
		Features: Features{Version: "0.8.0", Options: map[string]bool{"--args": true, "--bind": true, "--userns-block-fd": true}},
	}
}

// TestDecodeCacheFast checks that the fast path decodes what Probe writes,
// and that on anything it accepts it agrees with json.Unmarshal.
func TestDecodeCacheFast(t *testing.T) {
	written := func(c probeCache) []byte {
		data, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	c := sampleCache()
	var got probeCache
	if !decodeCacheFast(written(c), &got) || !reflect.DeepEqual(got, c) {
		t.Errorf("fast path on Probe's own cache: %+v, want %+v", got, c)
	}
	odd := c
	odd.Key.MTime, odd.Key.Size, odd.Features.Setuid, odd.Features.LastCap = -5, 0, true, 40
	odd.Features.Options = nil
	got = probeCache{}
	if !decodeCacheFast(written(odd), &got) || !reflect.DeepEqual(got, odd) {
		t.Errorf("fast path: %+v, want %+v", got, odd)
	}
	empty := c
	empty.Features.Options = map[string]bool{}
	got = probeCache{}
	if !decodeCacheFast(written(empty), &got) || !reflect.DeepEqual(got, empty) {
		t.Errorf("fast path: %+v, want %+v", got, empty)
	}
	// Left to encoding/json.
	esc := c
	esc.Key.Path = "/opt/b<w>rap \"x\"/\u00e9"
	for _, data := range [][]byte{
		written(esc),
		[]byte(` {"key":{}}`),
		[]byte(`{"key":{"path":"/b","size":1.0,"mtime":0,"ino":0,"mode":0,"uid":0},"features":{"Version":"","Options":null,"Setuid":false,"LastCap":0}}`),
		[]byte(`{"key":{"path":"/b","size":01,"mtime":0,"ino":0,"mode":0,"uid":0},"features":{"Version":"","Options":null,"Setuid":false,"LastCap":0}}`),
		[]byte(`{"key":{"path":"/b","size":1,"mtime":0,"ino":-1,"mode":0,"uid":0},"features":{"Version":"","Options":null,"Setuid":false,"LastCap":0}}`),
		[]byte(`{"key":{"path":"/b","size":1,"mtime":0,"ino":1,"mode":4294967296,"uid":0},"features":{"Version":"","Options":null,"Setuid":false,"LastCap":0}}`),
		written(c)[:100],
		append(written(c), ' '),
	} {
		var fast probeCache
		if decodeCacheFast(data, &fast) {
			t.Errorf("fast path accepted %s", data)
		}
		var slow, viaDecode probeCache
		slowOK := json.Unmarshal(data, &slow) == nil
		if ok := decodeCache(data, &viaDecode); ok != slowOK || ok && !reflect.DeepEqual(viaDecode, slow) {
			t.Errorf("decodeCache(%s) = %v %+v, json.Unmarshal: %v %+v", data, ok, viaDecode, slowOK, slow)
		}
	}
}

func FuzzDecodeCache(f *testing.F) {
	data, _ := json.Marshal(sampleCache())
	f.Add(data)
	f.Add([]byte(`{"key":{"path":"/b","size":1,"mtime":-0,"ino":1,"mode":1,"uid":1},"features":{"Version":"v","Options":{"a":false,"a":true},"Setuid":true,"LastCap":-3}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast probeCache
		if !decodeCacheFast(data, &fast) {
			return
		}
		var slow probeCache
		if err := json.Unmarshal(data, &slow); err != nil {
			t.Fatalf("fast path accepted %q, json.Unmarshal: %v", data, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: fast %+v, json.Unmarshal %+v", data, fast, slow)
		}
	})
}

// TestProbeCache: Probe runs bwrap once per binary and reads the cache
// after that; a cache that is not what it wrote (here: larger than any it
// writes) is ignored, and bwrap is probed again.
func TestProbeCache(t *testing.T) {
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	bin := filepath.Join(dir, "bwrap")
	script := "#!/bin/sh\necho x >>" + runs + "\ncase $1 in --version) echo bubblewrap 0.8.0 ;; *) echo '    --args FD   Parse args' ;; esac\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache.json")
	probes := func() int {
		data, _ := os.ReadFile(runs)
		return len(data) / 2 // one --version and one --help, "x\n" each
	}
	for i, want := range []int{1, 1} {
		f, err := Probe(bin, cache)
		if err != nil || f.Version != "0.8.0" || !f.Options["--args"] {
			t.Fatalf("Probe %d: %+v, %v", i, f, err)
		}
		if got := probes(); got != want*2 {
			t.Errorf("after Probe %d: bwrap ran %d times, want %d", i, got, want*2)
		}
	}
	if err := os.WriteFile(cache, make([]byte, maxCacheSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Probe(bin, cache); err != nil || probes() != 4 {
		t.Errorf("an oversized cache was used (bwrap ran %d times, %v)", probes(), err)
	}
}
func BenchmarkDecodeCache(b *testing.B) {
	c := sampleCache()
	for _, o := range []string{"--add-seccomp-fd", "--as-pid-1", "--assert-userns-disabled", "--bind-data", "--bind-fd", "--bind-try", "--block-fd", "--cap-add", "--cap-drop", "--chdir", "--chmod", "--clearenv", "--dev", "--dev-bind", "--dev-bind-try", "--die-with-parent", "--dir", "--disable-userns", "--exec-label", "--file", "--file-label", "--gid", "--help", "--hostname", "--info-fd", "--json-status-fd", "--lock-file", "--mqueue", "--new-session", "--perms", "--pidns", "--proc", "--remount-ro", "--ro-bind", "--ro-bind-data", "--ro-bind-fd", "--ro-bind-try", "--seccomp", "--setenv", "--share-net", "--size", "--symlink", "--sync-fd", "--tmpfs", "--uid", "--unsetenv", "--unshare-all", "--unshare-cgroup", "--unshare-cgroup-try", "--unshare-ipc", "--unshare-net", "--unshare-pid", "--unshare-user", "--unshare-user-try", "--unshare-uts", "--userns", "--userns2", "--version"} {
		c.Features.Options[o] = true
	}
	data, _ := json.Marshal(c)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var got probeCache
		if !decodeCache(data, &got) {
			b.Fatal("not decoded")
		}
	}
}
