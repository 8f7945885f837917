package hostres

import (
	"os"
	"runtime"
	"strconv"
	"strings"
)

// CPUQuota is the number of CPUs this process may use: the cgroup v2 (cpu.max) or v1 quota when
// one is set, else the CPUs the scheduler gives it. LibTorch's default (all cores of the host)
// oversubscribes a container and slows every op.
func CPUQuota() int {
	n := runtime.NumCPU()
	if q, ok := cgroupQuota(); ok && q < n {
		n = q
	}
	if n < 1 {
		n = 1
	}
	return n
}

func cgroupQuota() (int, bool) {
	if b, err := os.ReadFile("/sys/fs/cgroup/cpu.max"); err == nil {
		return parseCPUMax(string(b))
	}
	q, err1 := os.ReadFile("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
	p, err2 := os.ReadFile("/sys/fs/cgroup/cpu/cpu.cfs_period_us")
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return parseCPUMax(strings.TrimSpace(string(q)) + " " + strings.TrimSpace(string(p)))
}

// parseCPUMax reads "quota period" ("max period" or a negative quota means no limit) and rounds
// the quota up to whole CPUs.
func parseCPUMax(s string) (int, bool) {
	f := strings.Fields(s)
	if len(f) != 2 || f[0] == "max" {
		return 0, false
	}
	q, err1 := strconv.ParseFloat(f[0], 64)
	p, err2 := strconv.ParseFloat(f[1], 64)
	if err1 != nil || err2 != nil || q <= 0 || p <= 0 {
		return 0, false
	}
	n := int(q / p)
	if float64(n)*p < q {
		n++
	}
	return n, true
}
