package clamp

import (
	"errors"
	"strings"
	"testing"
)

func TestFindCgroup2(t *testing.T) {
	mounts := `tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
cgroup2 /sys/fs/cgroup/my\040tree cgroup2 rw,relatime 0 0
cgroup2 /other cgroup2 rw 0 0
`
	got, err := findCgroup2(strings.NewReader(mounts))
	if err != nil {
		t.Fatalf("findCgroup2: %v", err)
	}
	if want := "/sys/fs/cgroup/my tree"; got != want {
		t.Errorf("findCgroup2 = %q, want %q", got, want)
	}
}

func TestFindCgroup2Missing(t *testing.T) {
	mounts := "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"
	_, err := findCgroup2(strings.NewReader(mounts))
	if !errors.Is(err, ErrNoCgroup2) {
		t.Errorf("err = %v, want ErrNoCgroup2", err)
	}
}
