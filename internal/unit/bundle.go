package unit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bwrap-oci/bwrap-oci/internal/bwrap"
	"github.com/bwrap-oci/bwrap-oci/internal/spec"
)

// BundleOptions are what the command line says about the unit to write.
type BundleOptions struct {
	ID      string // "" for the bundle directory's name, as for run
	Name    string // unit name; "" for DefaultName(ID)
	Bundle  string // bundle directory, relative or absolute
	Config  string // config file; "" for BUNDLE/config.json
	Root    string // --root of the runtime, "" for the default
	Bwrap   string // --bwrap of the runtime
	Restart string
	Exe     string // the bwrap-oci binary; "" for this process's own
}

// FromBundle reads the bundle's config and finds what Generate needs: the
// config must be valid, and the process is resolved in the rootfs to tell
// an init. Paths become absolute.
func FromBundle(b BundleOptions) (Options, error) {
	o := Options{ID: b.ID, Name: b.Name, Restart: b.Restart, Bwrap: b.Bwrap}
	var err error
	if o.Bundle, err = filepath.Abs(b.Bundle); err != nil {
		return o, err
	}
	if fi, err := os.Stat(o.Bundle); err != nil || !fi.IsDir() {
		return o, &spec.Error{File: o.Bundle, Msg: "bundle directory does not exist"}
	}
	if o.ID == "" {
		o.ID = filepath.Base(o.Bundle)
	}
	configFile := filepath.Join(o.Bundle, "config.json")
	if b.Config != "" {
		if configFile, err = filepath.Abs(b.Config); err != nil {
			return o, err
		}
		o.Config = configFile
	}
	cfg, err := spec.Load(configFile)
	if err != nil {
		return o, err
	}
	if err := spec.Validate(cfg); err != nil {
		return o, err
	}
	o.Spec = cfg.Spec
	rootfs := spec.RootfsPath(o.Bundle, o.Spec)
	if rootfs, err = filepath.EvalSymlinks(rootfs); err != nil {
		return o, &spec.Error{File: configFile, Field: "root.path", Msg: err.Error()}
	}
	o.Init = IsInit(o.Spec, func(p string) (string, error) { return bwrap.RealHost{}.InRoot(rootfs, p) })
	if b.Root != "" {
		if o.Root, err = filepath.Abs(b.Root); err != nil {
			return o, err
		}
	}
	if strings.Contains(o.Bwrap, "/") {
		if o.Bwrap, err = filepath.Abs(o.Bwrap); err != nil {
			return o, err
		}
	}
	o.Exe = b.Exe
	if o.Exe == "" {
		if o.Exe, err = os.Executable(); err != nil {
			return o, fmt.Errorf("finding the bwrap-oci binary: %v", err)
		}
		if strings.HasSuffix(o.Exe, " (deleted)") {
			return o, fmt.Errorf("the running bwrap-oci binary %s was removed: run the installed one", strings.TrimSuffix(o.Exe, " (deleted)"))
		}
	}
	if o.Exe, err = filepath.Abs(o.Exe); err != nil {
		return o, err
	}
	return o, nil
}

// Write saves the unit as the file out, or in the directory out under its
// name, and returns the file's path. It replaces the file atomically.
func Write(u *Unit, out string) (string, error) {
	if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		out = filepath.Join(out, u.Name)
	}
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp*")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(u.Text); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return out, os.Rename(f.Name(), out)
}
