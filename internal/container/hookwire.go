package container

import (
	"context"

	"github.com/bwrap-oci/bwrap-oci/internal/hooks"
	"github.com/bwrap-oci/bwrap-oci/internal/state"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func hookState(st *state.State, status specs.ContainerState) *specs.State {
	s := &specs.State{Version: st.OCIVersion, ID: st.ID, Status: status, Bundle: st.Bundle, Annotations: st.Annotations}
	if status != specs.StateStopped {
		s.Pid = st.Pid
	}
	return s
}

func (rt *Runtime) runHooks(k hooks.Kind, hs *specs.Hooks, s *specs.State) error {
	err := hooks.Run(context.Background(), k, hooks.Of(hs, k), s)
	if k.Continues() {
		for _, e := range hooks.Errors(err) {
			rt.warn(e.Error())
		}
		return nil
	}
	return err
}

// savedHooks are the hooks of the config the container was created with.
func (rt *Runtime) savedHooks(st *state.State) *specs.Hooks {
	if s, err := rt.createdConfig(st); err == nil {
		return s.Hooks
	}
	return nil
}
