package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// webdatasetCheck reads every shard of a webdataset folder with Python's tarfile, as
// webdataset's tar reader does: members grouped by the key before the first dot, each sample a
// png that PIL decodes, a cls equal to its json's label, a json record whose path is KEY.png;
// prints {"samples": N, "per_target": {...}, "shards": K} or fails.
const webdatasetCheck = `
import glob, io, json, sys, tarfile
from PIL import Image
samples, per_target = {}, {}
shards = sorted(glob.glob(sys.argv[1] + "/shard-*.tar"))
for p in shards:
    with tarfile.open(p) as tf:
        for m in tf.getmembers():
            key, ext = m.name.split(".", 1)
            samples.setdefault(key, {})[ext] = tf.extractfile(m).read()
for key, s in samples.items():
    assert sorted(s) == ["cls", "json", "png"], (key, sorted(s))
    rec = json.loads(s["json"])
    assert rec["path"] == key + ".png", (key, rec["path"])
    assert int(s["cls"]) == rec["label"], (key, s["cls"], rec["label"])
    img = Image.open(io.BytesIO(s["png"])); img.load()
    assert img.size == (28, 28), img.size
    t = rec["provenance"]["target"]
    per_target[t] = per_target.get(t, 0) + 1
print(json.dumps({"samples": len(samples), "per_target": per_target, "shards": len(shards)}))
`

type wdsSummary struct {
	Samples   int            `json:"samples"`
	PerTarget map[string]int `json:"per_target"`
	Shards    int            `json:"shards"`
}

func readWebDatasetWithPython(t *testing.T, dir string) wdsSummary {
	t.Helper()
	b, err := exec.Command("/usr/bin/python3", "-c", webdatasetCheck, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("python tarfile on %s: %v\n%s", dir, err, b)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var s wdsSummary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil {
		t.Fatalf("python's output: %v\n%s", err, b)
	}
	return s
}

// TestGenerateWebDataset (issue 25): generate --format webdataset writes tar shards that
// Python's tarfile reads back as complete samples, every target its count; a second generate
// into it changes no byte; a review band with the format is refused before OUT exists; a merge
// of two ImageFolder shards with --format webdataset gives every target its count, and a
// webdataset output given to merge as a shard is refused by name.
func TestGenerateWebDataset(t *testing.T) {
	e := cliEngine(t)
	tmp := t.TempDir()
	gen, screen := trainedTestModels(t, e)
	e.Close()
	const perTarget = 4
	planPath := tenTargetPlan(t, tmp, perTarget)
	cfg := writeFile(t, filepath.Join(tmp, "job.toml"), lenientJob)
	args := func(out string, extra ...string) []string {
		return append([]string{"generate", "--plan", planPath, "--out", out, "--config", cfg, "--seed", "5", "-q",
			"--generator", gen, "--screen", screen}, extra...)
	}
	out := filepath.Join(tmp, "wds")
	if b, err := cliCmd(args(out, "--format", "webdataset")...).CombinedOutput(); err != nil {
		t.Fatalf("generate --format webdataset: %v\n%s", err, b)
	}
	got := readWebDatasetWithPython(t, out)
	if got.Samples != 10*perTarget || got.Shards != 1 {
		t.Fatalf("python read %+v, want %d samples in 1 shard", got, 10*perTarget)
	}
	for c := 0; c < 10; c++ {
		if n := got.PerTarget[fmt.Sprintf("c%d", c)]; n != perTarget {
			t.Errorf("target c%d: %d samples, want %d", c, n, perTarget)
		}
	}
	shard := filepath.Join(out, "shard-000000.tar")
	before, _ := os.ReadFile(shard)
	if b, err := cliCmd(args(out, "--format", "webdataset")...).CombinedOutput(); err != nil {
		t.Fatalf("generate again: %v\n%s", err, b)
	}
	if after, _ := os.ReadFile(shard); !bytes.Equal(before, after) {
		t.Fatal("a second generate into the same webdataset output changed its shard")
	}
	// The same folder as an ImageFolder is another output: refused.
	if b, err := cliCmd(args(out)...).CombinedOutput(); err == nil || !strings.Contains(string(b), "output") {
		t.Fatalf("generate into a webdataset output without --format: %v, want a refusal naming the output\n%s", err, b)
	}

	reviewCfg := writeFile(t, filepath.Join(tmp, "review.toml"), "[generate]\nbatch_size = 16\nreview_band = 0.2\n")
	noOut := filepath.Join(tmp, "never")
	b, err := cliCmd("generate", "--plan", planPath, "--out", noOut, "--config", reviewCfg, "--format", "webdataset", "-q",
		"--generator", gen, "--screen", screen).CombinedOutput()
	if err == nil || !strings.Contains(string(b), "review_band") || !strings.Contains(string(b), reviewCfg) {
		t.Fatalf("webdataset with a review band: %v, want an error naming review_band and the job file\n%s", err, b)
	}
	if _, err := os.Stat(noOut); err == nil {
		t.Fatalf("the refused generate created %s", noOut)
	}

	var dirs []string
	for i := 0; i < 2; i++ {
		d := filepath.Join(tmp, fmt.Sprintf("shard-%d", i))
		if b, err := cliCmd(args(d, "--shard", fmt.Sprintf("%d/2", i))...).CombinedOutput(); err != nil {
			t.Fatalf("shard %d: %v\n%s", i, err, b)
		}
		dirs = append(dirs, d)
	}
	merged := filepath.Join(tmp, "merged-wds")
	merge := func(dirs ...string) ([]byte, error) {
		return cliCmd(append([]string{"merge", "--out", merged, "--format", "webdataset", "-q"}, dirs...)...).CombinedOutput()
	}
	if b, err := merge(dirs...); err != nil {
		t.Fatalf("merge --format webdataset: %v\n%s", err, b)
	}
	got = readWebDatasetWithPython(t, merged)
	if got.Samples != 10*perTarget {
		t.Fatalf("merged: python read %+v, want %d samples", got, 10*perTarget)
	}
	first, _ := os.ReadFile(filepath.Join(merged, "shard-000000.tar"))
	if b, err := merge(dirs...); err != nil {
		t.Fatalf("merge again: %v\n%s", err, b)
	}
	if again, _ := os.ReadFile(filepath.Join(merged, "shard-000000.tar")); !bytes.Equal(first, again) {
		t.Fatal("merging the same shards twice gave different bytes")
	}
	wdsShard := filepath.Join(tmp, "wds-shard")
	if b, err := cliCmd(args(wdsShard, "--format", "webdataset", "--shard", "0/2")...).CombinedOutput(); err != nil {
		t.Fatalf("a webdataset shard: %v\n%s", err, b)
	}
	if b, err := merge(wdsShard, dirs[1]); err == nil || !strings.Contains(string(b), "webdataset tar shards") {
		t.Fatalf("merge of a webdataset shard: %v, want a refusal\n%s", err, b)
	}
}
