package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/review"
	"github.com/gam-native/gam-native/train"
)

// fashionMetrics writes a precomputed gam.metrics/v1 document over the Fashion-MNIST classes,
// listed in order (the index of each class is its place there). Class i (in data's order) has
// recall 0.35 + 0.06 i, so the plan gives each class its own count, most to tshirt_top.
func fashionMetrics(t *testing.T, dir, name string, order []string) string {
	t.Helper()
	var units []string
	for i, c := range data.FashionMNISTClasses {
		units = append(units, fmt.Sprintf(`{"class": %q, "support": 100, "precision": 0.8, "recall": %.2f, "fpr": 0.02}`, c, 0.35+0.06*float64(i)))
	}
	names, _ := json.Marshal(order)
	p := filepath.Join(dir, name)
	doc := `{"format": "gam.metrics/v1", "classes": ` + string(names) + `, "metrics": {"classes": [` + strings.Join(units, ", ") + `]}}`
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// lenientJob: every image the generator makes passes (the screen judges them afterwards).
const lenientJob = "[generate]\nbatch_size = 16\nconf_threshold = 0.0\nprob_threshold = 0.0\n"

func writeFile(t *testing.T, p, s string) string {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// screenAgreement is the share of dir's images whose class, as the screen predicts it, is the
// class of the folder they are in; it also checks that each record's folder is its class's.
func screenAgreement(t *testing.T, e *bindings.Engine, screen, dir string) (float64, map[string]int) {
	t.Helper()
	ds, recs, err := data.ReadManifest(filepath.Join(dir, data.ManifestName), data.FashionMNISTClasses)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for i, r := range recs {
		folder, _, _ := strings.Cut(r.Path, "/")
		name, err := data.ClassFromFolder(folder)
		if err != nil || name != r.Class || data.FashionMNISTClasses[ds.Labels[i]] != name {
			t.Fatalf("%s: record of class %q (label %d) in folder %q", r.Path, r.Class, ds.Labels[i], folder)
		}
		counts[name]++
	}
	m, err := e.LoadModel(screen, bindings.RoleClassifier)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	pr, err := train.Predict(e, m, ds, 256)
	if err != nil {
		t.Fatal(err)
	}
	agree := 0
	for i, p := range pr.Pred {
		if p == ds.Labels[i] {
			agree++
		}
	}
	return float64(agree) / float64(ds.Len()), counts
}

// TestAlphabeticalMetricsGiveTheRightImages (issue 22, item 1): a metrics file whose classes are
// in alphabetical order (as a service trained on a torchvision ImageFolder numbers them) gives
// the same images as one in the data's order: each class gets the plan's count for its name, in
// the folder of its name, and the run's own screen agrees with the folders as often.
func TestAlphabeticalMetricsGiveTheRightImages(t *testing.T) {
	e := cliEngine(t)
	defer e.Close()
	tmp := t.TempDir()
	gen, screen := trainedTestModels(t, e)
	cfg := writeFile(t, filepath.Join(tmp, "job.toml"), lenientJob)
	alpha := slices.Sorted(slices.Values(data.FashionMNISTClasses))
	type result struct {
		agree  float64
		counts map[string]int
		asked  map[string]int
	}
	results := map[string]result{}
	for _, run := range []struct {
		name  string
		order []string
	}{{"index", data.FashionMNISTClasses}, {"alphabetical", alpha}} {
		metrics := fashionMetrics(t, tmp, run.name+".json", run.order)
		planPath := filepath.Join(tmp, run.name+"-plan.json")
		if out, err := capture(t, "plan", "--metrics", metrics, "--budget", "200", "--floor", "5", "--out", planPath); err != nil {
			t.Fatalf("plan: %v\n%s", err, out)
		}
		var p struct {
			Classes []string `json:"classes"`
			Targets []struct {
				Class     int    `json:"class"`
				ClassName string `json:"class_name"`
				Count     int    `json:"count"`
			} `json:"targets"`
		}
		b, _ := os.ReadFile(planPath)
		if err := json.Unmarshal(b, &p); err != nil || !slices.Equal(p.Classes, run.order) {
			t.Fatalf("the plan's classes %v, want %v (%v)", p.Classes, run.order, err)
		}
		asked := map[string]int{}
		for _, tg := range p.Targets {
			asked[tg.ClassName] += tg.Count
		}
		out := filepath.Join(tmp, run.name)
		if b, err := cliCmd("generate", "--plan", planPath, "--out", out, "--config", cfg, "--seed", "5", "-q",
			"--generator", gen, "--screen", screen, "--allow-shortfall").CombinedOutput(); err != nil {
			t.Fatalf("generate %s: %v\n%s", run.name, err, b)
		}
		agree, counts := screenAgreement(t, e, screen, out)
		results[run.name] = result{agree, counts, asked}
		t.Logf("%s order: %d images, the screen agrees with the folder for %.3f; per class %v (asked %v)",
			run.name, sum(counts), agree, counts, asked)
	}
	idx, alp := results["index"], results["alphabetical"]
	for _, c := range data.FashionMNISTClasses {
		if alp.counts[c] != alp.asked[c] || alp.counts[c] != idx.counts[c] {
			t.Errorf("class %s: %d images in its folder from the alphabetical metrics, %d asked, %d from the index-ordered ones",
				c, alp.counts[c], alp.asked[c], idx.counts[c])
		}
	}
	if alp.counts["tshirt_top"] <= alp.counts["ankle_boot"] {
		t.Errorf("tshirt_top (the weakest class) got %d images, ankle_boot (the strongest) %d", alp.counts["tshirt_top"], alp.counts["ankle_boot"])
	}
	if idx.agree < 0.5 || alp.agree < idx.agree-0.02 {
		t.Errorf("the screen agrees with the folders for %.3f of the alphabetical run's images, %.3f of the index-ordered run's",
			alp.agree, idx.agree)
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// torchvisionCheck loads dir with torchvision's ImageFolder and checks each image's label, by
// name, against the manifest, and metadata.jsonl against the manifest; it prints the counts.
const torchvisionCheck = `
import json, os, sys, urllib.parse
from torchvision.datasets import ImageFolder
root = sys.argv[1]
ds = ImageFolder(root)
man = {}
for line in open(os.path.join(root, "manifest.jsonl")):
    r = json.loads(line)
    man[r["path"]] = r["class"]
meta = {}
for line in open(os.path.join(root, "metadata.jsonl")):
    r = json.loads(line)
    meta[r["file_name"]] = r["label"]
bad = 0
for path, idx in ds.samples:
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    name = urllib.parse.unquote(ds.classes[idx])
    if man.get(rel) != name:
        bad += 1
        print("label differs:", rel, name, man.get(rel))
print(json.dumps({"images": len(ds.samples), "classes": len(ds.classes), "manifest": len(man), "differ": bad,
                  "metadata_equal": meta == man}))
`

// TestGenerateOutputLoadsInTorchvision (issue 22, item 2): OUT is an ImageFolder root with a
// folder for every class; torchvision's ImageFolder(OUT) gives every image the manifest's class,
// the images for review (the band is on) are outside OUT, and metadata.jsonl lists the same
// images with the same labels.
func TestGenerateOutputLoadsInTorchvision(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import torchvision").Run(); err != nil {
		t.Skip("Debian's python3-torchvision is not installed (make deps)")
	}
	e := cliEngine(t)
	tmp := t.TempDir()
	gen, screen := trainedTestModels(t, e)
	e.Close()
	// Most images pass; those the screen is least sure of go to review.
	cfg := writeFile(t, filepath.Join(tmp, "job.toml"), "[generate]\nbatch_size = 16\nconf_threshold = 0.0\nprob_threshold = 0.2\nreview_band = 0.3\n")
	planPath := filepath.Join(tmp, "plan.json")
	if out, err := capture(t, "plan", "--metrics", fashionMetrics(t, tmp, "m.json", data.FashionMNISTClasses), "--budget", "100", "--floor", "5", "--out", planPath); err != nil {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	out := filepath.Join(tmp, "gen")
	if b, err := cliCmd("generate", "--plan", planPath, "--out", out, "--config", cfg, "--seed", "5", "-q",
		"--generator", gen, "--screen", screen, "--allow-shortfall").CombinedOutput(); err != nil {
		t.Fatalf("generate: %v\n%s", err, b)
	}
	ents, _ := os.ReadDir(out)
	var folders []string
	for _, en := range ents {
		if en.IsDir() {
			folders = append(folders, en.Name())
		}
	}
	if !slices.Equal(folders, slices.Sorted(slices.Values(data.FashionMNISTClasses))) {
		t.Fatalf("OUT's folders %v, want one per class", folders)
	}
	pending, err := review.Pending(defaultReviewRoot(out))
	if err != nil || len(pending) == 0 {
		t.Fatalf("no images for review in %s (%v): the test wants some outside OUT", defaultReviewRoot(out), err)
	}
	b, err := exec.Command("/usr/bin/python3", "-c", torchvisionCheck, out).CombinedOutput()
	if err != nil {
		t.Fatalf("torchvision: %v\n%s", err, b)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var got struct {
		Images, Classes, Manifest, Differ int
		MetadataEqual                     bool `json:"metadata_equal"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("torchvision's output: %v\n%s", err, b)
	}
	t.Logf("torchvision ImageFolder: %+v; %d images for review outside OUT", got, len(pending))
	if got.Images == 0 || got.Images != got.Manifest || got.Differ != 0 || got.Classes != 10 || !got.MetadataEqual {
		t.Fatalf("torchvision read OUT wrong: %+v\n%s", got, b)
	}
}

// TestGenerateReviewApply (issue 22, item 3): generate with the review band on writes its queue
// beside OUT; `review export-ls OUT` opens it; decisions applied with `review apply OUT` put the
// accepted and relabeled images into OUT (and its manifest and metadata) and keep the rejected
// one out; a second apply changes nothing.
func TestGenerateReviewApply(t *testing.T) {
	e := cliEngine(t)
	tmp := t.TempDir()
	gen, screen := trainedTestModels(t, e)
	e.Close()
	cfg := writeFile(t, filepath.Join(tmp, "job.toml"), "[generate]\nbatch_size = 16\nconf_threshold = 0.0\nprob_threshold = 0.5\nreview_band = 0.3\n")
	planPath := tenTargetPlan(t, tmp, 4)
	out := filepath.Join(tmp, "gen")
	if b, err := cliCmd("generate", "--plan", planPath, "--out", out, "--config", cfg, "--seed", "5", "-q",
		"--generator", gen, "--screen", screen, "--allow-shortfall").CombinedOutput(); err != nil {
		t.Fatalf("generate: %v\n%s", err, b)
	}
	queue := defaultReviewRoot(out)
	pending, err := review.Pending(queue)
	if err != nil || len(pending) < 3 {
		t.Fatalf("%d images for review (%v): want 3 at least", len(pending), err)
	}
	if _, err := capture(t, "review", "export-ls", "--out", filepath.Join(tmp, "missing", "tasks.json"), out); err == nil ||
		!strings.Contains(err.Error(), filepath.Join(tmp, "missing")) || strings.Contains(err.Error(), ".tmp") {
		t.Fatalf("export-ls into a missing folder: %v; want an error naming the folder", err)
	}
	if o, err := capture(t, "review", "export-ls", "--out", filepath.Join(tmp, "tasks.json"), out); err != nil ||
		!strings.Contains(o, fmt.Sprintf("wrote %d Label Studio task", len(pending))) {
		t.Fatalf("export-ls of a generate output: %v\n%s", err, o)
	}
	before, _ := data.ReadManifestRecords(filepath.Join(out, data.ManifestName))
	relabelTo := "bag"
	if pending[1].Class == relabelTo {
		relabelTo = "sandal"
	}
	ds := []review.Decision{
		{Path: pending[0].Path, Decision: review.Accept},
		{Path: pending[1].Path, Decision: review.Relabel, Class: relabelTo, Label: int64(slices.Index(data.FashionMNISTClasses, relabelTo))},
		{Path: pending[2].Path, Decision: review.Reject},
	}
	for i := range ds {
		ds[i].Reviewer, ds[i].Time = "ann", "2026-12-04T01:00:00Z"
	}
	if err := review.AppendDecisions(queue, ds...); err != nil {
		t.Fatal(err)
	}
	o, err := capture(t, "review", "apply", out)
	if err != nil || !strings.Contains(o, "1 accepted, 1 relabeled in the dataset; 1 rejected") {
		t.Fatalf("review apply: %v\n%s", err, o)
	}
	after, err := data.ReadManifestRecords(filepath.Join(out, data.ManifestName))
	if err != nil || len(after) != len(before)+2 || !slices.EqualFunc(after[:len(before)], before, func(a, b data.Record) bool { return a.Path == b.Path }) {
		t.Fatalf("manifest after the apply: %d records (%v), want the %d before and 2 reviewed", len(after), err, len(before))
	}
	for i, want := range []struct{ class, review string }{{pending[0].Class, review.ReviewAccepted}, {relabelTo, review.ReviewRelabeled}} {
		r := after[len(before)+i]
		if r.Class != want.class || r.Provenance.Review != want.review || !strings.HasPrefix(r.Path, data.ClassFolder(want.class)+"/") {
			t.Errorf("reviewed record %+v, want class %s, review %s", r, want.class, want.review)
		}
		if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(r.Path))); err != nil {
			t.Error(err)
		}
	}
	for _, r := range after {
		if filepath.Base(r.Path) == filepath.Base(pending[2].Path) {
			t.Errorf("the rejected image is in the dataset: %s", r.Path)
		}
	}
	meta, _ := os.ReadFile(filepath.Join(out, data.MetadataName))
	if n := bytes.Count(meta, []byte("\n")); n != len(after) {
		t.Errorf("metadata.jsonl has %d rows, the manifest %d", n, len(after))
	}
	first, _ := os.ReadFile(filepath.Join(out, data.ManifestName))
	if _, err := capture(t, "review", "apply", out); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(filepath.Join(out, data.ManifestName)); !bytes.Equal(again, first) {
		t.Fatal("a second apply changed the manifest")
	}
}

// TestGenerateIntoExistingOut (issue 22, item 4): the same generate again resumes its output;
// one with another seed, or into a file, is refused before a file is touched.
func TestGenerateIntoExistingOut(t *testing.T) {
	e := cliEngine(t)
	tmp := t.TempDir()
	gen, screen := trainedTestModels(t, e)
	e.Close()
	cfg := writeFile(t, filepath.Join(tmp, "job.toml"), lenientJob)
	planPath := tenTargetPlan(t, tmp, 3)
	args := func(out, seed string) []string {
		return []string{"generate", "--plan", planPath, "--out", out, "--config", cfg, "--seed", seed, "-q", "--generator", gen, "--screen", screen, "--allow-shortfall"}
	}
	out := filepath.Join(tmp, "gen")
	if b, err := cliCmd(args(out, "5")...).CombinedOutput(); err != nil {
		t.Fatalf("generate: %v\n%s", err, b)
	}
	snapshot := func() map[string]string {
		m := map[string]string{}
		filepath.Walk(out, func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				b, _ := os.ReadFile(p)
				m[p] = fmt.Sprint(fi.ModTime().UnixNano(), len(b), string(b))
			}
			return nil
		})
		return m
	}
	was := snapshot()
	b, err := cliCmd(args(out, "6")...).CombinedOutput()
	if code := exitStatus(t, err); code != exitError || !strings.Contains(string(b), "seed") || !strings.Contains(string(b), out) {
		t.Fatalf("generate with another seed into the output exited %d:\n%s", code, b)
	}
	if now := snapshot(); !mapsEqual(was, now) {
		t.Fatal("the refused generate touched the output")
	}
	if b, err := cliCmd(args(out, "5")...).CombinedOutput(); err != nil {
		t.Fatalf("the same generate again (a resume): %v\n%s", err, b)
	}
	if got, want := manifestLines(t, out), []byte(nil); len(got) == 0 {
		t.Fatalf("resumed manifest empty (%s)", want)
	}
	file := writeFile(t, filepath.Join(tmp, "afile"), "x")
	if b, err := cliCmd(args(file, "5")...).CombinedOutput(); exitStatus(t, err) != exitError || !strings.Contains(string(b), "not a folder") {
		t.Fatalf("generate --out FILE:\n%s", b)
	}
	// A folder of other things is not a generate output.
	other := filepath.Join(tmp, "other")
	os.MkdirAll(other, 0o755)
	writeFile(t, filepath.Join(other, "notes.txt"), "mine")
	if b, err := cliCmd(args(other, "5")...).CombinedOutput(); exitStatus(t, err) != exitError || !strings.Contains(string(b), "not empty") {
		t.Fatalf("generate into a folder of other files:\n%s", b)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestPlanOutToADevice (issue 22, item 4): `plan --out NODE` where NODE is a character device
// (made here with mknod, as root) is refused naming NODE, and NODE is still a device after.
func TestPlanOutToADevice(t *testing.T) {
	node := filepath.Join(t.TempDir(), "null")
	if err := syscall.Mknod(node, syscall.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Skipf("mknod not permitted here: %v", err)
	}
	metrics := filepath.Join("..", "..", "plan", "testdata", "metrics.json")
	_, err := capture(t, "plan", "--metrics", metrics, "--budget", "30", "--out", node)
	if err == nil || !strings.Contains(err.Error(), node) || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("plan --out %s: %v; want a refusal naming it", node, err)
	}
	fi, err := os.Lstat(node)
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("%s is no longer a character device: %v %v", node, fi.Mode(), err)
	}
}
