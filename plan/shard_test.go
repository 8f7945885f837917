package plan

import (
	"strings"
	"testing"
)

func TestParseShard(t *testing.T) {
	cases := []struct {
		in      string
		want    Shard
		wantErr string
	}{
		{"0/1", Shard{0, 1}, ""},
		{"2/3", Shard{2, 3}, ""},
		{" 0/4 ", Shard{0, 4}, ""},
		{"3/3", Shard{}, "index 3: want 0 to 2"},
		{"-1/3", Shard{}, "index -1"},
		{"0/0", Shard{}, "count 0: want 1 to"},
		{"1", Shard{}, "want I/N"},
		{"a/3", Shard{}, "whole numbers"},
		{"0/1000001", Shard{}, "count 1000001"},
	}
	for _, c := range cases {
		got, err := ParseShard(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), strings.TrimSpace(c.in)) {
				t.Errorf("ParseShard(%q): err %v, want one naming the value and containing %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestShardFromEnv(t *testing.T) {
	cases := []struct {
		desc      string
		env       map[string]string
		numShards int
		want      Shard
		source    string
		ok        bool
		wantErr   string
	}{
		{"nothing set: the whole plan", nil, 0, Shard{}, "", false, ""},
		{"kubernetes indexed job", map[string]string{EnvK8sIndex: "2"}, 4, Shard{2, 4}, EnvK8sIndex, true, ""},
		{"kubernetes without --num-shards", map[string]string{EnvK8sIndex: "2"}, 0, Shard{}, EnvK8sIndex, false, "--num-shards is not"},
		{"kubernetes index past the count", map[string]string{EnvK8sIndex: "4"}, 4, Shard{}, EnvK8sIndex, false, "index 4"},
		{"kubernetes index not a number", map[string]string{EnvK8sIndex: "x"}, 4, Shard{}, EnvK8sIndex, false, "JOB_COMPLETION_INDEX=\"x\""},
		{"slurm array 0-2", map[string]string{EnvSlurmTask: "1", EnvSlurmCount: "3", EnvSlurmMin: "0"}, 0, Shard{1, 3}, EnvSlurmTask, true, ""},
		{"slurm array 1-4 (ids from 1)", map[string]string{EnvSlurmTask: "4", EnvSlurmCount: "4", EnvSlurmMin: "1"}, 0, Shard{3, 4}, EnvSlurmTask, true, ""},
		{"slurm count from --num-shards", map[string]string{EnvSlurmTask: "0"}, 2, Shard{0, 2}, EnvSlurmTask, true, ""},
		{"slurm count disagrees", map[string]string{EnvSlurmTask: "0", EnvSlurmCount: "3"}, 2, Shard{}, EnvSlurmTask, false, "disagrees"},
		{"slurm without a count", map[string]string{EnvSlurmTask: "0"}, 0, Shard{}, EnvSlurmTask, false, "neither"},
		{"kubernetes wins over slurm", map[string]string{EnvK8sIndex: "1", EnvSlurmTask: "0", EnvSlurmCount: "9"}, 2, Shard{1, 2}, EnvK8sIndex, true, ""},
	}
	for _, c := range cases {
		get := func(k string) string { return c.env[k] }
		s, src, ok, err := ShardFromEnv(get, c.numShards)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: err %v, want %q", c.desc, err, c.wantErr)
			}
			continue
		}
		if err != nil || s != c.want || src != c.source || ok != c.ok {
			t.Errorf("%s: got %v %q %v %v; want %v %q %v", c.desc, s, src, ok, err, c.want, c.source, c.ok)
		}
	}
}

// TestSplitSharesSumToThePlan: for every shard count, the shards' counts of each target sum to the
// target's count, each shard's share of a target and its total are within one of the others', and
// the extras are dealt round-robin so that shard 0 does not take them all.
func TestSplitSharesSumToThePlan(t *testing.T) {
	p := &Plan{Budget: 1010, Targets: []Target{{ID: "shirt", Count: 1000}, {ID: "coat", Count: 7}, {ID: "bag", Count: 2}, {ID: "dress", Count: 1}, {ID: "boot", Count: 0}}}
	for n := 1; n <= 7; n++ {
		sums := make([]int, len(p.Targets))
		budgets := 0
		perShard := make([]int, n)
		for i := 0; i < n; i++ {
			sp := p.Split(Shard{i, n})
			if len(sp.Targets) != len(p.Targets) {
				t.Fatalf("n=%d: shard %d has %d targets, want %d (indices must agree)", n, i, len(sp.Targets), len(p.Targets))
			}
			for j, tg := range sp.Targets {
				if tg.ID != p.Targets[j].ID {
					t.Fatalf("n=%d shard %d: target %d is %s, want %s", n, i, j, tg.ID, p.Targets[j].ID)
				}
				lo, hi := p.Targets[j].Count/n, (p.Targets[j].Count+n-1)/n
				if tg.Count < lo || tg.Count > hi {
					t.Errorf("n=%d shard %d %s: %d, want %d..%d", n, i, tg.ID, tg.Count, lo, hi)
				}
				sums[j] += tg.Count
				perShard[i] += tg.Count
			}
			budgets += sp.Budget
		}
		for j, s := range sums {
			if s != p.Targets[j].Count {
				t.Errorf("n=%d: %s shares sum to %d, want %d", n, p.Targets[j].ID, s, p.Targets[j].Count)
			}
		}
		if budgets != 1010 {
			t.Errorf("n=%d: budgets sum to %d, want 1010", n, budgets)
		}
		lo, hi := perShard[0], perShard[0]
		for _, v := range perShard {
			lo, hi = min(lo, v), max(hi, v)
		}
		if hi-lo > 1 {
			t.Errorf("n=%d: per-shard totals %v differ by more than one image", n, perShard)
		}
		if n == 3 && (perShard[0] != 337 || perShard[1] != 337 || perShard[2] != 336) {
			// shirt 334/333/333, then the remainders dealt on: coat 2/3/2, bag 1/0/1, dress 0/1/0
			t.Errorf("n=3: per-shard totals %v, want [337 337 336]", perShard)
		}
	}
	if p.Targets[0].Count != 1000 {
		t.Errorf("Split changed the plan it was given")
	}
}

func TestShardSeed(t *testing.T) {
	if got := (Shard{}).Seed(42); got != 42 {
		t.Errorf("whole plan: seed %d, want 42 (an unsharded run keeps its images)", got)
	}
	if got := (Shard{0, 1}).Seed(42); got != 42 {
		t.Errorf("0/1: seed %d, want 42", got)
	}
	seen := map[uint64]Shard{}
	for n := 2; n <= 4; n++ {
		for i := 0; i < n; i++ {
			s := Shard{i, n}.Seed(42)
			if prev, dup := seen[s]; dup {
				t.Errorf("shards %v and %v share seed %d", prev, Shard{i, n}, s)
			}
			seen[s] = Shard{i, n}
			if s != (Shard{i, n}).Seed(42) {
				t.Errorf("shard %v: seed not reproducible", Shard{i, n})
			}
		}
	}
}
