package bwrap

import (
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// shSplit has /bin/sh split line into words: it runs `set -- LINE` and prints
// each resulting argument NUL-terminated.
func shSplit(t *testing.T, line string) []string {
	t.Helper()
	script := "set -- " + line + "\nfor a do printf '%s\\000' \"$a\"; done"
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "X=expanded"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("sh -c %q: %v %s", script, err, stderr.String())
	}
	var args []string
	for len(out) > 0 {
		i := bytes.IndexByte(out, 0)
		args = append(args, string(out[:i]))
		out = out[i+1:]
	}
	return args
}

var quoteCases = [][]string{
	{},
	{""},
	{"", "", ""},
	{"plain", "-x", "--opt=v", "/a/b.c", "a,b:c@d%e+f_g"},
	{"with space", " lead", "trail ", "  "},
	{"tab\there", "new\nline", "cr\rret", "\n"},
	{"'", "''", "it's", "a'b'c", "'start", "end'"},
	{`"`, `say "hi"`, `\`, `back\slash`, `\'`, `\\n`},
	{"$X", "${X}", "$(echo no)", "`echo no`", "$", "a$"},
	{"*", "?", "[a]", "/bin/*", "~", "~root", "#comment", "a#b"},
	{"a;b", "a&b", "a|b", "a>b", "a<b", "(a)", "{a,b}", "!x", "a=b", "=x"},
	{"héllo", "日本語", "emoji 🎉", "\u00a0nbsp", "\xff\xfe invalid utf8"},
	{"-", "--", "-e", "-n"},
	{"\x01\x02\x1b[31m", "\x7f"},
}

func TestQuoteShell(t *testing.T) {
	if _, err := exec.LookPath("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	for _, args := range quoteCases {
		q := Quote(args)
		got := shSplit(t, q)
		if !slices.Equal(got, args) && !(len(got) == 0 && len(args) == 0) {
			t.Errorf("Quote(%q) = %s\n  sh splits it into %q", args, q, got)
		}
		// The model of sh's splitting that FuzzQuote uses agrees.
		if m, err := splitQuoted(q); err != nil || !slices.Equal(m, got) && len(got) > 0 {
			t.Errorf("splitQuoted(%s) = %q, %v; sh gives %q", q, m, err, got)
		}
	}
}

func TestQuoteForm(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{""}, "''"},
		{[]string{"a", "b/c"}, "a b/c"},
		{[]string{"a b"}, "'a b'"},
		{[]string{"it's"}, `'it'\''s'`},
		{[]string{"--setenv", "PATH", "/usr/bin:/bin"}, "--setenv PATH /usr/bin:/bin"},
	}
	for _, tt := range tests {
		if got := Quote(tt.args); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.args, got, tt.want)
		}
	}
}

// splitQuoted splits a line the way a POSIX shell does, for the subset of
// the shell language Quote may use: words separated by one space, made of
// characters that are never special, single-quoted strings and \'. Any
// other character outside quotes (a metacharacter, an expansion, a glob)
// is an error.
func splitQuoted(line string) ([]string, error) {
	if line == "" {
		return nil, nil
	}
	var words []string
	var b strings.Builder
	inWord := false
	for i := 0; i < len(line); {
		switch c := line[i]; {
		case c == ' ':
			if !inWord {
				return nil, fmt.Errorf("empty word at %d in %q", i, line)
			}
			words = append(words, b.String())
			b.Reset()
			inWord = false
			i++
			if i == len(line) {
				return nil, fmt.Errorf("trailing space in %q", line)
			}
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated quote at %d in %q", i, line)
			}
			b.WriteString(line[i+1 : i+1+j])
			i += j + 2
			inWord = true
		case c == '\\':
			if i+1 >= len(line) || line[i+1] != '\'' {
				return nil, fmt.Errorf("backslash not before a quote at %d in %q", i, line)
			}
			b.WriteByte('\'')
			i += 2
			inWord = true
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("@%+=:,./_-", c) >= 0:
			b.WriteByte(c)
			i++
			inWord = true
		default:
			return nil, fmt.Errorf("unquoted %q at %d in %q", c, i, line)
		}
	}
	return append(words, b.String()), nil
}

func FuzzQuote(f *testing.F) {
	for _, args := range quoteCases {
		f.Add(strings.Join(args, "\x00"))
	}
	f.Fuzz(func(t *testing.T, joined string) {
		var args []string
		if joined != "" {
			args = strings.Split(joined, "\x00")
		}
		q := Quote(args)
		got, err := splitQuoted(q)
		if err != nil {
			t.Fatalf("Quote(%q) = %s: %v", args, q, err)
		}
		if !slices.Equal(got, args) {
			t.Fatalf("Quote(%q) = %s splits into %q", args, q, got)
		}
		if strings.ContainsAny(q, "\x00") {
			t.Fatalf("Quote(%q) holds a NUL", args)
		}
		if utf8.ValidString(joined) && !utf8.ValidString(q) {
			t.Fatalf("Quote(%q) = %q is not valid UTF-8", args, q)
		}
	})
}

func TestSplitQuoted(t *testing.T) {
	ok := map[string][]string{
		"":              nil,
		"a b":           {"a", "b"},
		"'a b' c":       {"a b", "c"},
		`a'b'\''c'd`:    {"ab'cd"},
		"''":            {""},
		"'' ''":         {"", ""},
		"--x=/a:b,c@d%": {"--x=/a:b,c@d%"},
	}
	for in, want := range ok {
		if got, err := splitQuoted(in); err != nil || !slices.Equal(got, want) {
			t.Errorf("splitQuoted(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"$x", "a;b", "a  b", " a", "a ", "'a", `a\b`, "*", "~", "a\nb", "\"a\"", "é"} {
		if got, err := splitQuoted(in); err == nil {
			t.Errorf("splitQuoted(%q) = %q, want an error", in, got)
		}
	}
}
