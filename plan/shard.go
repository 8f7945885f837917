package plan

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is one of Count parts of a plan's generation: a cluster runs Count processes (a
// Kubernetes Indexed Job's completions, a Slurm array's tasks), each making its share of every
// target's quota into its own folder, and `gam-native merge` joins them. The zero value and
// {0, 1} are the whole plan.
type Shard struct {
	Index int // 0 <= Index < Count
	Count int // >= 1
}

// MaxShards bounds Count: far more shards than any plan has images in a target only splits the
// quotas into zeros.
const MaxShards = 100000

// Whole reports whether s is the whole plan (no sharding).
func (s Shard) Whole() bool { return s.Count <= 1 }

func (s Shard) String() string {
	if s.Whole() {
		return "0/1"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Validate checks 0 <= Index < Count <= MaxShards.
func (s Shard) Validate() error {
	if s.Count < 1 || s.Count > MaxShards {
		return fmt.Errorf("shard count %d: want 1 to %d", s.Count, MaxShards)
	}
	if s.Index < 0 || s.Index >= s.Count {
		return fmt.Errorf("shard index %d: want 0 to %d (count %d)", s.Index, s.Count-1, s.Count)
	}
	return nil
}

// ParseShard reads "I/N" (0-based index I of N shards).
func ParseShard(v string) (Shard, error) {
	i, n, ok := strings.Cut(strings.TrimSpace(v), "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: want I/N, e.g. 0/4 (index I from 0 to N-1)", v)
	}
	idx, err1 := strconv.Atoi(i)
	cnt, err2 := strconv.Atoi(n)
	if err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: want I/N with whole numbers, e.g. 0/4", v)
	}
	s := Shard{Index: idx, Count: cnt}
	if err := s.Validate(); err != nil {
		return Shard{}, fmt.Errorf("shard %q: %w", v, err)
	}
	return s, nil
}

// Environment variables a batch system sets for each task of an array job.
const (
	EnvK8sIndex   = "JOB_COMPLETION_INDEX"   // Kubernetes Indexed Job: the pod's index
	EnvSlurmTask  = "SLURM_ARRAY_TASK_ID"    // Slurm array: this task's id
	EnvSlurmCount = "SLURM_ARRAY_TASK_COUNT" // Slurm array: the number of tasks
	EnvSlurmMin   = "SLURM_ARRAY_TASK_MIN"   // Slurm array: the lowest id (ids need not start at 0)
)

// ShardFromEnv finds the shard when no --shard was given: a Kubernetes Indexed Job's
// JOB_COMPLETION_INDEX with numShards (the Job's completions, which Kubernetes does not put in
// the pod's environment), or a Slurm array's SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT
// (ids offset by SLURM_ARRAY_TASK_MIN when set, so --array=1-4 works too). ok is false when
// neither is set: the whole plan. getenv is os.Getenv in the program, a map in tests.
func ShardFromEnv(getenv func(string) string, numShards int) (s Shard, source string, ok bool, err error) {
	atoi := func(name string) (int, error) {
		v, err := strconv.Atoi(strings.TrimSpace(getenv(name)))
		if err != nil {
			return 0, fmt.Errorf("%s=%q: want a whole number", name, getenv(name))
		}
		return v, nil
	}
	if getenv(EnvK8sIndex) != "" {
		idx, err := atoi(EnvK8sIndex)
		if err != nil {
			return Shard{}, EnvK8sIndex, false, err
		}
		if numShards < 1 {
			return Shard{}, EnvK8sIndex, false, fmt.Errorf("%s is set (a Kubernetes Indexed Job) but --num-shards is not: give the Job's completions", EnvK8sIndex)
		}
		s = Shard{Index: idx, Count: numShards}
		if err := s.Validate(); err != nil {
			return Shard{}, EnvK8sIndex, false, fmt.Errorf("%s with --num-shards %d: %w", EnvK8sIndex, numShards, err)
		}
		return s, EnvK8sIndex, true, nil
	}
	if getenv(EnvSlurmTask) != "" {
		id, err := atoi(EnvSlurmTask)
		if err != nil {
			return Shard{}, EnvSlurmTask, false, err
		}
		cnt := numShards
		if getenv(EnvSlurmCount) != "" {
			if cnt, err = atoi(EnvSlurmCount); err != nil {
				return Shard{}, EnvSlurmTask, false, err
			}
			if numShards >= 1 && numShards != cnt {
				return Shard{}, EnvSlurmTask, false, fmt.Errorf("--num-shards %d disagrees with %s=%d", numShards, EnvSlurmCount, cnt)
			}
		}
		if cnt < 1 {
			return Shard{}, EnvSlurmTask, false, fmt.Errorf("%s is set but neither %s nor --num-shards is", EnvSlurmTask, EnvSlurmCount)
		}
		lo := 0
		if getenv(EnvSlurmMin) != "" {
			if lo, err = atoi(EnvSlurmMin); err != nil {
				return Shard{}, EnvSlurmTask, false, err
			}
		}
		s = Shard{Index: id - lo, Count: cnt}
		if err := s.Validate(); err != nil {
			return Shard{}, EnvSlurmTask, false, fmt.Errorf("%s=%d (min %d, count %d): %w", EnvSlurmTask, id, lo, cnt, err)
		}
		return s, EnvSlurmTask, true, nil
	}
	return Shard{}, "", false, nil
}

// ShareOf is shard s's part of a quota of n images: n/Count, the remainder n%Count going one
// each to shards rotate, rotate+1, ... (cyclically). The shares of all shards sum to n.
func (s Shard) ShareOf(n, rotate int) int {
	if s.Whole() {
		return n
	}
	q, r := n/s.Count, n%s.Count
	pos := ((s.Index-rotate)%s.Count + s.Count) % s.Count
	if pos < r {
		q++
	}
	return q
}

// Split is the plan shard s makes: the same targets in the same order with each count replaced
// by the shard's share (a target whose share is 0 keeps its place with count 0, so that target
// indices agree across shards), and Budget the sum of the shares. The remainders are dealt
// round-robin across targets, so that shards differ by at most one image in total (a plan of
// many small targets does not load every extra image on shard 0). p is not changed.
func (p *Plan) Split(s Shard) *Plan {
	out := *p
	out.Targets = make([]Target, len(p.Targets))
	out.Budget = 0
	next := 0 // the shard the next remainder image goes to
	for i, t := range p.Targets {
		n := t.Count
		t.Count = s.ShareOf(n, next)
		if !s.Whole() {
			next = (next + n%s.Count) % s.Count
		}
		t.ConfusedWith = append([]Confuser(nil), t.ConfusedWith...)
		out.Targets[i] = t
		out.Budget += t.Count
	}
	return &out
}

// Seed is shard s's generation seed under the run's seed: the seed itself for the whole plan
// (an unsharded run makes the images it always made), else a SplitMix64 mix of the seed and
// the shard, so that shards draw different images and each is reproducible alone.
func (s Shard) Seed(seed uint64) uint64 {
	if s.Whole() {
		return seed
	}
	z := seed + 0x9e3779b97f4a7c15*uint64(s.Index+1) + uint64(s.Count)<<32
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
