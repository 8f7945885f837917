package hostres

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Host reads the host's memory for the CPU path. Root "" means "/"; tests point it at a fake tree.
type Host struct{ Root string }

func (h Host) path(p string) string { return filepath.Join(h.rootDir(), p) }

func (h Host) rootDir() string {
	if h.Root == "" {
		return "/"
	}
	return h.Root
}

// Read returns free and total bytes. With a cgroup v2 limit (memory.max not "max") total is the
// limit and free is limit - memory.current, but never more than MemAvailable; otherwise both come
// from /proc/meminfo (MemAvailable, MemTotal).
func (h Host) Read() (free, total uint64, source string, err error) {
	avail, memTotal, merr := h.meminfo()
	limit, ok := h.cgroupLimit()
	if ok {
		used, _ := readUint(h.path("sys/fs/cgroup/memory.current"))
		free = 0
		if used < limit {
			free = limit - used
		}
		if merr == nil {
			free = min(free, avail)
		}
		return free, limit, "cgroup", nil
	}
	if merr != nil {
		return 0, 0, "", merr
	}
	return avail, memTotal, "meminfo", nil
}

func (h Host) cgroupLimit() (uint64, bool) {
	b, err := os.ReadFile(h.path("sys/fs/cgroup/memory.max"))
	if err != nil {
		return 0, false
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

func readUint(p string) (uint64, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

func (h Host) meminfo() (avail, total uint64, err error) {
	b, err := os.ReadFile(h.path("proc/meminfo"))
	if err != nil {
		return 0, 0, err
	}
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "MemAvailable:":
			avail, found = v*1024, found|1
		case "MemTotal:":
			total, found = v*1024, found|2
		}
	}
	if found&1 == 0 {
		return 0, 0, errors.New("proc/meminfo: no MemAvailable line")
	}
	if found&2 == 0 {
		total = avail
	}
	return avail, total, nil
}
