// Package hostres reads the machine's resources: the CPUs this process may use (cgroup quota),
// the host's memory (cgroup limit, /proc/meminfo), this process's resident memory, and the GPUs'
// memory through NVML (github.com/NVIDIA/go-nvml, which dlopens libnvidia-ml at run time; tested
// with go-nvml's mocks). Package plan sizes batches from these figures through its Memory
// interface, which Memory here implements, so that plan stays pure Go.
package hostres
