package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/internal/testenv"
)

// TestShardedGenerateMerges (issue 25): a plan generated as 3 shards and merged gives every
// target exactly its count, no image twice, PNGs that decode, the shard in each record; a second
// merge gives the same bytes; a missing or unfinished shard is refused by name, and rerunning
// the unfinished shard alone completes the merge with the same bytes.
func TestShardedGenerateMerges(t *testing.T) {
	e := cliEngine(t)
	tmp := t.TempDir()
	gen, screen := trainedTestModels(t, e)
	e.Close()
	const perTarget = 7 // 7 = 3+2+2: the shards' shares differ
	planPath := tenTargetPlan(t, tmp, perTarget)
	cfg := filepath.Join(tmp, "job.toml")
	os.WriteFile(cfg, []byte("[generate]\nbatch_size = 16\nprob_threshold = 0.3\n"), 0o644)
	shardArgs := func(i int) []string {
		return []string{"generate", "--plan", planPath, "--out", filepath.Join(tmp, fmt.Sprintf("shard-%d", i)), "--config", cfg,
			"--seed", "5", "-q", "--generator", gen, "--screen", screen, "--shard", fmt.Sprintf("%d/3", i)}
	}
	shardDirs := []string{}
	for i := 0; i < 3; i++ {
		if out, err := cliCmd(shardArgs(i)...).CombinedOutput(); err != nil {
			t.Fatalf("shard %d: %v\n%s", i, err, out)
		}
		shardDirs = append(shardDirs, filepath.Join(tmp, fmt.Sprintf("shard-%d", i)))
	}
	merged := filepath.Join(tmp, "merged")
	merge := func(dirs ...string) ([]byte, error) {
		return cliCmd(append([]string{"merge", "--out", merged, "-q"}, dirs...)...).CombinedOutput()
	}
	if out, err := merge(shardDirs[2], shardDirs[0], shardDirs[1]); err != nil { // any order
		t.Fatalf("merge: %v\n%s", err, out)
	}
	recs, err := data.ReadManifestRecords(filepath.Join(merged, data.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	perTargetGot := map[string]int{}
	seenPath, seenBytes := map[string]bool{}, map[string]string{}
	shardsSeen := map[string]bool{}
	for _, r := range recs {
		perTargetGot[r.Provenance.Target]++
		shardsSeen[r.Provenance.Shard] = true
		if seenPath[r.Path] {
			t.Errorf("%s appears twice in the manifest", r.Path)
		}
		seenPath[r.Path] = true
		b, err := os.ReadFile(filepath.Join(merged, r.Path))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("%s does not decode: %v", r.Path, err)
		}
		s := sha256.Sum256(b)
		if prev, dup := seenBytes[string(s[:])]; dup {
			t.Errorf("%s and %s are the same image", prev, r.Path)
		}
		seenBytes[string(s[:])] = r.Path
		if want := data.ClassFolder(r.Class); !strings.HasPrefix(r.Path, want+"/") {
			t.Errorf("%s of class %s is not in its class folder %s", r.Path, r.Class, want)
		}
	}
	for c := 0; c < 10; c++ {
		if got := perTargetGot[fmt.Sprintf("c%d", c)]; got != perTarget {
			t.Errorf("target c%d: %d images after the merge, want the plan's %d", c, got, perTarget)
		}
	}
	if len(shardsSeen) != 3 || !shardsSeen["0/3"] || !shardsSeen["2/3"] {
		t.Errorf("records name the shards %v, want 0/3, 1/3 and 2/3", shardsSeen)
	}
	var mr mergeRecord
	b, _ := os.ReadFile(filepath.Join(merged, mergeRecordName))
	if err := json.Unmarshal(b, &mr); err != nil || len(mr.Shards) != 3 || mr.Kept != 10*perTarget {
		t.Errorf("merge.json: %+v, %v; want 3 shards and %d kept", mr, err, 10*perTarget)
	}
	first := testenv.TreeDigest(t, merged)

	// Again: the same bytes.
	if out, err := merge(shardDirs...); err != nil {
		t.Fatalf("second merge: %v\n%s", err, out)
	}
	if again := testenv.TreeDigest(t, merged); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("a second merge changed the output:\n%v\n%v", first, again)
	}

	// A missing shard, by index.
	if out, err := merge(shardDirs[0], shardDirs[2]); err == nil || !strings.Contains(string(out), "shard 1/3 missing") {
		t.Errorf("merge without shard 1: %v\n%s", err, out)
	}
	// Shard 1 killed mid-way: its record has no result and its manifest half its images.
	recPath := filepath.Join(shardDirs[1], genRecordName)
	var gr map[string]any
	b, _ = os.ReadFile(recPath)
	json.Unmarshal(b, &gr)
	delete(gr, "result")
	b, _ = json.Marshal(gr)
	os.WriteFile(recPath, b, 0o644)
	man := filepath.Join(shardDirs[1], data.ManifestName)
	lines, _ := os.ReadFile(man)
	ls := strings.SplitAfter(string(lines), "\n")
	os.WriteFile(man, []byte(strings.Join(ls[:len(ls)/2], "")), 0o644)
	if out, err := merge(shardDirs...); err == nil || !strings.Contains(string(out), "unfinished") || !strings.Contains(string(out), shardDirs[1]) {
		t.Errorf("merge with an unfinished shard: %v\n%s", err, out)
	}
	if again := testenv.TreeDigest(t, merged); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("a refused merge touched the output")
	}
	if out, err := cliCmd(shardArgs(1)...).CombinedOutput(); err != nil {
		t.Fatalf("shard 1 again: %v\n%s", err, out)
	}
	if out, err := merge(shardDirs...); err != nil {
		t.Fatalf("merge after shard 1 completed: %v\n%s", err, out)
	}
	if again := testenv.TreeDigest(t, merged); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("the merge after shard 1 was rerun differs from the first:\n%v\n%v", first, again)
	}

	// A first merge killed half-way through its images (the test hook exits as a kill would):
	// merge.json with nothing kept, some images, no manifest. The same merge takes the folder
	// again and gives the same bytes.
	killed := filepath.Join(tmp, "killed")
	cmd := cliCmd("merge", "--out", killed, "-q", shardDirs[0], shardDirs[1], shardDirs[2])
	cmd.Env = append(cmd.Env, fmt.Sprintf("GAM_TEST_MERGE_EXIT_AFTER=%d", 5*perTarget))
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("the merge with its kill hook did not stop:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(killed, data.ManifestName)); err == nil {
		t.Fatalf("the killed merge wrote its manifest")
	}
	pngs, _ := filepath.Glob(filepath.Join(killed, "*", "*.png"))
	if len(pngs) != 5*perTarget {
		t.Errorf("the killed merge left %d images, want the hook's %d", len(pngs), 5*perTarget)
	}
	if out, err := cliCmd("merge", "--out", killed, "-q", shardDirs[0], shardDirs[1], shardDirs[2]).CombinedOutput(); err != nil {
		t.Fatalf("merge again into the killed merge's folder: %v\n%s", err, out)
	}
	if again := testenv.TreeDigest(t, killed); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("the merge redone after a kill differs from the first:\n%v\n%v", first, again)
	}
}
