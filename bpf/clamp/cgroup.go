package clamp

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// RootCgroup returns the mount point of the first cgroup2 file system in
// /proc/self/mounts, such as /sys/fs/cgroup on a unified hierarchy or
// /sys/fs/cgroup/unified on a hybrid one.
func RootCgroup() (string, error) {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return "", fmt.Errorf("find cgroup2 mount: %w", err)
	}
	defer f.Close()
	return findCgroup2(f)
}

// findCgroup2 returns the mount point of the first cgroup2 line of a
// mounts table. Spaces in a mount point are escaped as \040.
func findCgroup2(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 3 && f[2] == "cgroup2" {
			return strings.ReplaceAll(f[1], `\040`, " "), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read mounts: %w", err)
	}
	return "", fmt.Errorf("%w: no cgroup2 file system in /proc/self/mounts;"+
		" mount one (mount -t cgroup2 none /sys/fs/cgroup)", ErrNoCgroup2)
}

// checkCgroup2 reports an error unless path is a directory on a cgroup2
// file system.
func checkCgroup2(path string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return fmt.Errorf("%w: cgroup %s: %w", ErrNoCgroup2, path, err)
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		return fmt.Errorf("%w: %s is not on a cgroup2 file system;"+
			" name a directory under the cgroup2 mount", ErrNoCgroup2, path)
	}
	return nil
}
