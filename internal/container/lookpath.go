package container

import (
	"fmt"
	"os"
	"path"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// NotFoundError is a process.args[0] that does not resolve to an executable
// in the rootfs. Engines map its text ("executable file not found",
// "permission denied") to exit statuses 127 and 126, as with runc.
type NotFoundError struct {
	File, Name string
	Denied     bool
}

func (e *NotFoundError) Error() string {
	if e.Denied {
		return fmt.Sprintf("%s: process.args[0]: exec: %q: permission denied", e.File, e.Name)
	}
	if strings.Contains(e.Name, "/") {
		return fmt.Sprintf("%s: process.args[0]: exec: %q: no such file or directory", e.File, e.Name)
	}
	return fmt.Sprintf("%s: process.args[0]: exec: %q: executable file not found in $PATH", e.File, e.Name)
}

// ExitCode is the shell's status for the failure.
func (e *NotFoundError) ExitCode() int {
	if e.Denied {
		return 126
	}
	return 127
}

// lookPath checks that name resolves to an executable inside rootfs, the
// way execvp will resolve it in the container (PATH from env, relative
// names against cwd). A path that cannot be checked from outside (it lies
// under a mount) is let through: bwrap reports it.
func lookPath(rootfs, cwd, name string, env []string, file string, mounted func(string) bool) error {
	var candidates []string
	if strings.Contains(name, "/") {
		p := name
		if !path.IsAbs(p) {
			p = path.Join(cwd, p)
		}
		candidates = []string{p}
	} else {
		pathVar := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
		for _, e := range env {
			if v, ok := strings.CutPrefix(e, "PATH="); ok {
				pathVar = v
			}
		}
		for _, dir := range strings.Split(pathVar, ":") {
			if dir == "" {
				dir = "."
			}
			if !path.IsAbs(dir) {
				dir = path.Join(cwd, dir)
			}
			candidates = append(candidates, path.Join(dir, name))
		}
	}
	denied := false
	for _, c := range candidates {
		if mounted(c) {
			return nil
		}
		host, err := securejoin.SecureJoin(rootfs, c)
		if err != nil {
			continue
		}
		fi, err := os.Stat(host)
		if err != nil || fi.IsDir() {
			continue
		}
		if fi.Mode()&0o111 == 0 {
			denied = true
			continue
		}
		return nil
	}
	return &NotFoundError{File: file, Name: name, Denied: denied}
}
