//go:build unix

package fix

import (
	"os"
	"syscall"
)

// fileOwner is a file's owner and group, or -1 when it has none to keep.
func fileOwner(st os.FileInfo) (owner, group int) {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(sys.Uid), int(sys.Gid)
	}
	return -1, -1
}
