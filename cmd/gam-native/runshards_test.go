package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/generate"
	"github.com/gam-native/gam-native/internal/jsonfile"
	"github.com/gam-native/gam-native/plan"
)

// TestRunWithShards (issue 25): a run with [generate] shards = 2 makes its round as two
// generate-shard processes and merges them into accepted/: each shard's folder has its result;
// every accepted record of the round names its shard, and no target gets more than its count
// (the shortfall is what the merge says); generate.json and report.md list the two shards; a
// second `run --resume` of the finished run leaves accepted/ as it was.
func TestRunWithShards(t *testing.T) {
	cliEngine(t).Close()
	tmp := t.TempDir()
	job := writeFile(t, filepath.Join(tmp, "job.toml"), strings.NewReplacer("max_attempts = 10\n", "max_attempts = 10\nshards = 2\n").Replace(round0Job))
	dir := filepath.Join(tmp, "run")
	if b, err := cliCmd("run", "--config", job, "--dir", dir, "-q").CombinedOutput(); err != nil {
		t.Fatalf("run: %v\n%s", err, b)
	}
	for _, s := range []string{"shard-0", "shard-1"} {
		if _, err := os.Stat(filepath.Join(dir, "rounds", "r1", "shards", s, "shard.json")); err != nil {
			t.Fatalf("shard %s left no result: %v", s, err)
		}
	}
	var res generate.Result
	if err := jsonfile.ReadJSON(filepath.Join(dir, "rounds", "r1", "generate.json"), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Shards) != 2 || res.Shards[0].Shard != "0/2" || res.Shards[1].Shard != "1/2" {
		t.Fatalf("generate.json's shards: %+v, want 0/2 and 1/2", res.Shards)
	}
	var p plan.Plan
	if err := jsonfile.ReadJSON(filepath.Join(dir, "rounds", "r1", "plan.json"), &p); err != nil {
		t.Fatal(err)
	}
	// The round's images are in accepted/, or in rolled_back/ when feedback rolled their target
	// back.
	perTarget, perShard := map[string]int{}, map[string]int{}
	for _, folder := range []string{"accepted", "rolled_back"} {
		recs, err := data.ReadManifestIfAny(filepath.Join(dir, folder, data.ManifestName))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Provenance == nil || r.Provenance.Round != 1 {
				continue
			}
			if r.Provenance.Shard == "" {
				t.Fatalf("%s: no shard in its provenance", r.Path)
			}
			if _, err := os.Stat(filepath.Join(dir, folder, r.Path)); err != nil {
				t.Fatalf("%s: %v", r.Path, err)
			}
			perTarget[r.Provenance.Target]++
			perShard[r.Provenance.Shard]++
		}
	}
	kept := 0
	for _, s := range res.Shards {
		if perShard[s.Shard] != s.Kept {
			t.Errorf("shard %s: %d records in accepted/, generate.json says %d kept", s.Shard, perShard[s.Shard], s.Kept)
		}
		kept += s.Kept
	}
	if kept != res.Accepted || kept == 0 {
		t.Fatalf("the shards kept %d, generate.json says %d accepted", kept, res.Accepted)
	}
	for i, tg := range p.Targets {
		tr := res.Targets[i]
		if perTarget[tg.ID] > tg.Count || perTarget[tg.ID] != tr.Accepted || tr.Accepted+tr.Shortfall != tg.Count {
			t.Errorf("target %s: %d accepted records, count %d, generate.json %+v", tg.ID, perTarget[tg.ID], tg.Count, tr)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil || !strings.Contains(string(md), "### Shards") || !strings.Contains(string(md), " 1/2 ") {
		t.Fatalf("report.md does not show the shards (%v):\n%s", err, md)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "accepted", data.ManifestName))
	if len(before) == 0 && perShard["0/2"]+perShard["1/2"] == 0 {
		t.Fatal("no image of the round anywhere")
	}
	if b, err := cliCmd("run", "--resume", dir, "-q").CombinedOutput(); err != nil {
		t.Fatalf("run --resume: %v\n%s", err, b)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "accepted", data.ManifestName)); string(after) != string(before) {
		t.Fatal("resuming the finished run changed accepted/")
	}
	t.Logf("%d accepted from 2 shards (%+v)", res.Accepted, res.Shards)
}
