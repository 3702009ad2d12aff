package cgroup

import "golang.org/x/sys/unix"

// RealStatFS is statfs(2).
func RealStatFS(path string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return int64(st.Type), nil
}
