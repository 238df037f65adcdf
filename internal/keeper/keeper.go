// Package keeper makes multi-id user namespaces cheap to create.
//
// An unprivileged process can map more than its own id into a new user
// namespace only through the setuid helpers newuidmap and newgidmap, two
// executions that cost more than anything else the runtime does to start a
// container. A keeper is a small process of the caller's, one per state root
// and id mapping, whose own user namespace was mapped once by the helpers.
// Inside it the keeper holds CAP_SETUID and CAP_SETGID, so it can create and
// map, with two writes, user namespaces nested in its own. Each container
// gets a fresh one, mapped so that its ids mean on the host what the plain
// mapping would make them mean (Nested): the container still has a user
// namespace of its own, as the runtime spec requires, with the same host
// ids; bwrap joins it with --userns instead of creating one.
//
// The keeper listens on a socket in a directory of the state root that no
// container ID can name (Dir), answers only its own user, and exits after a
// while without requests (DefaultIdle). Containers do not depend on it: a
// nested namespace keeps its parent alive.
//
// Everything here but Key and Nested runs processes or sockets.
package keeper

import (
	"encoding/hex"
	"hash/fnv"
	"time"

	"github.com/bwrap-oci/bwrap-oci/internal/idmap"
)

const (
	// Arg is argv[1] of the keeper process (see Serve).
	Arg = "__bwrap-oci-userns-keeper"
	// Dir is the keepers' directory in the state root. '#' is not allowed
	// in a container ID, so no container can take the name and `list`
	// does not see it.
	Dir = "#userns"
	// DefaultIdle is how long a keeper waits for a request before it exits.
	DefaultIdle = 10 * time.Minute
	// protocol changes with the keeper's wire protocol: a keeper started by
	// an older binary has another key and is left to expire.
	protocol = "4"
)

// Key names the keeper of a mapping: 96 bits of the 128-bit FNV-1a hash of
// the protocol and the uid and gid maps, in hex. It need not resist
// attack: only the user can make a keeper, and every answer is checked
// against the maps (see verify).
func Key(uids, gids []idmap.Mapping) string {
	h := fnv.New128a()
	h.Write([]byte("bwrap-oci keeper " + protocol + "\nuid_map\n" + idmap.Format(uids) + "gid_map\n" + idmap.Format(gids)))
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// Nested returns the map of a user namespace nested in one mapped by ms, such
// that each id maps to the host id ms gives it: every line maps its
// container ids to themselves. The lines stay those of ms, because the
// kernel accepts a nested line only within one line of the parent's map.
func Nested(ms []idmap.Mapping) []idmap.Mapping {
	out := make([]idmap.Mapping, len(ms))
	for i, m := range ms {
		out[i] = idmap.Mapping{ContainerID: m.ContainerID, HostID: m.ContainerID, Size: m.Size}
	}
	return out
}
