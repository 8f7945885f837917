package loop

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/internal/promfile"
	"github.com/gam-native/gam-native/internal/testengine"
	"github.com/gam-native/gam-native/review"
)

// tinyJob is a job small enough to run end to end in seconds.
const tinyJob = `
name = "tiny"
seed = 3
device = "cpu"
[data]
source = "fashion-mnist"
scenario = "long-tail"
train_limit = 4000
test_limit = 600
[data.scenario_params]
val_per_class = 20
imbalance_factor = 10
[generator_training]
epochs = 3
[screen_training]
epochs = 3
[target_training]
epochs = 1
[plan]
budget = 60
cap = 30
[generate]
conf_threshold = 0.0
prob_threshold = 0.1
review_band = 0.3
max_attempts = 10
[loop]
rounds = 2
patience = 0
`

func testEngine(t *testing.T) *bindings.Engine { t.Helper(); return testengine.WithFashionMNIST(t) }

func writeJob(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "job.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTinyJobEndToEnd(t *testing.T) {
	e := testEngine(t)
	job, err := LoadJob(writeJob(t, tinyJob))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	r, err := Prepare(e, job, dir)
	if err != nil {
		t.Fatal(err)
	}
	r.Reviewed = func(dir string, classes []string) ([]data.Record, error) {
		acc, _, err := review.Resolved(dir, classes)
		return acc, err
	}
	prom := filepath.Join(t.TempDir(), "gam.prom")
	if r.Metrics, err = promfile.New(prom); err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkRunFolder(t, dir, 2)
	// --metrics-file (issue 25): every stage that ran has its seconds, and r1's generation its counts.
	if b, err := os.ReadFile(prom); err != nil {
		t.Fatal(err)
	} else {
		for _, want := range []string{`gam_stage_duration_seconds{stage="setup/generator"}`, `gam_stage_duration_seconds{stage="final/report"}`,
			`gam_accepted_images{stage="r1/generate",target=`, `gam_accepted_images_per_second{stage="r1/generate"}`, "gam_last_success_timestamp_seconds "} {
			if !strings.Contains(string(b), want) {
				t.Errorf("metrics file has no %s:\n%s", want, b)
			}
		}
	}

	// Borderline images went to the review queue; one accepted there joins the training set.
	pending, err := review.Pending(dir)
	if err != nil || len(pending) == 0 {
		t.Fatalf("review queue: %d pending, %v", len(pending), err)
	}
	before, err := r.generatedSet(99)
	if err != nil {
		t.Fatal(err)
	}
	p := pending[0]
	if err := review.AppendDecisions(dir, review.Decision{Path: p.Path, Decision: "accept", Label: p.Label, Class: p.Class,
		Reviewer: "test", Time: "2026-11-26T10:00:00Z"}); err != nil {
		t.Fatal(err)
	}
	after, err := r.generatedSet(99)
	if err != nil {
		t.Fatal(err)
	}
	if after.Len() != before.Len()+1 {
		t.Fatalf("a reviewed image did not join the training set: %d -> %d", before.Len(), after.Len())
	}
}

// checkRunFolder checks a finished run folder against docs/run-folder.md.
func checkRunFolder(t *testing.T, dir string, rounds int) {
	t.Helper()
	for _, f := range []string{"job.toml", "classes.json", "state.json", "report.json", "report.md", "recall.png", "summary.png",
		"test_recall.png", "test.json", "models/generator.pt", "models/screen.pt", "models/target_r0.pt", "models/best.pt",
		"rounds/r0/metrics.json", "accepted/manifest.jsonl"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run folder lacks %s", f)
		}
	}
	var rep Report
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("report.json does not match the schema: %v", err)
	}
	if rep.Schema != ReportSchema || len(rep.Classes) != 10 || len(rep.Rounds) != rounds+1 {
		t.Fatalf("report: schema %q, %d classes, %d rounds", rep.Schema, len(rep.Classes), len(rep.Rounds))
	}
	// Every stage's batch (the tiny job leaves them out: the memory budget chose them).
	keys := map[string]StageBatch{}
	for _, sb := range rep.Batches {
		keys[sb.Key] = sb
	}
	for _, k := range []string{"setup/generator", "setup/screen", "r0/train", "r1/generate"} {
		if sb, ok := keys[k]; !ok || sb.BatchSize < 1 || sb.From != "budget" || sb.Budget == nil || sb.EstimateBytes == 0 {
			t.Errorf("report.json batches lack %s, or it was not sized by the budget: %+v", k, rep.Batches)
		}
	}
	for _, e := range rep.Rounds[1:] {
		if e.Generation == nil || len(e.Allocation) == 0 || len(e.Difficulty) != 10 {
			t.Fatalf("round %d lacks generation, allocation or difficulty", e.Round)
		}
		if g := e.Generation; g.Budget == nil || g.BatchSize != g.Budget.BatchSize || g.EngineBatch != g.BatchSize {
			t.Errorf("round %d: generation batch %d (engine %d), budget %+v", e.Round, g.BatchSize, g.EngineBatch, g.Budget)
		}
		for _, tr := range e.Generation.Targets {
			if _, err := os.Stat(filepath.Join(dir, "rounds", roundDir(e.Round), "grid_"+fileSafe.ReplaceAllString(tr.ID, "-")+".png")); err != nil && tr.Accepted > 0 {
				t.Errorf("no sample grid for round %d target %s", e.Round, tr.ID)
			}
		}
	}
	if q := rep.GeneratedVsReal; q == nil || len(q.Rounds) == 0 || q.EmbedModel != qualityModel {
		t.Errorf("report judges no accepted images against real ones: %+v", q)
	} else {
		for _, rq := range q.Rounds {
			for _, cf := range rq.Classes {
				if cf.N == 0 || cf.NReal != 20 || cf.FD < 0 || cf.Precision < 0 || cf.Precision > 1 || cf.Recall < 0 || cf.Recall > 1 ||
					(cf.Skipped == "") != (cf.N > 3) {
					t.Errorf("round %d: bad figures %+v", rq.Round, cf)
				}
			}
		}
		if md, _ := os.ReadFile(filepath.Join(dir, "report.md")); !strings.Contains(string(md), "## Generated images against real ones, per class") {
			t.Error("report.md lacks the section on generated images against real ones")
		}
	}
	if len(rep.Test.First.Recall) != 10 || len(rep.Test.Best.Recall) != 10 {
		t.Fatal("test recall per class missing")
	}
	if len(rep.Weakest) != numWeakest {
		t.Fatalf("report follows %d weakest classes, want %d", len(rep.Weakest), numWeakest)
	}
	for i, w := range rep.Weakest {
		c := slices.Index(rep.Classes, w.Class)
		if c < 0 || w.ValRecall != rep.Rounds[0].RecallPerClass[c] || w.First != rep.Test.First.Recall[c] || w.Best != rep.Test.Best.Recall[c] {
			t.Fatalf("weakest[%d] = %+v does not match the rounds and test recall", i, w)
		}
		for _, v := range rep.Rounds[0].RecallPerClass {
			if v < w.ValRecall && !slices.ContainsFunc(rep.Weakest, func(x WeakClass) bool { return x.ValRecall == v }) {
				t.Fatalf("class with validation recall %v is weaker than %+v but not listed", v, w)
			}
		}
	}
	n := 0
	for _, sub := range []string{"accepted", rolledBackDir} {
		recs, err := data.ReadManifestIfAny(filepath.Join(dir, sub, "manifest.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		n += len(recs)
		for _, rec := range recs {
			if rec.Provenance == nil || rec.Source != data.SourceGenerated || rec.Provenance.Target == "" {
				t.Fatalf("record without provenance: %+v", rec)
			}
			if _, err := os.Stat(filepath.Join(dir, sub, rec.Path)); err != nil {
				t.Fatalf("%s/manifest.jsonl names a missing image: %v", sub, err)
			}
		}
	}
	if n == 0 {
		t.Fatal("no accepted images")
	}
}

// TestForeignGeneratorRunsEndToEnd swaps in a team's own TorchScript generator of another
// architecture (zoo/fixtures.py's conv VAE, no attr_names) through the job file.
func TestForeignGeneratorRunsEndToEnd(t *testing.T) {
	e := testEngine(t)
	zp, err := ResolveModel("zoo:cvae")
	if err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(filepath.Dir(filepath.Dir(zp)), "fixtures", "foreign_vae.pt")
	if d := os.Getenv("GAM_FIXTURES"); d != "" {
		foreign = filepath.Join(d, "foreign_vae.pt")
	}
	body := strings.Replace(tinyJob, "[loop]\nrounds = 2", "[loop]\nrounds = 1", 1) + "\n[models]\ngenerator = \"" + foreign + "\"\n"
	job, err := LoadJob(writeJob(t, body))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	r, err := Prepare(e, job, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkRunFolder(t, dir, 1)
	recs, err := data.ReadManifestRecords(filepath.Join(dir, "accepted", "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Provenance.Generator != foreign {
		t.Fatalf("provenance names generator %q", recs[0].Provenance.Generator)
	}
}
