package loop

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gam-native/gam-native/generate"
	"github.com/gam-native/gam-native/internal/human"
	"github.com/gam-native/gam-native/internal/jsonfile"
	"github.com/gam-native/gam-native/plan"
	"github.com/gam-native/gam-native/report"
)

// ReportSchema names the report.json layout documented in docs/run-folder.md.
const ReportSchema = "gam.report/v1"

// Report is report.json: everything a person or a script needs to judge a run.
type Report struct {
	Schema    string       `json:"schema"`
	Job       string       `json:"job"`
	RunDir    string       `json:"run_dir"`
	Seed      uint64       `json:"seed"`
	Classes   []string     `json:"classes"`
	Stopped   string       `json:"stopped"`
	BestRound int          `json:"best_round"`
	Rounds    []RoundEntry `json:"rounds"`
	Test      struct {
		First TestResult `json:"first"`
		Best  TestResult `json:"best"`
	} `json:"test"`
	// Weakest are the classes with the lowest round-0 validation recall (chosen before the test set
	// is read) with their test recall for the round-0 and the best model.
	Weakest []WeakClass       `json:"weakest"`
	Files   map[string]string `json:"files"`
	// GeneratedVsReal judges each round's accepted images per class against the real validation
	// images of the class (Fréchet distance, precision, recall in a classifier's embed space).
	GeneratedVsReal *AcceptedQuality `json:"generated_vs_real,omitempty"`
	// Batches is every stage's batch size, where it came from (the job or the memory budget), the
	// memory it was sized with and its out-of-memory retries (batches.json).
	Batches []StageBatch `json:"batches,omitempty"`
	// Data is what the run trained and judged on: source, image shape, classes, images per class
	// of each split, splits held out, and for an ImageFolder the sizes found and the resize (data.json).
	Data *DataSummary `json:"data,omitempty"`
	// Zoo is where each zoo:NAME model came from: make's export or a copy shaped to the data (zoo.json).
	Zoo []ZooModel `json:"zoo,omitempty"`
}

// WeakClass is one of the round-0 model's weakest classes and what the run did to it on test.
type WeakClass struct {
	Class     string  `json:"class"`
	ValRecall float64 `json:"val_recall_round0"`
	First     float64 `json:"test_recall_first"`
	Best      float64 `json:"test_recall_best"`
}

// numWeakest is how many of the round-0 model's weakest classes the report follows.
const numWeakest = 3

// weakest picks the n classes of lowest round-0 validation recall (ties by class order).
func weakest(classes []string, val, first, best []float64, n int) []WeakClass {
	idx := make([]int, 0, len(val))
	for c := range val {
		if c < len(classes) && c < len(first) && c < len(best) {
			idx = append(idx, c)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return val[idx[a]] < val[idx[b]] })
	var out []WeakClass
	for _, c := range idx[:min(n, len(idx))] {
		out = append(out, WeakClass{Class: classes[c], ValRecall: val[c], First: first[c], Best: best[c]})
	}
	return out
}

// weakestLine says in one line what happened to the weakest classes on test.
func weakestLine(ws []WeakClass) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = fmt.Sprintf("%s %.3f -> %.3f (%+.3f)", w.Class, w.First, w.Best, w.Best-w.First)
	}
	return "weakest classes at round 0 (by validation recall), test recall round 0 -> best: " + strings.Join(parts, ", ")
}

// RoundEntry is one round in report.json. Round 0 is the target trained on real data alone.
type RoundEntry struct {
	Round             int                `json:"round"`
	Val               plan.Summary       `json:"val"`
	RecallPerClass    []float64          `json:"val_recall_per_class"`
	SegmentRecall     map[string]float64 `json:"val_segment_recall,omitempty"`
	Difficulty        []plan.Difficulty  `json:"difficulty,omitempty"`
	SegmentDifficulty []plan.Difficulty  `json:"segment_difficulty,omitempty"`
	Allocation        map[string]int     `json:"allocation,omitempty"`
	Generation        *generate.Result   `json:"generation,omitempty"`
	Feedback          json.RawMessage    `json:"feedback,omitempty"`
	TrainSeconds      float64            `json:"train_seconds"`
	GeneratedImages   int                `json:"generated_images_in_training"`
	// AgainstKept compares this round's model with the one kept before it on the validation
	// images (paired bootstrap and McNemar; loop.select = "significant" keeps it only if Better).
	AgainstKept *plan.Paired `json:"against_kept,omitempty"`
}

func (r *Runner) buildReport() (*Report, error) {
	rep := &Report{Schema: ReportSchema, Job: r.Job.Name, RunDir: r.Dir, Seed: r.Job.Seed, Classes: r.splits.Train.ClassNames,
		Stopped: r.State.Stopped, BestRound: r.State.BestRound, Files: map[string]string{}}
	ds := r.dataSummary()
	rep.Data, rep.Zoo = &ds, r.zoo
	var zs []ZooModel
	if err := jsonfile.ReadJSON(r.path(ZooFile), &zs); err == nil {
		rep.Zoo = zs // as Prepare found them (a resumed run finds its exports in the cache)
	}
	for n := 0; ; n++ {
		met, err := r.roundMetrics(n)
		if err != nil {
			if os.IsNotExist(err) {
				break
			}
			return nil, err
		}
		e := RoundEntry{Round: n, Val: met.Summary, SegmentRecall: map[string]float64{}}
		if c, ok := r.State.Compared[n]; ok {
			e.AgainstKept = &c
		}
		for _, u := range met.PerClass {
			e.RecallPerClass = append(e.RecallPerClass, u.Recall)
		}
		for _, u := range met.Segments {
			e.SegmentRecall[u.ID] = u.Recall
		}
		var tr struct {
			Seconds float64 `json:"seconds"`
			Gen     int     `json:"generated_images"`
		}
		if err := jsonfile.ReadJSON(r.path("rounds", roundDir(n), "train.json"), &tr); err == nil {
			e.TrainSeconds, e.GeneratedImages = tr.Seconds, tr.Gen
		}
		var p plan.Plan
		if err := jsonfile.ReadJSON(r.path("rounds", roundDir(n), "plan.json"), &p); err == nil {
			e.Difficulty, e.SegmentDifficulty = p.Classes, p.Segments
			e.Allocation = map[string]int{}
			for _, t := range p.Targets {
				e.Allocation[t.ID] = t.Count
			}
		}
		var g generate.Result
		if err := jsonfile.ReadJSON(r.path("rounds", roundDir(n), "generate.json"), &g); err == nil {
			e.Generation = &g
		}
		if b, err := os.ReadFile(r.path("rounds", roundDir(n), "feedback.json")); err == nil {
			e.Feedback = json.RawMessage(b)
		}
		rep.Rounds = append(rep.Rounds, e)
	}
	var test map[string]TestResult
	if err := jsonfile.ReadJSON(r.path("test.json"), &test); err != nil {
		return nil, err
	}
	rep.Test.First, rep.Test.Best = test["first"], test["best"]
	if len(rep.Rounds) > 0 {
		rep.Weakest = weakest(rep.Classes, rep.Rounds[0].RecallPerClass, rep.Test.First.Recall, rep.Test.Best.Recall, numWeakest)
	}
	rep.Batches = r.reportBatches()
	return rep, nil
}

func (r *Runner) writeReport() error {
	rep, err := r.buildReport()
	if err != nil {
		return err
	}
	if rep.GeneratedVsReal, err = r.judgeAccepted(); err != nil {
		return fmt.Errorf("judging the accepted images: %w", err)
	}
	recall := make([][]float64, len(rep.Rounds))
	summary := map[string][]float64{}
	for i, e := range rep.Rounds {
		recall[i] = e.RecallPerClass
		summary["balanced accuracy"] = append(summary["balanced accuracy"], e.Val.BalancedAccuracy)
		summary["macro-F1"] = append(summary["macro-F1"], e.Val.MacroF1)
		summary["worst-class recall"] = append(summary["worst-class recall"], e.Val.WorstRecall)
	}
	files := map[string]string{
		"recall_plot":       "recall.png",
		"summary_plot":      "summary.png",
		"before_after_plot": "test_recall.png",
		"markdown":          "report.md",
		"accepted_manifest": "accepted/manifest.jsonl",
		"best_model":        "models/best.pt",
	}
	rep.Files = files
	if err := report.RecallPlot(r.path(files["recall_plot"]), rep.Classes, recall, "validation recall per class, by round"); err != nil {
		return err
	}
	if err := report.SummaryPlot(r.path(files["summary_plot"]), summary, "validation summary, by round"); err != nil {
		return err
	}
	if err := report.BeforeAfterBars(r.path(files["before_after_plot"]), rep.Classes, rep.Test.First.Recall, rep.Test.Best.Recall,
		fmt.Sprintf("test recall: round 0 vs best (round %d)", rep.BestRound)); err != nil {
		return err
	}
	if err := jsonfile.WriteJSON(r.path("report.json"), rep); err != nil {
		return err
	}
	return jsonfile.WriteAtomic(r.path(files["markdown"]), []byte(markdown(rep)))
}

// markdown is the short human-readable report that links the rest.
func markdown(rep *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# gam-native run: %s\n\n", rep.Job)
	fmt.Fprintf(&b, "Stopped: %s. Best round by validation balanced accuracy: %d.\n\n", rep.Stopped, rep.BestRound)
	if d := rep.Data; d != nil {
		fmt.Fprintf(&b, "Data: %s (%s), %dx%dx%d, %d classes: %s.", d.Source, d.Scenario, d.ImageShape[0], d.ImageShape[1], d.ImageShape[2], len(d.Classes), strings.Join(d.Classes, ", "))
		if d.Resize != "" {
			fmt.Fprintf(&b, " %s.", d.Resize)
		}
		b.WriteString("\n\n")
	}
	f, s := rep.Test.First.Summary, rep.Test.Best.Summary
	b.WriteString("## Test set\n\n")
	b.WriteString(report.Table([]string{"model", "accuracy", "balanced acc", "macro-F1", "g-mean recall", "worst-class recall"}, [][]string{
		{"round 0 (real data only)", f4(f.Accuracy), f4(f.BalancedAccuracy), f4(f.MacroF1), f4(f.GeoMeanRecall), fmt.Sprintf("%s (%s)", f4(f.WorstRecall), f.WorstClass)},
		{fmt.Sprintf("best (round %d)", rep.BestRound), f4(s.Accuracy), f4(s.BalancedAccuracy), f4(s.MacroF1), f4(s.GeoMeanRecall), fmt.Sprintf("%s (%s)", f4(s.WorstRecall), s.WorstClass)},
	}))
	b.WriteString("\n## Test recall per class\n\n")
	var rows [][]string
	for c, name := range rep.Classes {
		var a, z float64
		if c < len(rep.Test.First.Recall) {
			a = rep.Test.First.Recall[c]
		}
		if c < len(rep.Test.Best.Recall) {
			z = rep.Test.Best.Recall[c]
		}
		rows = append(rows, []string{name, f4(a), f4(z), fmt.Sprintf("%+.4f", z-a)})
	}
	b.WriteString(report.Table([]string{"class", "round 0", "best", "change"}, rows))
	if len(rep.Weakest) > 0 {
		line := weakestLine(rep.Weakest)
		b.WriteString("\n" + strings.ToUpper(line[:1]) + line[1:] + ".\n")
	}
	b.WriteString("\n![test recall](test_recall.png)\n\n## Rounds (validation)\n\n")
	rows = nil
	for _, e := range rep.Rounds {
		acc, att := "-", "-"
		if e.Generation != nil {
			acc, att = fmt.Sprint(e.Generation.Accepted), fmt.Sprint(e.Generation.Attempts)
		}
		vs := "-"
		if c := e.AgainstKept; c != nil {
			verdict := "within chance"
			if c.Better() {
				verdict = "better"
			}
			vs = fmt.Sprintf("%+.4f [%+.4f, %+.4f], McNemar p %.3f: %s", c.DeltaBA, c.CI[0], c.CI[1], c.PMcNemar, verdict)
		}
		rows = append(rows, []string{fmt.Sprint(e.Round), f4(e.Val.BalancedAccuracy), f4(e.Val.MacroF1), f4(e.Val.WorstRecall), acc, att, fmt.Sprint(e.GeneratedImages), vs})
	}
	b.WriteString(report.Table([]string{"round", "balanced acc", "macro-F1", "worst recall", "accepted", "tried", "generated in training", "vs the kept model (ΔBA, 95% CI)"}, rows))
	b.WriteString(shardsMarkdown(rep))
	b.WriteString(segmentMarkdown(rep))
	b.WriteString("\n![recall per class](recall.png)\n\n![summary](summary.png)\n\n## Sample grids\n\n")
	for _, e := range rep.Rounds {
		if e.Generation == nil {
			continue
		}
		for _, t := range e.Generation.Targets {
			p := filepath.ToSlash(filepath.Join("rounds", roundDir(e.Round), "grid_"+fileSafe.ReplaceAllString(t.ID, "-")+".png"))
			fmt.Fprintf(&b, "- round %d, %s: %d of %d accepted after %d tries, rejected %s ([grid](%s))\n", e.Round, t.ID, t.Accepted, t.Quota, t.Attempts, human.Counts(t.Rejected), p)
		}
	}
	b.WriteString(qualityMarkdown(rep.GeneratedVsReal))
	if len(rep.Batches) > 0 {
		b.WriteString("\n## Batch sizes\n\n" + batchesText(rep.Batches, "- "))
	}
	b.WriteString("\nThe accepted images are in `accepted/` (an ImageFolder root with manifest.jsonl and metadata.jsonl; those of rolled-back targets in `rolled_back/`); the schema of report.json is in docs/run-folder.md.\n")
	return b.String()
}

func f4(v float64) string { return fmt.Sprintf("%.4f", v) }

// shardsMarkdown lists, for each round generated as several processes (generate.shards), what
// each shard made and what the merge kept of it; "" when no round was.
func shardsMarkdown(rep *Report) string {
	var rows [][]string
	for _, e := range rep.Rounds {
		if e.Generation == nil {
			continue
		}
		for _, s := range e.Generation.Shards {
			rows = append(rows, []string{fmt.Sprint(e.Round), s.Shard, fmt.Sprint(s.Accepted), fmt.Sprint(s.Kept), fmt.Sprint(s.Attempts), fmt.Sprintf("%.1f", s.Seconds)})
		}
	}
	if len(rows) == 0 {
		return ""
	}
	return "\n### Shards\n\nGenerated as separate processes (`generate.shards`), merged into `accepted/` " +
		"(near-duplicates across shards dropped, each target trimmed to its count; each record's `provenance.shard`):\n\n" +
		report.Table([]string{"round", "shard", "accepted", "kept", "tried", "seconds"}, rows)
}

// PrintSummary prints the end-of-run table: test metrics of the first and the best model.
func PrintSummary(w io.Writer, r *Runner) error {
	rep, err := r.buildReport()
	if err != nil {
		return err
	}
	f, s := rep.Test.First, rep.Test.Best
	rows := [][]string{
		{"balanced accuracy", f4(f.Summary.BalancedAccuracy), f4(s.Summary.BalancedAccuracy)},
		{"macro-F1", f4(f.Summary.MacroF1), f4(s.Summary.MacroF1)},
		{"worst-class recall", f4(f.Summary.WorstRecall) + " " + f.Summary.WorstClass, f4(s.Summary.WorstRecall) + " " + s.Summary.WorstClass},
		{"accuracy", f4(f.Summary.Accuracy), f4(s.Summary.Accuracy)},
	}
	for c, name := range rep.Classes {
		if c < len(f.Recall) && c < len(s.Recall) {
			rows = append(rows, []string{"recall " + name, f4(f.Recall[c]), f4(s.Recall[c])})
		}
	}
	_, err = fmt.Fprintf(w, "\nTest set (%s; stopped: %s)\n%s", rep.RunDir, rep.Stopped,
		report.Aligned([]string{"metric", "round 0", fmt.Sprintf("best (round %d)", rep.BestRound)}, rows))
	if err == nil && len(rep.Weakest) > 0 {
		_, err = fmt.Fprintln(w, weakestLine(rep.Weakest))
	}
	if err == nil {
		err = printBatches(w, rep.Batches)
	}
	return err
}
