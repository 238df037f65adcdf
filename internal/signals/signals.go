// Package signals parses and names Linux signals the way kill(1) and runc
// do, including the glibc real-time signal names SIGRTMIN+n and SIGRTMAX-n.
package signals

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

const (
	// RTMin is glibc's SIGRTMIN (the kernel's is 32; glibc reserves 32 and 33).
	RTMin unix.Signal = 34
	// RTMax is SIGRTMAX on Linux.
	RTMax unix.Signal = 64
	// Max is the highest valid signal number.
	Max = 64
)

// aliases are accepted by Parse but never produced by Name.
var aliases = map[string]unix.Signal{
	"IOT":  unix.SIGIOT,
	"CLD":  unix.SIGCLD,
	"POLL": unix.SIGPOLL,
}

// Parse accepts a decimal number ("9", "37"), a signal name with or without
// the SIG prefix in any case ("TERM", "SIGKILL", "sigusr1"), or a real-time
// signal "RTMIN", "RTMIN+n", "RTMAX", "RTMAX-n" (optionally SIG-prefixed).
// RTMIN is 34 and RTMAX 64, as in glibc, kill(1) and runc. Valid signals are
// 1..64.
func Parse(s string) (unix.Signal, error) {
	if s == "" {
		return 0, fmt.Errorf("unknown signal %q", s)
	}
	if isDigits(s) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > Max {
			return 0, fmt.Errorf("signal %s is out of range 1-%d", s, Max)
		}
		return unix.Signal(n), nil
	}
	up := asciiUpper(s)
	name := strings.TrimPrefix(up, "SIG")
	switch {
	case name == "RTMIN":
		return RTMin, nil
	case name == "RTMAX":
		return RTMax, nil
	case strings.HasPrefix(name, "RTMIN+"):
		return rt(s, name[len("RTMIN+"):], RTMin, 1)
	case strings.HasPrefix(name, "RTMAX-"):
		return rt(s, name[len("RTMAX-"):], RTMax, -1)
	}
	if sig, ok := aliases[name]; ok {
		return sig, nil
	}
	// unix.SignalNum knows the architecture's classic signals (1..31 on x86).
	if name != "" && !strings.HasPrefix(name, "RT") {
		if sig := unix.SignalNum("SIG" + name); sig != 0 {
			return sig, nil
		}
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// rt resolves the offset part of RTMIN+n / RTMAX-n.
func rt(orig, off string, base unix.Signal, dir int) (unix.Signal, error) {
	if !isDigits(off) {
		return 0, fmt.Errorf("unknown signal %q", orig)
	}
	n, err := strconv.Atoi(off)
	sig := int(base) + dir*n
	if err != nil || n > Max || sig < int(RTMin) || sig > int(RTMax) {
		return 0, fmt.Errorf("signal %q is out of range RTMIN-RTMAX (%d-%d)", orig, RTMin, RTMax)
	}
	return unix.Signal(sig), nil
}

// asciiUpper upper-cases ASCII letters only, so that e.g. "ſigterm" (long s,
// which strings.ToUpper maps to 'S') is not taken for SIGTERM.
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Name returns the canonical name of sig: "SIGTERM", "SIGRTMIN", "SIGRTMIN+3",
// "SIGRTMAX-2", "SIGRTMAX". Real-time signals up to SIGRTMIN+15 are named
// from RTMIN, the rest from RTMAX, like bash's "kill -l". Valid signals with
// no name (32 and 33, reserved by glibc) and out-of-range values are given as
// their decimal number, which Parse accepts for 1..64.
func Name(sig unix.Signal) string {
	switch {
	case sig == RTMin:
		return "SIGRTMIN"
	case sig == RTMax:
		return "SIGRTMAX"
	case sig > RTMin && sig <= RTMin+15:
		return "SIGRTMIN+" + strconv.Itoa(int(sig-RTMin))
	case sig > RTMin+15 && sig < RTMax:
		return "SIGRTMAX-" + strconv.Itoa(int(RTMax-sig))
	case sig > 0 && sig < RTMin:
		if n := unix.SignalName(sig); n != "" {
			return n
		}
	}
	return strconv.Itoa(int(sig))
}
