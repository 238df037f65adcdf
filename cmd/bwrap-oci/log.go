package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// logger writes the runtime's messages: to stderr, and with --log to a file
// as text or JSON lines (level, msg, time), as engines expect from runc.
type logger struct {
	file   *os.File
	json   bool
	debug  bool
	stderr bool
}

var logs = &logger{stderr: true}

func (l *logger) open(path, format string, debug bool) error {
	l.debug = debug
	switch format {
	case "", "text":
	case "json":
		l.json = true
	default:
		return fmt.Errorf("--log-format: %q is not text or json", format)
	}
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("--log %s: %v", path, err)
	}
	l.file = f
	return nil
}

func (l *logger) write(level, msg string) {
	if level == "debug" && !l.debug {
		return
	}
	// With --log, as with runc, only errors also reach stderr: engines
	// read stderr whole when the runtime fails.
	if l.stderr && (l.file == nil || level == "error") {
		prefix := "bwrap-oci: "
		if level != "error" {
			prefix += level + ": "
		}
		fmt.Fprintln(os.Stderr, prefix+msg)
	}
	if l.file == nil {
		return
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if l.json {
		data, _ := json.Marshal(struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Time  string `json:"time"`
		}{level, msg, now})
		fmt.Fprintf(l.file, "%s\n", data)
		return
	}
	fmt.Fprintf(l.file, "time=%q level=%s msg=%q\n", now, level, msg)
}

func warn(msg string)   { logs.write("warning", oneLine(msg)) }
func debugf(msg string) { logs.write("debug", oneLine(msg)) }
