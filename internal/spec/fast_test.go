package spec_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/bwrap-oci/bwrap-oci/internal/spec"
	"github.com/bwrap-oci/bwrap-oci/internal/spec/internal/decodegen"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestDecodeGenIsCurrent fails when decode_gen.go is not what the
// generator writes for the runtime-spec version in go.mod: run go generate.
func TestDecodeGenIsCurrent(t *testing.T) {
	want, err := decodegen.Generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("decode_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("decode_gen.go is stale: run `go generate ./internal/spec/`")
	}
}

// checkFast compares the fast path with the slow path on data: when the
// fast path decodes it, the slow path must accept it with the same spec and
// leaves. It reports whether the fast path decoded it.
func checkFast(t *testing.T, data []byte) bool {
	t.Helper()
	s, present, ok := spec.ParseFast(data)
	if !ok {
		return false
	}
	c, err := spec.ParseSlow("config.json", data)
	if err != nil {
		t.Errorf("fast path decodes %.300q, slow path refuses it: %v", data, err)
		return true
	}
	if !reflect.DeepEqual(s, c.Spec) {
		fj, _ := json.Marshal(s)
		sj, _ := json.Marshal(c.Spec)
		t.Errorf("on %.300q the specs differ:\nfast %s\nslow %s", data, fj, sj)
	}
	if !reflect.DeepEqual(present, c.Present) {
		t.Errorf("on %.300q Present differs:\nfast %q\nslow %q", data, present, c.Present)
	}
	return true
}

// defaultConfigs are the configs `bwrap-oci spec` writes, marshalled as it
// does and compactly.
func defaultConfigs(t testing.TB) map[string][]byte {
	m := map[string][]byte{}
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}
	for _, rootless := range []bool{true, false} {
		for _, idmaps := range [][]specs.LinuxIDMapping{nil, maps} {
			s := spec.Default(rootless, idmaps, idmaps)
			name := "default-rootless=" + strconv.FormatBool(rootless) + "-maps=" + strconv.Itoa(len(idmaps))
			indented, err := json.MarshalIndent(s, "", "\t")
			if err != nil {
				t.Fatal(err)
			}
			compact, _ := json.Marshal(s)
			m[name+"-indented"] = indented
			m[name+"-compact"] = compact
		}
	}
	return m
}

// corpus reads the inputs of a fuzz corpus directory (the first argument of
// each entry, a []byte).
func corpus(t testing.TB, dir string) map[string][]byte {
	m := map[string][]byte{}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(data), "\n")
		if len(lines) < 2 || !strings.HasPrefix(lines[1], "[]byte(") {
			t.Fatalf("%s: not a fuzz corpus entry", f)
		}
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		m[f] = []byte(s)
	}
	return m
}

// tricky are inputs for the details where a decoder could differ from
// encoding/json plus the slow path's clean-up; want says whether the fast
// path should decode them (the others it leaves to the slow path).
var tricky = []struct {
	data string
	want bool
}{
	// Nulls, empty containers.
	{`{}`, true},
	{` {} `, true},
	{"\t\r\n{\"ociVersion\":\"1\"}\n", true},
	{`{"process": null, "root": null, "mounts": null, "annotations": null, "hostname": null}`, true},
	{`{"process": {"user": null, "terminal": null, "args": null, "consoleSize": null, "oomScoreAdj": null}}`, true},
	{`{"process": {"args": [], "env": [null, "A=b", null]}, "mounts": [], "annotations": {}}`, true},
	{`{"mounts": [null, {}, {"options": []}]}`, true},
	{`{"annotations": {"a": null, "b": "", "": "x"}, "linux": {"sysctl": {}}}`, true},
	{`{"linux": {"netDevices": {"eth0": {"name": "n"}, "eth1": null, "eth2": {}}}}`, true},
	{`{"linux": {"resources": {"blockIO": {"weight": 10, "weightDevice": [{"major": 8, "minor": 0, "weight": 500}], "throttleReadBpsDevice": [{"major": -1, "minor": 2, "rate": 18446744073709551615}]}}}}`, true},
	{`{"linux": {"devices": [{"path": "/dev/x", "type": "c", "major": 1, "minor": 3, "fileMode": 438, "uid": 0}]}}`, true},
	{`{"linux": {"resources": {"pids": {"limit": null}, "memory": {"limit": -1, "swap": 0, "disableOOMKiller": false}, "cpu": {"shares": 0, "cpus": ""}}}}`, true},
	// Unknown properties: skipped, their leaves kept.
	{`{"x-ext": {"a": [1, "b", true, false, null, {"c": {}}, []], "": {"": 0}}, "process": {"x": 1.5e-3}}`, true},
	{`{"a.b": 1, "a": {"b": 2}}`, true},
	{`{"[": {"": [[[[[[[[[[0]]]]]]]]]]}}`, true},
	{`{"x": 1, "y": {"x": 1}, "z": [{"x": 1}, {"x": 1}]}`, true},
	// Numbers.
	{`{"process": {"user": {"uid": 4294967295, "gid": 0}, "scheduler": {"nice": -2147483648, "priority": 2147483647}}}`, true},
	{`{"process": {"oomScoreAdj": -0, "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 18446744073709551615, "soft": 0}]}}`, true},
	{`{"linux": {"resources": {"memory": {"limit": -9223372036854775808, "reservation": 9223372036854775807}}}}`, true},
	{`{"process": {"user": {"uid": 4294967296}}}`, false},
	{`{"process": {"user": {"uid": -1}}}`, false},
	{`{"process": {"user": {"uid": -0}}}`, false}, // strconv.ParseUint refuses the sign
	{`{"process": {"user": {"uid": 1.0}}}`, false},
	{`{"process": {"user": {"uid": 1e2}}}`, false},
	{`{"process": {"user": {"uid": 01}}}`, false},
	{`{"process": {"scheduler": {"nice": 2147483648}}}`, false},
	{`{"process": {"scheduler": {"nice": -2147483649}}}`, false},
	{`{"process": {"oomScoreAdj": 9223372036854775807}}`, true}, // an int
	{`{"process": {"oomScoreAdj": 9223372036854775808}}`, false},
	{`{"linux": {"resources": {"memory": {"limit": 9223372036854775808}}}}`, false},
	{`{"linux": {"resources": {"memory": {"limit": -9223372036854775809}}}}`, false},
	{`{"process": {"rlimits": [{"hard": 18446744073709551616}]}}`, false},
	{`{"process": {"rlimits": [{"hard": 99999999999999999999}]}}`, false},
	{`{"x": 1e999}`, true}, // a leaf of an unknown property: only its syntax matters
	{`{"x": [-0.0, 0e0, 1E+2, 1.5e-7]}`, true},
	{`{"x": -}`, false},
	{`{"x": 1.}`, false},
	{`{"x": .5}`, false},
	{`{"x": +1}`, false},
	{`{"x": 1e}`, false},
	{`{"x": NaN}`, false},
	// Strings and escapes.
	{`{"hostname": "h\u00e9\n\t\"\\\/\b\f\r", "process": {"args": ["\u0000", "\u20ac", "a\u0062c"]}}`, true},
	{`{"\u0070rocess": {"args": ["sh"]}, "x\u0000y": 1}`, true},
	{`{"hostname": "é€𝄞"}`, true},
	{`{"hostname": "\ud834\udd1e", "x": ["\uD83D\uDE00", "\ud834", "\udd1e", "\ud834x", "\ud834\n", "\ud834\u0041", "\ud834\ud834\udd1e", "\udd1e\ud834"]}`, true},
	{`{"hostname": "\ud834\u"}`, false},
	{`{"hostname": "\ud834\ud83"}`, false},
	{"{\"hostname\": \"\xff\"}", false},
	{"{\"x\": \"\xc0\xaf\"}", false},
	{"{\"hostname\": \"a\tb\"}", false},
	{`{"hostname": "\x"}`, false},
	{`{"hostname": "\u12"}`, false},
	{`{"hostname": "\u12G4"}`, false},
	{`{"hostname": "abc`, false},
	{`{"hostname": "a\`, false},
	// Names: exact, case-variant, given twice.
	{`{"Process": {"args": ["sh"]}, "ROOT": {"path": "r"}}`, false},
	{`{"process": {"Args": ["x"]}}`, false},
	{`{"linux": {"netDevices": {"eth0": {"Name": "n"}}}}`, false},
	{`{"process": {"args": ["a"]}, "process": {"cwd": "/"}}`, false},
	{`{"x": 1, "x": 2}`, false},
	{`{"x": {"a": 1, "a": null}}`, false},
	{`{"annotations": {"a": "1", "a": "2"}}`, false},
	{`{"ociversion": "1"}`, false},
	{`{"oci_Version": "1"}`, false},
	{`{"hostnames": "h", "processes": {}}`, true},
	// Types the spec does not expect.
	{`{"process": "sh"}`, false},
	{`{"process": {"args": "sh"}}`, false},
	{`{"process": {"args": ["sh", 1]}}`, false},
	{`{"process": {"terminal": "yes"}}`, false},
	{`{"process": {"terminal": 1}}`, false},
	{`{"mounts": {}}`, false},
	{`{"annotations": []}`, false},
	{`{"annotations": {"a": 1}}`, false},
	{`{"hostname": true}`, false},
	{`{"hostname": {}}`, false},
	// The interface{} field, windows.credentialSpec.
	{`{"windows": {"credentialSpec": null}}`, true},
	{`{"windows": {"credentialSpec": "s"}}`, true},
	{`{"windows": {"credentialSpec": 1.5}}`, true},
	{`{"windows": {"credentialSpec": true}}`, true},
	{`{"windows": {"credentialSpec": {}}}`, true},
	{`{"windows": {"credentialSpec": [1, "a", null, {"b": [{}]}, []]}}`, true},
	{`{"windows": {"credentialSpec": {"a": 1}}}`, false},
	{`{"windows": {"credentialSpec": [1e999]}}`, false},
	{`{"windows": {"credentialSpec": [{"a": 1, "a": 2}]}}`, false},
	// Not one JSON object.
	{``, false},
	{` `, false},
	{`null`, false},
	{`[]`, false},
	{`"x"`, false},
	{`{} {}`, false},
	{`{}}`, false},
	{`{} x`, false},
	{"\ufeff{}", false},
	{"\v{}", false},
	{`{`, false},
	{`{"a"`, false},
	{`{"a":`, false},
	{`{"a" 1}`, false},
	{`{"a": 1,}`, false},
	{`{,"a": 1}`, false},
	{`{"a": [1,]}`, false},
	{`{"a": [,1]}`, false},
	{`{"a": [1 2]}`, false},
	{`{"a": tru}`, false},
	{`{"a": truex}`, false},
	{`{"a": nul}`, false},
	{`{"process": {"args": [` + strings.Repeat(`"x",`, 1000) + `"y"]}}`, true},
	{`{"x": ` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`, true},
	{`{"x": ` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`, false},
	{`{"x": {` + manyKeys(65) + `}}`, false},
	{`{"x": {` + manyKeys(64) + `}}`, true},
}

func manyKeys(n int) string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = strconv.Quote("k"+strconv.Itoa(i)) + ": " + strconv.Itoa(i)
	}
	return strings.Join(keys, ", ")
}

// TestFastPathMatchesSlow runs the fast path over every config the tests
// use and checks it against the slow path; it must decode the common
// configs itself.
func TestFastPathMatchesSlow(t *testing.T) {
	mustDecode := defaultConfigs(t)
	files, _ := filepath.Glob(filepath.Join("testdata", "configs", "*.json"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := spec.ParseSlow("config.json", data); err == nil {
			mustDecode[f] = data
		} else if checkFast(t, data) {
			t.Errorf("%s: the fast path decodes a config the slow path refuses", f)
		}
	}
	for name, data := range mustDecode {
		if !checkFast(t, data) {
			t.Errorf("%s: the fast path leaves a common config to the slow path", name)
		}
	}

	n, decoded := 0, 0
	count := func(data []byte) {
		n++
		if checkFast(t, data) {
			decoded++
		}
	}
	for _, data := range seeds(t) {
		count(data)
	}
	for _, data := range corpus(t, filepath.Join("testdata", "fuzz", "FuzzParse")) {
		count(data)
	}
	for _, data := range corpus(t, filepath.Join("testdata", "fuzz", "FuzzFastParse")) {
		count(data)
	}
	for _, c := range hostileCases() {
		count(c.data(t))
	}
	t.Logf("the fast path decodes %d of %d seed, corpus and hostile inputs", decoded, n)

	for _, tt := range tricky {
		if got := checkFast(t, []byte(tt.data)); got != tt.want {
			t.Errorf("fast path on %.200q: decoded = %v, want %v", tt.data, got, tt.want)
		}
	}
}

// TestParseUsesFastPath checks that Parse returns the fast path's result
// when there is one.
func TestParseUsesFastPath(t *testing.T) {
	for name, data := range defaultConfigs(t) {
		s, present, ok := spec.ParseFast(data)
		if !ok {
			t.Fatalf("%s: not decoded by the fast path", name)
		}
		c, err := spec.Parse("x.json", data)
		if err != nil {
			t.Fatal(err)
		}
		if c.File != "x.json" || !reflect.DeepEqual(c.Spec, s) || !reflect.DeepEqual(c.Present, present) {
			t.Errorf("%s: Parse = %+v, want the fast path's result", name, c)
		}
	}
}

// FuzzFastParse: whatever the input, when the fast path decodes it the slow
// path accepts it and decodes the same spec and leaves.
func FuzzFastParse(f *testing.F) {
	for _, data := range seeds(f) {
		f.Add(data)
	}
	for _, data := range defaultConfigs(f) {
		f.Add(data)
	}
	for _, c := range hostileCases() {
		if data := c.data(f); len(data) < 1<<13 { // small seeds are quick to minimize
			f.Add(data)
		}
	}
	for _, tt := range tricky {
		f.Add([]byte(tt.data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFast(t, data)
	})
}

// TestFastPathRandomConfigs compares the two paths on random configs that
// follow the spec's types, with the odd null, wrong type, unusual number,
// escape, unknown or case-variant name thrown in: unlike the fuzzer's, most
// of them are configs the fast path decodes.
func TestFastPathRandomConfigs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n, decoded := 2000, 0
	if testing.Short() {
		n = 200
	}
	for i := 0; i < n; i++ {
		var b strings.Builder
		g := configGen{r: r, odd: i%2 == 0}
		g.value(&b, reflect.TypeOf(specs.Spec{}), 0)
		if checkFast(t, []byte(b.String())) {
			decoded++
		} else if !g.odd {
			t.Errorf("the fast path leaves a config without oddities to the slow path: %s", b.String())
		}
	}
	t.Logf("the fast path decodes %d of %d random configs", decoded, n)
	if decoded < n/2 {
		t.Errorf("the fast path decodes only %d of %d random configs", decoded, n)
	}
}

// configGen writes random configs.
type configGen struct {
	r   *rand.Rand
	odd bool // throw in wrong types, names and numbers
}

// maybe reports true with probability 1/n in an odd config.
func (g configGen) maybe(n int) bool { return g.odd && g.r.IntN(n) == 0 }

// value writes a random JSON value for Go type t (nil: any value).
func (g configGen) value(b *strings.Builder, t reflect.Type, depth int) {
	r := g.r
	if depth > 8 {
		b.WriteString("null")
		return
	}
	if g.maybe(100) { // the odd value of any type
		t = nil
	}
	if t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && depth > 0 && r.IntN(50) == 0 {
		b.WriteString("null")
		return
	}
	var kind reflect.Kind
	if t != nil {
		kind = t.Kind()
	} else {
		kind = []reflect.Kind{reflect.String, reflect.Bool, reflect.Int64, reflect.Struct, reflect.Slice, reflect.Map}[r.IntN(6)]
	}
	switch kind {
	case reflect.String:
		strs := []string{`""`, `"sh"`, `"/proc"`, `"a\"b"`, `"\u00e9\n"`, `"é€"`, `"\ud83d\ude00"`, `"\ud83d"`, `"x\u0000"`, `"a\/b"`}
		b.WriteString(strs[r.IntN(len(strs))])
	case reflect.Bool:
		b.WriteString([]string{"true", "false"}[r.IntN(2)])
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		nums := []string{"0", "1", "-1", "-0", "65535", "65536", "4294967295", "4294967296", "-2147483648", "-2147483649",
			"9223372036854775807", "9223372036854775808", "-9223372036854775808", "18446744073709551615", "18446744073709551616",
			"1.5", "1e3", "0.0", "100"}
		if !g.maybe(4) { // mostly a number in range for t
			nums = []string{"0", "7", "100"}
			switch {
			case t == nil:
			case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
				nums = append(nums, "-7", "-0", strconv.FormatInt(-1<<(t.Bits()-1), 10), strconv.FormatInt(1<<(t.Bits()-1)-1, 10))
			default:
				nums = append(nums, strconv.FormatUint(1<<t.Bits()-1, 10))
			}
		}
		b.WriteString(nums[r.IntN(len(nums))])
	case reflect.Slice:
		b.WriteString("[")
		for i, n := 0, r.IntN(4); i < n; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			var elem reflect.Type
			if t != nil {
				elem = t.Elem()
			}
			g.value(b, elem, depth+1)
		}
		b.WriteString("]")
	case reflect.Interface:
		if !g.odd { // the fast path leaves a non-empty object there to the slow path
			g.value(b, []reflect.Type{reflect.TypeOf(""), reflect.TypeOf(1), reflect.TypeOf([]bool{}), reflect.TypeOf([]map[string]any{})}[r.IntN(4)], depth+1)
			return
		}
		fallthrough
	case reflect.Map:
		b.WriteString("{")
		keys := []string{"a", "b", "", "a.b", "c"}
		order := r.Perm(len(keys))
		for i, n := 0, r.IntN(4); i < n; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			key := keys[order[i]]
			if g.maybe(20) {
				key = keys[r.IntN(len(keys))] // perhaps given twice
			}
			b.WriteString(strconv.Quote(key) + ": ")
			var elem reflect.Type
			if t != nil && kind == reflect.Map {
				elem = t.Elem()
			}
			g.value(b, elem, depth+1)
		}
		b.WriteString("}")
	case reflect.Struct:
		var names []string
		var types []reflect.Type
		if t != nil {
			for _, f := range reflect.VisibleFields(t) {
				if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
					names, types = append(names, name), append(types, f.Type)
				}
			}
		}
		b.WriteString("{")
		order := r.Perm(len(names) + 1) // each name once (mostly), and one unknown
		for i, n := 0, r.IntN(len(order)+1); i < n; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			name, typ := "x-unknown", reflect.Type(nil)
			if j := order[i]; j < len(names) {
				if g.maybe(100) {
					j = r.IntN(len(names)) // perhaps given twice
				}
				name, typ = names[j], types[j]
				switch {
				case g.maybe(100):
					name = strings.ToUpper(name) // case variant
				case g.maybe(100):
					name = name + "s" // unknown
				}
			}
			b.WriteString(strconv.Quote(name) + ": ")
			g.value(b, typ, depth+1)
		}
		b.WriteString("}")
	}
}
