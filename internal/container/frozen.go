package container

import (
	"path/filepath"

	"github.com/bwrap-oci/bwrap-oci/internal/spec"
	"github.com/bwrap-oci/bwrap-oci/internal/state"
	"github.com/bwrap-oci/bwrap-oci/internal/sysfile"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// FrozenConfig is the copy of the config a container was created with, in
// its state dir: exec, hooks and seccomp use it, since the runtime spec says
// later changes to the bundle's config.json do not affect the container.
const FrozenConfig = "config.json"

// freezeConfig writes that copy (0600, in the caller's private state dir):
// the bytes that were parsed, so that reading it back gives the same config
// (and costs no encoding).
func freezeConfig(dir string, data []byte) (string, error) {
	path := filepath.Join(dir, FrozenConfig)
	return path, sysfile.WriteFile(path, data, 0o600)
}

// createdConfig loads a container's frozen config once per invocation.
func (rt *Runtime) createdConfig(st *state.State) (*specs.Spec, error) {
	file := st.Extra["config"]
	if file == "" {
		file = filepath.Join(st.Bundle, "config.json")
	}
	if rt.configs == nil {
		rt.configs = map[string]*specs.Spec{}
	}
	if s, ok := rt.configs[file]; ok {
		return s, nil
	}
	cfg, err := spec.Load(file)
	if err != nil {
		return nil, err
	}
	rt.configs[file] = cfg.Spec
	return cfg.Spec, nil
}
