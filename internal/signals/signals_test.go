package signals

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParse(t *testing.T) {
	good := []struct {
		in   string
		want unix.Signal
	}{
		{"9", unix.SIGKILL},
		{"1", unix.SIGHUP},
		{"009", unix.SIGKILL},
		{"15", unix.SIGTERM},
		{"32", 32},
		{"33", 33},
		{"37", 37},
		{"64", 64},
		{"TERM", unix.SIGTERM},
		{"term", unix.SIGTERM},
		{"SIGKILL", unix.SIGKILL},
		{"sigusr1", unix.SIGUSR1},
		{"SigUsr2", unix.SIGUSR2},
		{"HUP", unix.SIGHUP},
		{"SIGCHLD", unix.SIGCHLD},
		{"CLD", unix.SIGCHLD},
		{"IOT", unix.SIGABRT},
		{"SIGPOLL", unix.SIGIO},
		{"SIGWINCH", unix.SIGWINCH},
		{"SIGSYS", unix.SIGSYS},
		{"RTMIN", 34},
		{"rtmin", 34},
		{"SIGRTMIN", 34},
		{"RTMIN+0", 34},
		{"RTMIN+3", 37},
		{"SIGRTMIN+3", 37},
		{"sigrtmin+3", 37},
		{"RTMIN+30", 64},
		{"RTMAX", 64},
		{"SIGRTMAX", 64},
		{"RTMAX-0", 64},
		{"RTMAX-1", 63},
		{"SIGRTMAX-2", 62},
		{"RTMAX-30", 34},
	}
	for _, tc := range good {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): unexpected error %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Parse(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestParseBad(t *testing.T) {
	bad := []struct{ in, wantErr string }{
		{"", `unknown signal ""`},
		{"0", `signal 0 is out of range 1-64`},
		{"65", `signal 65 is out of range 1-64`},
		{"99", `signal 99 is out of range 1-64`},
		{"99999999999999999999999", `out of range 1-64`},
		{"-1", `unknown signal "-1"`},
		{"+9", `unknown signal "+9"`},
		{" 9", `unknown signal " 9"`},
		{"9 ", `unknown signal "9 "`},
		{"FOO", `unknown signal "FOO"`},
		{"SIG", `unknown signal "SIG"`},
		{"SIGSIGTERM", `unknown signal "SIGSIGTERM"`},
		{"SIG9", `unknown signal "SIG9"`},
		{"TERM\n", `unknown signal "TERM\n"`},
		{"RTMIN+", `unknown signal "RTMIN+"`},
		{"RTMIN-1", `unknown signal "RTMIN-1"`},
		{"RTMAX+1", `unknown signal "RTMAX+1"`},
		{"RTMIN+-1", `unknown signal "RTMIN+-1"`},
		{"RTMIN+x", `unknown signal "RTMIN+x"`},
		{"RTMIN+31", `signal "RTMIN+31" is out of range RTMIN-RTMAX (34-64)`},
		{"RTMAX-31", `signal "RTMAX-31" is out of range RTMIN-RTMAX (34-64)`},
		{"SIGRTMIN+99999999999999999999", `out of range`},
		{"RT", `unknown signal "RT"`},
		{"RTMINE", `unknown signal "RTMINE"`},
		{"\u017figterm", `unknown signal "ſigterm"`},
		{"s\u0131gterm", `unknown signal "sıgterm"`},
	}
	for _, tc := range bad {
		got, err := Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) = %d, want error", tc.in, got)
			continue
		}
		if !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("Parse(%q) error = %q, want it to contain %q", tc.in, err, tc.wantErr)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q) error is not one line: %q", tc.in, err)
		}
	}
}

func TestName(t *testing.T) {
	cases := []struct {
		sig  unix.Signal
		want string
	}{
		{unix.SIGTERM, "SIGTERM"},
		{unix.SIGKILL, "SIGKILL"},
		{unix.SIGHUP, "SIGHUP"},
		{unix.SIGABRT, "SIGABRT"},
		{unix.SIGCHLD, "SIGCHLD"},
		{32, "32"},
		{33, "33"},
		{34, "SIGRTMIN"},
		{35, "SIGRTMIN+1"},
		{37, "SIGRTMIN+3"},
		{49, "SIGRTMIN+15"},
		{50, "SIGRTMAX-14"},
		{62, "SIGRTMAX-2"},
		{63, "SIGRTMAX-1"},
		{64, "SIGRTMAX"},
		{0, "0"},
		{65, "65"},
		{-1, "-1"},
	}
	for _, tc := range cases {
		if got := Name(tc.sig); got != tc.want {
			t.Errorf("Name(%d) = %q, want %q", int(tc.sig), got, tc.want)
		}
	}
}

// Every valid signal has a name that parses back to it, and so does its
// number.
func TestRoundTripAll(t *testing.T) {
	for i := 1; i <= Max; i++ {
		sig := unix.Signal(i)
		name := Name(sig)
		got, err := Parse(name)
		if err != nil || got != sig {
			t.Errorf("Parse(Name(%d)=%q) = %d, %v", i, name, got, err)
		}
		if i < 32 && !strings.HasPrefix(name, "SIG") {
			t.Errorf("Name(%d) = %q, want a SIG name", i, name)
		}
		if i >= 34 && !strings.HasPrefix(name, "SIGRT") {
			t.Errorf("Name(%d) = %q, want a SIGRT name", i, name)
		}
		// Without the SIG prefix and lowercase too.
		if short := strings.ToLower(strings.TrimPrefix(name, "SIG")); short != name {
			if got, err := Parse(short); err != nil || got != sig {
				t.Errorf("Parse(%q) = %d, %v; want %d", short, got, err, i)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "0", "9", "37", "65", "TERM", "SIGKILL", "sigusr1", "RTMIN", "RTMIN+3",
		"SIGRTMIN+3", "RTMAX", "RTMAX-1", "SIGRTMAX-2", "RTMIN+31", "RTMAX-31", "SIG", "IOT", "999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := Parse(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("Parse(%q): multi-line error %q", s, err)
			}
			return
		}
		if sig < 1 || sig > Max {
			t.Fatalf("Parse(%q) = %d, outside 1-%d", s, sig, Max)
		}
		name := Name(sig)
		back, err := Parse(name)
		if err != nil || back != sig {
			t.Fatalf("Parse(%q) = %d; Parse(Name=%q) = %d, %v", s, sig, name, back, err)
		}
	})
}
