//go:build !amd64

package keeper

import "errors"

// unshareInHolder is only written for amd64; elsewhere the holder is cloned
// into its namespace (newUserNSClone).
func unshareInHolder(pid int) error {
	return errors.New("unshare in the holder: not on this architecture")
}
