package spec

import (
	"errors"
	"io/fs"
	"strings"

	"github.com/bwrap-oci/bwrap-oci/internal/sysfile"
)

// ReadFile reads a config file, with Load's one-line errors. Load is
// ReadFile then Parse; a caller that also needs the bytes (the runtime keeps
// them as the container's copy of its config) calls the two itself.
func ReadFile(file string) ([]byte, error) {
	data, err := sysfile.ReadFile(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &Error{File: file, Msg: "no such file (write one with `bwrap-oci spec`)"}
		}
		return nil, &Error{File: file, Msg: strings.TrimPrefix(err.Error(), "open "+file+": ")}
	}
	return data, nil
}
