package idmap

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseSubID(t *testing.T) {
	tests := []struct {
		name  string
		input string
		user  string
		id    uint32
		want  []Range
	}{
		{"by name", "alice:100000:65536\n", "alice", 1000, []Range{{100000, 65536}}},
		{"by numeric uid", "1000:100000:65536\n", "alice", 1000, []Range{{100000, 65536}}},
		{"other users skipped", "bob:100000:65536\nalice:165536:65536\n2000:1:5\n", "alice", 1000, []Range{{165536, 65536}}},
		{"name and uid, file order", "1000:300000:10\nalice:100000:65536\n", "alice", 1000, []Range{{300000, 10}, {100000, 65536}}},
		{"multiple ranges", "alice:100000:65536\nalice:200000:1000\nalice:300000:1\n", "alice", 1000,
			[]Range{{100000, 65536}, {200000, 1000}, {300000, 1}}},
		{"comments and blanks", "# header\n\n   \n  # indented comment\nalice:100000:65536\n\n", "alice", 1000, []Range{{100000, 65536}}},
		{"comment-looking owner is not alice", "#alice:100000:65536\n", "alice", 1000, nil},
		{"CRLF", "alice:100000:65536\r\nalice:200000:10\r\n", "alice", 1000, []Range{{100000, 65536}, {200000, 10}}},
		{"no trailing newline", "alice:100000:65536", "alice", 1000, []Range{{100000, 65536}}},
		{"count 0 skipped", "alice:100000:0\nalice:5:1\n", "alice", 1000, []Range{{5, 1}}},
		{"too few fields", "alice:100000\nalice\n:\n", "alice", 1000, nil},
		{"too many fields", "alice:100000:65536:9\n", "alice", 1000, nil},
		{"non-numeric", "alice:abc:65536\nalice:100000:x\nalice::1\nalice:1:\n", "alice", 1000, nil},
		{"signs and spaces rejected", "alice:+1:5\nalice:-1:5\nalice: 1:5\nalice:1:5 \nalice:0x10:5\n", "alice", 1000, nil},
		{"owner not trimmed", " alice:1:5\nalice :1:5\n", "alice", 1000, nil},
		{"start too big", "alice:4294967296:10\n", "alice", 1000, nil},
		{"count too big", "alice:1:4294967296\nalice:1:99999999999999999999999\n", "alice", 1000, nil},
		{"clamped at MaxID", "alice:4294967000:1000\n", "alice", 1000, []Range{{4294967000, 295}}},
		{"max count clamped", "alice:1:4294967295\n", "alice", 1000, []Range{{1, 4294967294}}},
		{"start is invalid id", "alice:4294967295:1\n", "alice", 1000, nil},
		{"malformed mixed with good", "garbage\nalice:1:2:3\nalice:100000:65536\n:::\n", "alice", 1000, []Range{{100000, 65536}}},
		{"empty name matches only uid", ":1:5\n7:10:5\n", "", 7, []Range{{10, 5}}},
		{"uid 0", "root:1:5\n0:10:5\n", "root", 0, []Range{{1, 5}, {10, 5}}},
		{"leading zeros in owner not uid", "01000:1:5\n", "alice", 1000, nil},
		{"empty input", "", "alice", 1000, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseSubID(strings.NewReader(tt.input), tt.user, tt.id)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if got := ParseSubID(nil, "alice", 1); got != nil {
		t.Errorf("nil reader: got %v", got)
	}
}

type errReader struct{ data string }

func (e *errReader) Read(p []byte) (int, error) {
	if e.data == "" {
		return 0, errors.New("boom")
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

func TestParseSubIDReadError(t *testing.T) {
	got := ParseSubID(&errReader{"alice:1:5\nalice:10:5"}, "alice", 1)
	// The line cut short by the error is dropped.
	want := []Range{{1, 5}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestLookupSubID(t *testing.T) {
	dir := t.TempDir()
	got, err := LookupSubID(filepath.Join(dir, "missing"), "alice", 1000)
	if err != nil || got != nil {
		t.Fatalf("missing file: got %v, %v", got, err)
	}
	p := filepath.Join(dir, "subuid")
	if err := os.WriteFile(p, []byte("alice:100000:65536\nbob:1:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = LookupSubID(p, "alice", 1000)
	if err != nil || !reflect.DeepEqual(got, []Range{{100000, 65536}}) {
		t.Fatalf("got %v, %v", got, err)
	}
	// A directory is an error other than "missing"; it must name the path.
	_, err = LookupSubID(dir, "alice", 1000)
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("directory: got %v, want error naming %s", err, dir)
	}
}

func TestRule(t *testing.T) {
	const F, N = 100000, 65536
	r := Range{F, N}
	tests := []struct {
		name string
		s, h uint32
		r    Range
		want []Mapping
	}{
		{"s=0", 0, 1000, r, []Mapping{{0, 1000, 1}, {1, F, N}}},
		{"s=1000", 1000, 1000, r, []Mapping{{0, F, 1000}, {1000, 1000, 1}, {1001, F + 1000, N - 1000}}},
		{"s=70000 >= N", 70000, 1000, r, []Mapping{{0, F, N}, {70000, 1000, 1}}},
		{"s=N-1", N - 1, 1000, r, []Mapping{{0, F, N - 1}, {N - 1, 1000, 1}, {N, F + N - 1, 1}}},
		{"s=N", N, 1000, r, []Mapping{{0, F, N}, {N, 1000, 1}}},
		{"s=1", 1, 1000, r, []Mapping{{0, F, 1}, {1, 1000, 1}, {2, F + 1, N - 1}}},
		{"N=1 s=0", 0, 1000, Range{F, 1}, []Mapping{{0, 1000, 1}, {1, F, 1}}},
		{"N=1 s=1", 1, 1000, Range{F, 1}, []Mapping{{0, F, 1}, {1, 1000, 1}}},
		{"N=1 s=5", 5, 1000, Range{F, 1}, []Mapping{{0, F, 1}, {5, 1000, 1}}},
		{"N=0", 5, 1000, Range{F, 0}, []Mapping{{5, 1000, 1}}},
		{"N=0 s=0", 0, 1000, Range{}, []Mapping{{0, 1000, 1}}},
		{"h just below r", 0, F - 1, r, []Mapping{{0, F - 1, 1}, {1, F, N}}},
		{"h just above r", 0, F + N, r, []Mapping{{0, F + N, 1}, {1, F, N}}},
		{"h inside r, s=0", 0, F + 10, r, []Mapping{{0, F + 10, 1}, {1, F, 10}, {11, F + 11, N - 11}}},
		{"h inside r, s=1000", 1000, F + 10, r,
			[]Mapping{{0, F, 10}, {10, F + 11, 990}, {1000, F + 10, 1}, {1001, F + 1001, N - 1001}}},
		{"h inside r, s >= N-1", N - 1, F + 10, r, []Mapping{{0, F, 10}, {10, F + 11, N - 11}, {N - 1, F + 10, 1}}},
		{"h = F", 0, F, r, []Mapping{{0, F, 1}, {1, F + 1, N - 1}}},
		{"h = last of r", 0, F + N - 1, r, []Mapping{{0, F + N - 1, 1}, {1, F, N - 1}}},
		{"h = r, N=1", 3, F, Range{F, 1}, []Mapping{{3, F, 1}}},
		{"r past MaxID clamped", 0, 1000, Range{math.MaxUint32 - 10, 100}, []Mapping{{0, 1000, 1}, {1, math.MaxUint32 - 10, 10}}},
		{"s = MaxID", MaxID, 1000, r, []Mapping{{0, F, N}, {MaxID, 1000, 1}}},
		{"s near top", math.MaxUint32 - 3, 0, Range{1, math.MaxUint32 - 1},
			[]Mapping{{0, 1, math.MaxUint32 - 3}, {math.MaxUint32 - 3, 0, 1}, {math.MaxUint32 - 2, math.MaxUint32 - 2, 2}}},
		{"tail cut at MaxID", 5, math.MaxUint32, Range{0, math.MaxUint32}, []Mapping{{0, 0, 5}, {6, 5, math.MaxUint32 - 6}}},
		{"s invalid", math.MaxUint32, 1000, r, []Mapping{{0, F, N}}},
		{"h invalid", 5, math.MaxUint32, r, []Mapping{{0, F, 5}, {6, F + 5, N - 5}}},
		{"whole id space, s=0", 0, 0, Range{0, math.MaxUint32}, []Mapping{{0, 0, 1}, {1, 1, MaxID}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Rule(tt.s, tt.h, tt.r)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Rule(%d, %d, %v) = %v, want %v", tt.s, tt.h, tt.r, got, tt.want)
			}
			checkRule(t, tt.s, tt.h, tt.r, got)
		})
	}
}

// checkRule asserts the invariants of Rule's output.
func checkRule(t *testing.T, s, h uint32, r Range, got []Mapping) {
	t.Helper()
	if err := Check("linux.uidMappings", got, h, []Range{r}); err != nil {
		t.Fatalf("Rule(%d, %d, %v) = %v fails Check: %v", s, h, r, got, err)
	}
	for i := 1; i < len(got); i++ {
		if got[i-1].ContainerID >= got[i].ContainerID {
			t.Fatalf("Rule(%d, %d, %v) = %v not sorted by container id", s, h, r, got)
		}
	}
	if s != math.MaxUint32 && h != math.MaxUint32 {
		if x, ok := HostOf(got, s); !ok || x != h {
			t.Fatalf("Rule(%d, %d, %v) = %v maps s to %d,%v; want %d", s, h, r, got, x, ok, h)
		}
	}
}

func TestSingle(t *testing.T) {
	if got := Single(0, 1000); !reflect.DeepEqual(got, []Mapping{{0, 1000, 1}}) {
		t.Errorf("got %v", got)
	}
	if got := Single(math.MaxUint32, 1000); got != nil {
		t.Errorf("invalid s: got %v", got)
	}
	if got := Single(0, math.MaxUint32); got != nil {
		t.Errorf("invalid h: got %v", got)
	}
}

func TestCheck(t *testing.T) {
	sub := []Range{{100000, 65536}}
	tests := []struct {
		name   string
		field  string
		ms     []Mapping
		own    uint32
		ranges []Range
		want   string // "" = ok; else exact message
	}{
		{"empty", "linux.uidMappings", nil, 1000, sub, ""},
		{"own only", "linux.uidMappings", []Mapping{{0, 1000, 1}}, 1000, nil, ""},
		{"rule output", "linux.uidMappings", []Mapping{{0, 1000, 1}, {1, 100000, 65536}}, 1000, sub, ""},
		{"split subordinate", "linux.uidMappings", []Mapping{{0, 100010, 10}, {10, 100000, 10}, {20, 1000, 1}}, 1000, sub, ""},
		{"second range", "linux.uidMappings", []Mapping{{0, 300000, 5}}, 1000, []Range{{100000, 10}, {300000, 10}}, ""},
		{"zero size", "linux.uidMappings", []Mapping{{0, 1000, 1}, {1, 100000, 0}}, 1000, sub,
			"linux.uidMappings[1]: size must be greater than 0"},
		{"container overflow", "linux.uidMappings", []Mapping{{4294967290, 100000, 10}}, 1000, sub,
			"linux.uidMappings[0]: container ids 4294967290-4294967299 go past the largest valid uid 4294967294"},
		{"container end exactly 2^32", "linux.uidMappings", []Mapping{{4294967295, 1000, 1}}, 1000, sub,
			"linux.uidMappings[0]: container id 4294967295 go past the largest valid uid 4294967294"},
		{"host overflow", "linux.gidMappings", []Mapping{{0, 4294967295, 1}}, 1000, sub,
			"linux.gidMappings[0]: host id 4294967295 go past the largest valid gid 4294967294"},
		{"container overlap", "linux.uidMappings", []Mapping{{0, 1000, 1}, {1, 100000, 10}, {5, 100100, 3}}, 1000, sub,
			"linux.uidMappings[2]: container ids 5-7 overlap linux.uidMappings[1] (container ids 1-10)"},
		{"host overlap", "linux.uidMappings", []Mapping{{0, 100000, 10}, {100, 100005, 1}}, 1000, sub,
			"linux.uidMappings[1]: host id 100005 overlap linux.uidMappings[0] (host ids 100000-100009)"},
		{"outside", "linux.uidMappings", []Mapping{{0, 1000, 1}, {1, 100000, 10}, {20, 200000, 65536}}, 1000, sub,
			"linux.uidMappings[2]: host ids 200000-265535 are outside your own uid 1000 and your subordinate ranges (100000-165535)"},
		{"straddles range end", "linux.uidMappings", []Mapping{{0, 165530, 10}}, 1000, sub,
			"linux.uidMappings[0]: host ids 165530-165539 are outside your own uid 1000 and your subordinate ranges (100000-165535)"},
		{"spans two adjacent ranges", "linux.gidMappings", []Mapping{{0, 10, 20}}, 1000, []Range{{10, 10}, {20, 10}},
			"linux.gidMappings[0]: host ids 10-29 are outside your own gid 1000 and your subordinate ranges (10-19, 20-29)"},
		{"own plus next id", "linux.uidMappings", []Mapping{{0, 1000, 2}}, 1000, sub,
			"linux.uidMappings[0]: host ids 1000-1001 are outside your own uid 1000 and your subordinate ranges (100000-165535)"},
		{"other single id, no ranges", "linux.gidMappings", []Mapping{{0, 0, 1}}, 1000, nil,
			"linux.gidMappings[0]: host id 0 is outside your own gid 1000 and you have no subordinate gid range (see /etc/subgid)"},
		{"too many", "linux.uidMappings", manyMappings(341), 1000, []Range{{100000, 1000}},
			"linux.uidMappings: 341 mappings exceed the kernel limit of 340"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.field, tt.ms, tt.own, tt.ranges)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got %v\nwant %s", err, tt.want)
			}
		})
	}
	if err := Check("linux.uidMappings", manyMappings(340), 1000, []Range{{100000, 1000}}); err != nil {
		t.Fatalf("340 mappings: %v", err)
	}
}

func manyMappings(n int) []Mapping {
	ms := make([]Mapping, n)
	for i := range ms {
		ms[i] = Mapping{uint32(i), 100000 + uint32(i), 1}
	}
	return ms
}

func TestMapsHostOf(t *testing.T) {
	ms := []Mapping{{0, 100000, 1000}, {1000, 1000, 1}, {4294967290, 5, 4}}
	tests := []struct {
		x    uint32
		host uint32
		ok   bool
	}{
		{0, 100000, true}, {999, 100999, true}, {1000, 1000, true}, {1001, 0, false},
		{4294967289, 0, false}, {4294967290, 5, true}, {4294967293, 8, true}, {4294967294, 0, false}, {math.MaxUint32, 0, false},
	}
	for _, tt := range tests {
		h, ok := HostOf(ms, tt.x)
		if h != tt.host || ok != tt.ok {
			t.Errorf("HostOf(%d) = %d,%v want %d,%v", tt.x, h, ok, tt.host, tt.ok)
		}
		if Maps(ms, tt.x) != tt.ok {
			t.Errorf("Maps(%d) != %v", tt.x, tt.ok)
		}
	}
	if Maps(nil, 0) {
		t.Error("Maps(nil, 0)")
	}
}

func TestNeedsHelper(t *testing.T) {
	tests := []struct {
		ms   []Mapping
		own  uint32
		want bool
	}{
		{nil, 1000, false},
		{[]Mapping{{0, 1000, 1}}, 1000, false},
		{[]Mapping{{55, 1000, 1}}, 1000, false},
		{[]Mapping{{0, 1001, 1}}, 1000, true},
		{[]Mapping{{0, 1000, 2}}, 1000, true},
		{[]Mapping{{0, 1000, 1}, {1, 100000, 10}}, 1000, true},
	}
	for _, tt := range tests {
		if got := NeedsHelper(tt.ms, tt.own); got != tt.want {
			t.Errorf("NeedsHelper(%v, %d) = %v", tt.ms, tt.own, got)
		}
	}
}

func TestHelperArgs(t *testing.T) {
	tests := []struct {
		pid  int
		ms   []Mapping
		want []string
	}{
		{42, nil, []string{"42"}},
		{1234, []Mapping{{0, 1000, 1}, {1, 100000, 65536}}, []string{"1234", "0", "1000", "1", "1", "100000", "65536"}},
		{1, []Mapping{{MaxID, 4294967293, 1}}, []string{"1", "4294967294", "4294967293", "1"}},
	}
	for _, tt := range tests {
		if got := HelperArgs(tt.pid, tt.ms); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("HelperArgs(%d, %v) = %q, want %q", tt.pid, tt.ms, got, tt.want)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		ms   []Mapping
		want string
	}{
		{nil, ""},
		{[]Mapping{{0, 1000, 1}}, "0 1000 1\n"},
		{[]Mapping{{0, 1000, 1}, {1, 100000, 65536}}, "0 1000 1\n1 100000 65536\n"},
	}
	for _, tt := range tests {
		if got := Format(tt.ms); got != tt.want {
			t.Errorf("Format(%v) = %q, want %q", tt.ms, got, tt.want)
		}
	}
}

func TestHelperError(t *testing.T) {
	exitErr := errors.New("exit status 1")
	tests := []struct {
		name       string
		helper     string
		stderr     string
		err        error
		wantStderr string
		wantHint   []string // substrings of Hint; nil = no hint
	}{
		{"not on PATH", "newuidmap", "", &exec.Error{Name: "newuidmap", Err: exec.ErrNotFound}, "",
			[]string{"install the uidmap package (apt-get install uidmap)"}},
		{"absolute path missing", "/usr/bin/newgidmap", "", &os.PathError{Op: "fork/exec", Path: "/usr/bin/newgidmap", Err: os.ErrNotExist}, "",
			[]string{"apt-get install uidmap"}},
		{"range not allowed", "newuidmap", "newuidmap: uid range [1-65537) -> [100000-165536) not allowed\n", exitErr,
			"newuidmap: uid range [1-65537) -> [100000-165536) not allowed",
			[]string{"/etc/subuid", "user alice (uid 1000)", "newuidmap is setuid root", "cap_setuid"}},
		{"gid not setuid", "/usr/bin/newgidmap", "  newgidmap: write to gid_map failed: Operation not permitted\n\n", exitErr,
			"newgidmap: write to gid_map failed: Operation not permitted",
			[]string{"/etc/subgid", "user alice (uid 1000)", "newgidmap is setuid root", "cap_setgid"}},
		{"caps", "newuidmap", "newuidmap: Could not set caps\n", exitErr, "newuidmap: Could not set caps", []string{"/etc/subuid"}},
		{"multi-line stderr", "newuidmap", "line one\r\n\nline two\n", exitErr, "line one; line two", nil},
		{"other failure", "newuidmap", "usage: newuidmap <pid> ...\n", exitErr, "usage: newuidmap <pid> ...", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := helperError(tt.helper, tt.stderr, tt.err, "user alice (uid 1000)")
			var he *HelperError
			if !errors.As(err, &he) {
				t.Fatalf("not a *HelperError: %T", err)
			}
			if he.Stderr != tt.wantStderr {
				t.Errorf("Stderr = %q, want %q", he.Stderr, tt.wantStderr)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("error does not wrap %v", tt.err)
			}
			if tt.wantHint == nil && he.Hint != "" {
				t.Errorf("unexpected hint %q", he.Hint)
			}
			for _, w := range tt.wantHint {
				if !strings.Contains(he.Hint, w) {
					t.Errorf("hint %q lacks %q", he.Hint, w)
				}
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, tt.helper+" failed: ") ||
				(he.Stderr != "" && !strings.Contains(msg, he.Stderr)) || !strings.Contains(msg, he.Hint) {
				t.Errorf("bad message %q", msg)
			}
		})
	}
	long := helperError("newuidmap", strings.Repeat("x", 2000), exitErr, "").(*HelperError)
	if len(long.Stderr) > 510 {
		t.Errorf("stderr not capped: %d bytes", len(long.Stderr))
	}
	perm := helperError("newuidmap", "not allowed", exitErr, "").(*HelperError)
	if !strings.Contains(perm.Hint, "your user") {
		t.Errorf("hint without user: %q", perm.Hint)
	}
}

func TestWriteDirectValidates(t *testing.T) {
	if err := WriteDirect(1, "setgroups", []Mapping{{0, 0, 1}}); err == nil {
		t.Error("bad file accepted")
	}
	if err := WriteDirect(1, "uid_map", nil); err == nil {
		t.Error("empty mappings accepted")
	}
	big := make([]Mapping, MaxMappings)
	for i := range big {
		big[i] = Mapping{4000000000 + uint32(i), 4000000000 + uint32(i), 1}
	}
	if err := WriteDirect(1, "uid_map", big); err == nil || !strings.Contains(err.Error(), "bytes") {
		t.Errorf("oversized text: %v", err)
	}
}

func FuzzParseSubID(f *testing.F) {
	f.Add("alice:100000:65536\n", "alice", uint32(1000))
	f.Add("1000:100000:65536\r\n# c\n\nalice:0:0\n", "alice", uint32(1000))
	f.Add("alice:4294967295:4294967295\nalice:::\n", "alice", uint32(0))
	f.Add(":1:1\n", "", uint32(0))
	f.Fuzz(func(t *testing.T, input, name string, id uint32) {
		got := ParseSubID(strings.NewReader(input), name, id)
		if len(got) > strings.Count(input, "\n")+1 {
			t.Fatalf("more ranges than lines: %v", got)
		}
		for _, r := range got {
			if r.Length == 0 || uint64(r.Start)+uint64(r.Length) > uint64(math.MaxUint32) {
				t.Fatalf("invalid range %v", r)
			}
		}
	})
}

func FuzzRule(f *testing.F) {
	f.Add(uint32(0), uint32(1000), uint32(100000), uint32(65536))
	f.Add(uint32(1000), uint32(1000), uint32(100000), uint32(65536))
	f.Add(uint32(70000), uint32(1000), uint32(100000), uint32(65536))
	f.Add(uint32(5), uint32(100010), uint32(100000), uint32(65536))
	f.Add(uint32(math.MaxUint32), uint32(math.MaxUint32), uint32(math.MaxUint32), uint32(math.MaxUint32))
	f.Add(uint32(math.MaxUint32-2), uint32(0), uint32(0), uint32(math.MaxUint32))
	f.Fuzz(func(t *testing.T, s, h, start, length uint32) {
		r := Range{start, length}
		got := Rule(s, h, r)
		checkRule(t, s, h, r, got)
		if len(got) > 5 {
			t.Fatalf("too many pieces: %v", got)
		}
	})
}

func TestParse(t *testing.T) {
	got, err := Parse("         0       1002          1\n         1     165536      65536\n")
	want := []Mapping{{ContainerID: 0, HostID: 1002, Size: 1}, {ContainerID: 1, HostID: 165536, Size: 65536}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Parse = %v, %v; want %v", got, err, want)
	}
	if again, err := Parse(Format(got)); err != nil || !reflect.DeepEqual(again, want) {
		t.Errorf("Parse(Format(...)) = %v, %v; want %v", again, err, want)
	}
	for _, bad := range []string{"0 1002\n", "0 x 1\n", "0 1 2 3\n", "0 1 4294967296\n"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = nil error", bad)
		}
	}
	if got, err := Parse(""); err != nil || len(got) != 0 {
		t.Errorf("Parse(\"\") = %v, %v", got, err)
	}
}
