package spec

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		field string   // expected Error.Field ("" for whole-file problems)
		want  []string // substrings of Error.Msg
	}{
		{"empty", "", "", []string{"empty file"}},
		{"whitespace only", " \n\t\n", "", []string{"empty file"}},
		{"invalid character", "{\n  \"a\": x\n}", "", []string{"line 2, column 8", "invalid JSON", "'x'"}},
		{"invalid character after unicode", "{\"a\": \"é€\", x}", "", []string{"line 1, column 13", "invalid JSON"}},
		{"missing comma", "{\n\"a\": 1\n\"b\": 2}", "", []string{"line 3, column 1", "invalid JSON"}},
		{"truncated in string", `{"ociVersion": "1.0`, "", []string{"line 1, column 20", "unexpected end of file"}},
		{"truncated object", "{\"process\": {\n  \"args\": [\"sh\"", "", []string{"line 2, column 16", "unexpected end of file"}},
		{"trailing data", "{} x", "", []string{"line 1, column 4", "unexpected data after the top-level object"}},
		{"trailing object", "{}\n{}", "", []string{"line 2, column 1", "unexpected data"}},
		{"trailing close brace", "{}}", "", []string{"line 1, column 3", "invalid JSON"}},
		{"top-level array", "[]", "", []string{"top level must be a JSON object"}},
		{"top-level null", "null", "", []string{"top level must be a JSON object"}},
		{"top-level string", `"x"`, "", []string{"top level must be a JSON object"}},
		{"args as string", "{\"process\": {\n  \"args\": \"sh\"}}", "process.args", []string{"expected an array of strings", "found a JSON string", "line 2, column 11"}},
		{"args element number", `{"process": {"args": ["a", 2]}}`, "process.args", []string{"expected a string", "found a JSON number", "column 28"}},
		{"args as object", `{"process": {"args": {"a": 1}}}`, "process.args", []string{"expected an array of strings", "found a JSON object", "column 22"}},
		{"string with escaped quote", `{"process": {"args": "a\"b\\"}}`, "process.args", []string{"column 22"}},
		{"process as string", `{"process": "x"}`, "process", []string{"expected an object", "column 13"}},
		{"terminal as number", `{"process": {"terminal": 1}}`, "process.terminal", []string{"expected true or false", "column 26"}},
		{"negative uid", `{"process": {"user": {"uid": -1}}}`, "process.user.uid", []string{"non-negative integer (uint32)", "column 30"}},
		{"fractional uid", `{"process": {"user": {"uid": 1.5e0}}}`, "process.user.uid", []string{"non-negative integer", "column 30"}},
		{"mounts as object", `{"mounts": {}}`, "mounts", []string{"expected an array of objects"}},
		{"sysctl value number", `{"linux": {"sysctl": {"a": 1}}}`, "linux.sysctl", []string{"expected a string"}},
		{"readonly as string", `{"root": {"readonly": "yes"}}`, "root.readonly", []string{"true or false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("config.json", []byte(tt.data))
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tt.data, c)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is %T, want *spec.Error", err, err)
			}
			if e.File != "config.json" {
				t.Errorf("File = %q, want config.json", e.File)
			}
			if e.Field != tt.field {
				t.Errorf("Field = %q, want %q (error: %v)", e.Field, tt.field, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(e.Msg, w) {
					t.Errorf("Msg = %q, want it to contain %q", e.Msg, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans lines", err)
			}
		})
	}
}

func TestParsePresent(t *testing.T) {
	data := `{
		"ociVersion": "1.0.2",
		"process": {"args": ["sh", "-c", ""], "env": [], "user": {"uid": 0}, "terminal": false, "capabilities": {}},
		"root": {"path": "rootfs"},
		"hostname": null,
		"mounts": [
			{"destination": "/proc", "type": "proc"},
			{"destination": "/tmp", "type": "tmpfs", "options": ["nosuid", "size=1m"]}
		],
		"linux": {"sysctl": {"net.ipv4.ip_forward": "1"}, "namespaces": [{"type": "pid"}]},
		"annotations": {}
	}`
	c, err := Parse("c.json", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"linux.namespaces[0].type",
		"linux.sysctl.net.ipv4.ip_forward",
		"mounts[0].destination",
		"mounts[0].type",
		"mounts[1].destination",
		"mounts[1].options[0]",
		"mounts[1].options[1]",
		"mounts[1].type",
		"ociVersion",
		"process.args[0]",
		"process.args[1]",
		"process.args[2]", // an empty string is a value, not an empty container
		"process.terminal",
		"process.user.uid",
		"root.path",
	}
	if !reflect.DeepEqual(c.Present, want) {
		t.Errorf("Present =\n  %q\nwant\n  %q", c.Present, want)
	}
	if c.Spec.Process == nil || !reflect.DeepEqual(c.Spec.Process.Args, []string{"sh", "-c", ""}) {
		t.Errorf("Spec.Process not decoded: %+v", c.Spec.Process)
	}
	if c.File != "c.json" {
		t.Errorf("File = %q", c.File)
	}
}

func TestParseDefaultRoundTrip(t *testing.T) {
	for _, rootless := range []bool{false, true} {
		s := Default(rootless, nil, nil)
		data, err := json.MarshalIndent(s, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		c, err := Parse("c.json", data)
		if err != nil {
			t.Fatalf("rootless=%v: %v", rootless, err)
		}
		if !reflect.DeepEqual(c.Spec, s) {
			t.Errorf("rootless=%v: round trip changed the spec", rootless)
		}
		if len(c.Present) == 0 {
			t.Errorf("rootless=%v: no present fields", rootless)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "config.json")
	_, err := Load(missing)
	var e *Error
	if !errors.As(err, &e) || e.File != missing || !strings.Contains(e.Msg, "no such file") {
		t.Errorf("Load(missing) = %v, want a no such file *Error", err)
	}
	_, err = Load(dir) // a directory cannot be read
	if !errors.As(err, &e) || e.File != dir || strings.Contains(e.Msg, "open "+dir) {
		t.Errorf("Load(dir) = %v, want an *Error naming the file once", err)
	}
	if err := os.WriteFile(missing, []byte(`{"ociVersion": "1.0.0"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(missing)
	if err != nil || c.File != missing || c.Spec.Version != "1.0.0" {
		t.Errorf("Load = %+v, %v", c, err)
	}
}

func TestCovers(t *testing.T) {
	tests := []struct {
		prefix, p string
		want      bool
	}{
		{"process", "process", true},
		{"process", "process.args[0]", true},
		{"process.args", "process.args[0]", true},
		{"process.args", "process.argsx", false},
		{"process", "processes", false},
		{"mounts[1]", "mounts[1].options[0]", true},
		{"mounts[1]", "mounts[10].type", false},
		{"linux.sysctl.a", "linux.sysctl.a.b", true},
		{"a.b", "a", false},
	}
	for _, tt := range tests {
		if got := Covers(tt.prefix, tt.p); got != tt.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", tt.prefix, tt.p, got, tt.want)
		}
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{Msg: "m"}, "m"},
		{Error{Field: "f", Msg: "m"}, "f: m"},
		{Error{File: "c", Msg: "m"}, "c: m"},
		{Error{File: "c", Field: "f", Msg: "m"}, "c: f: m"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%+v.Error() = %q, want %q", tt.e, got, tt.want)
		}
	}
}

func TestGoTypeName(t *testing.T) {
	tests := map[string]string{
		"[]string":               "an array of strings",
		"[]specs.Mount":          "an array of objects",
		"[]int64":                "an array of integers (int64)",
		"[]uint32":               "an array of non-negative integers (uint32)",
		"[]bool":                 "an array of booleans",
		"map[string]string":      "an object",
		"*specs.Process":         "an object",
		"bool":                   "true or false",
		"uint32":                 "a non-negative integer (uint32)",
		"*int":                   "an integer (int)",
		"float64":                "a number",
		"[]specs.LinuxNamespace": "an array of objects",
	}
	for in, want := range tests {
		if got := goTypeName(in); got != want {
			t.Errorf("goTypeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseCaseSensitive(t *testing.T) {
	// encoding/json alone would fill process, root and hostname from these.
	data := `{"Process": {"args": ["sh"], "cwd": "/"}, "root": {"Path": "r", "readonly": true}, "HOSTNAME": "h",
		"process": {"Args": ["x"], "cwd": "/w", "user": {"UID": 5, "gid": 6}}, "": 1, "linux": {"sysctl": {"A.b": "1"}}}`
	c, err := Parse("c.json", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Spec
	if s.Hostname != "" || s.Root == nil || s.Root.Path != "" || !s.Root.Readonly {
		t.Errorf("hostname %q root %+v: case-variant names were used", s.Hostname, s.Root)
	}
	if s.Process == nil || s.Process.Args != nil || s.Process.Cwd != "/w" || s.Process.User.UID != 0 || s.Process.User.GID != 6 {
		t.Errorf("process %+v: case-variant names were used", s.Process)
	}
	if s.Linux.Sysctl["A.b"] != "1" {
		t.Errorf("sysctl %v: map keys must be kept", s.Linux.Sysctl)
	}
	for _, p := range []string{"Process.args[0]", "root.Path", "HOSTNAME", "process.Args[0]", "process.user.UID", `""`, "linux.sysctl.A.b"} {
		if !slices.Contains(c.Present, p) {
			t.Errorf("Present %q lacks %q", c.Present, p)
		}
	}
	if err := Validate(c); err == nil {
		t.Error("a config whose only root.path is \"Path\" validates")
	}
}
