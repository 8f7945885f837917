package efficacy

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gam-native/gam-native/internal/jsonfile"
	"github.com/gam-native/gam-native/report"
)

// Schema names the layout of results.json (docs/efficacy.md).
const Schema = "gam.efficacy/v1"

// Cell is one method trained and tested on one seed; cells/<method>-s<seed>.json.
type Cell struct {
	Method string `json:"method"`
	Seed   uint64 `json:"seed"`
	Test   Eval   `json:"test"`
	Val    Eval   `json:"val"`
	// Seconds is the cell's own wall time; SharedSeconds the part of the seed's shared setup
	// (generator and screen training) that the method depends on, counted in its wall time.
	Seconds       float64        `json:"seconds"`
	CPUSeconds    float64        `json:"cpu_seconds"`
	SharedSeconds float64        `json:"shared_seconds,omitempty"`
	Detail        map[string]any `json:"detail,omitempty"`
	Finished      time.Time      `json:"finished"`
}

// Metric keys of the summary, in table order.
var summaryKeys = []string{"accuracy", "balanced_accuracy", "macro_f1", "gmean_recall", "worst_recall", "wall_seconds", "cpu_seconds"}

// shiftKeys are added for the condition-shift scenario.
var shiftKeys = []string{"clean_accuracy", "clean_balanced_accuracy", "shifted_accuracy", "shifted_balanced_accuracy"}

// figures flattens a cell into the metric keys.
func (c *Cell) figures() map[string]float64 {
	s := c.Test.Summary
	f := map[string]float64{
		"accuracy": s.Accuracy, "balanced_accuracy": s.BalancedAccuracy, "macro_f1": s.MacroF1,
		"gmean_recall": s.GeoMeanRecall, "worst_recall": s.WorstRecall, "wall_seconds": c.Seconds + c.SharedSeconds,
	}
	if c.CPUSeconds > 0 { // cells from before CPU time was recorded have none
		f["cpu_seconds"] = c.CPUSeconds
	}
	if sh := c.Test.Shift; sh != nil {
		f["clean_accuracy"], f["clean_balanced_accuracy"] = sh.Clean.Accuracy, sh.Clean.BalancedAccuracy
		f["shifted_accuracy"], f["shifted_balanced_accuracy"] = sh.Shifted.Accuracy, sh.Shifted.BalancedAccuracy
		for cond, v := range sh.ByCond {
			f[cond+"_accuracy"] = v.Accuracy
		}
	}
	return f
}

// MethodResult aggregates a method's cells over seeds.
type MethodResult struct {
	Method string             `json:"method"`
	Label  string             `json:"label"`
	Seeds  []uint64           `json:"seeds"`
	Mean   map[string]float64 `json:"mean"`
	SD     map[string]float64 `json:"sd"` // sample standard deviation (n-1); 0 with one seed
	// RecallPerClass is the mean test recall of each class over seeds, RecallPerClassSD its sd.
	RecallPerClass   []float64 `json:"recall_per_class"`
	RecallPerClassSD []float64 `json:"recall_per_class_sd"`
	Cells            []Cell    `json:"cells"`
	// GapClosed is the method's share of the gap from the best competitor to the real-data
	// ceiling on mean test balanced accuracy (GapClosed); absent without both in the table.
	GapClosed *float64 `json:"gap_closed,omitempty"`
}

// Results is results.json.
type Results struct {
	Schema   string         `json:"schema"`
	Scenario string         `json:"scenario"`
	Command  string         `json:"command,omitempty"`
	Machine  string         `json:"machine"`
	Updated  time.Time      `json:"updated"`
	Complete bool           `json:"complete"` // every (method, seed) cell finished
	Protocol map[string]any `json:"protocol"`
	Classes  []string       `json:"classes"`
	Metrics  []string       `json:"metrics"`
	Methods  []MethodResult `json:"methods"`
	// GeneratorQuality judges the seeds' shared generator per class (efficacy/quality.go).
	GeneratorQuality *QualityResult `json:"generator_quality,omitempty"`
}

// MeanSD is the mean and sample standard deviation of v (0 sd for fewer than two values).
func MeanSD(v []float64) (float64, float64) {
	if len(v) == 0 {
		return 0, 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	m := s / float64(len(v))
	if len(v) < 2 {
		return m, 0
	}
	var ss float64
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	return m, math.Sqrt(ss / float64(len(v)-1))
}

// aggregate builds a MethodResult from cells of one method.
func aggregate(method string, cells []Cell, k int) MethodResult {
	mr := MethodResult{Method: method, Label: MethodLabels[method], Mean: map[string]float64{}, SD: map[string]float64{}, Cells: cells}
	vals := map[string][]float64{}
	rec := make([][]float64, k)
	for i := range cells {
		mr.Seeds = append(mr.Seeds, cells[i].Seed)
		for key, v := range cells[i].figures() {
			vals[key] = append(vals[key], v)
		}
		for c := 0; c < k && c < len(cells[i].Test.Recall); c++ {
			rec[c] = append(rec[c], cells[i].Test.Recall[c])
		}
	}
	for key, v := range vals {
		mr.Mean[key], mr.SD[key] = MeanSD(v)
	}
	for c := range rec {
		m, s := MeanSD(rec[c])
		mr.RecallPerClass, mr.RecallPerClassSD = append(mr.RecallPerClass, m), append(mr.RecallPerClassSD, s)
	}
	return mr
}

func machine() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s, %s/%s, %d CPUs visible to Go", h, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
}

func cpu(m MethodResult) string {
	if v, ok := m.Mean["cpu_seconds"]; ok {
		return fmt.Sprintf("%.0f", v)
	}
	return "-"
}

// pm formats mean ± sd.
func pm(m, s float64) string { return fmt.Sprintf("%.3f ± %.3f", m, s) }

// Markdown renders results.md.
func Markdown(r *Results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Efficacy benchmark: %s\n\n", r.Scenario)
	if r.Command != "" {
		fmt.Fprintf(&b, "Command: `%s`  \n", r.Command)
	}
	fmt.Fprintf(&b, "Machine: %s  \nUpdated: %s", r.Machine, r.Updated.UTC().Format(time.RFC3339))
	if !r.Complete {
		b.WriteString(" (partial: not every cell has finished)")
	}
	b.WriteString("\n\n")
	b.WriteString("Test set, mean ± sd over seeds (sample sd). Wall time includes the seed's generator and screen training for the methods that use them; CPU s is the cell's own process CPU time (user + system), steadier than wall time on a shared machine.\n\n")
	rows := [][]string{}
	for _, m := range r.Methods {
		rows = append(rows, []string{m.Label, fmt.Sprint(len(m.Seeds)), pm(m.Mean["accuracy"], m.SD["accuracy"]),
			pm(m.Mean["balanced_accuracy"], m.SD["balanced_accuracy"]), pm(m.Mean["macro_f1"], m.SD["macro_f1"]),
			pm(m.Mean["gmean_recall"], m.SD["gmean_recall"]), pm(m.Mean["worst_recall"], m.SD["worst_recall"]),
			fmt.Sprintf("%.0f", m.Mean["wall_seconds"]), cpu(m)})
	}
	b.WriteString(report.Table([]string{"method", "seeds", "accuracy", "balanced acc", "macro-F1", "g-mean recall", "worst-class recall", "wall s", "CPU s"}, rows))
	if best, ceil, ok := gapBounds(r.Methods); ok {
		fmt.Fprintf(&b, "\n## Gap closed\n\nGap closed = (BA - BA of the best remedy) / (BA of the ceiling - BA of the best remedy); best remedy: %s (%.4f), ceiling %.4f.\n\n",
			best.Label, best.Mean["balanced_accuracy"], ceil.Mean["balanced_accuracy"])
		rows = nil
		for _, m := range r.Methods {
			if g, ok := GapClosed(r.Methods, m.Method); ok {
				rows = append(rows, []string{m.Label, fmt.Sprintf("%.4f", m.Mean["balanced_accuracy"]), fmt.Sprintf("%+.0f%%", 100*g)})
			}
		}
		b.WriteString(report.Table([]string{"method", "balanced acc", "gap closed"}, rows))
	}
	if slices.ContainsFunc(r.Methods, func(m MethodResult) bool { _, ok := m.Mean["shifted_accuracy"]; return ok }) {
		b.WriteString("\n## Clean and shifted test images\n\n")
		rows = nil
		conds := []string{}
		for _, m := range r.Methods {
			for k := range m.Mean {
				if c, ok := strings.CutSuffix(k, "_accuracy"); ok && !slices.Contains([]string{"", "clean", "shifted", "clean_balanced", "shifted_balanced", "balanced"}, c) && !slices.Contains(conds, c) {
					conds = append(conds, c)
				}
			}
		}
		slices.Sort(conds)
		for _, m := range r.Methods {
			row := []string{m.Label, pm(m.Mean["clean_accuracy"], m.SD["clean_accuracy"]), pm(m.Mean["shifted_accuracy"], m.SD["shifted_accuracy"]),
				pm(m.Mean["shifted_balanced_accuracy"], m.SD["shifted_balanced_accuracy"])}
			for _, c := range conds {
				row = append(row, pm(m.Mean[c+"_accuracy"], m.SD[c+"_accuracy"]))
			}
			rows = append(rows, row)
		}
		head := []string{"method", "clean acc", "shifted acc", "shifted balanced recall"}
		for _, c := range conds {
			head = append(head, c+" acc")
		}
		b.WriteString(report.Table(head, rows))
	}
	b.WriteString("\n## Test recall per class (mean over seeds)\n\n")
	head := []string{"method"}
	head = append(head, r.Classes...)
	rows = nil
	for _, m := range r.Methods {
		row := []string{m.Label}
		for _, v := range m.RecallPerClass {
			row = append(row, fmt.Sprintf("%.3f", v))
		}
		rows = append(rows, row)
	}
	b.WriteString(report.Table(head, rows))
	b.WriteString(qualityMarkdown(r.GeneratorQuality))
	b.WriteString("\n## Per seed (test balanced accuracy / worst-class recall)\n\n")
	rows = nil
	for _, m := range r.Methods {
		for _, c := range m.Cells {
			note := ""
			if c.Detail != nil {
				keys := make([]string, 0, len(c.Detail))
				for k := range c.Detail {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				for _, k := range keys {
					note += fmt.Sprintf("%s=%v ", k, c.Detail[k])
				}
			}
			rows = append(rows, []string{m.Label, fmt.Sprint(c.Seed), fmt.Sprintf("%.4f", c.Test.Summary.BalancedAccuracy),
				fmt.Sprintf("%.4f (%s)", c.Test.Summary.WorstRecall, c.Test.Summary.WorstClass), fmt.Sprintf("%.4f", c.Val.Summary.BalancedAccuracy),
				fmt.Sprintf("%.0f", c.Seconds), strings.TrimSpace(note)})
		}
	}
	b.WriteString(report.Table([]string{"method", "seed", "test balanced acc", "test worst recall", "val balanced acc", "own s", "notes"}, rows))
	b.WriteString("\n![methods](bars.png)\n")
	return b.String()
}

// writeOutputs writes results.json, results.md and bars.png.
func writeOutputs(dir string, r *Results) error {
	if err := jsonfile.WriteJSON(filepath.Join(dir, "results.json"), r); err != nil {
		return err
	}
	if err := jsonfile.WriteAtomic(filepath.Join(dir, "results.md"), []byte(Markdown(r))); err != nil {
		return err
	}
	if len(r.Methods) == 0 {
		return nil
	}
	metrics := []string{"balanced accuracy", "macro-F1", "g-mean recall", "worst-class recall"}
	keys := []string{"balanced_accuracy", "macro_f1", "gmean_recall", "worst_recall"}
	if r.Scenario == "condition-shift" {
		metrics = append(metrics, "clean acc", "shifted acc")
		keys = append(keys, "clean_accuracy", "shifted_accuracy")
	}
	var names []string
	var mean, sd [][]float64
	for _, m := range r.Methods {
		names = append(names, m.Label)
		mr, sr := make([]float64, len(keys)), make([]float64, len(keys))
		for j, k := range keys {
			mr[j], sr[j] = m.Mean[k], m.SD[k]
		}
		mean, sd = append(mean, mr), append(sd, sr)
	}
	return report.MethodBars(filepath.Join(dir, "bars.png"), names, metrics, mean, sd,
		fmt.Sprintf("efficacy, %s: test figures, mean ± sd over seeds", r.Scenario))
}

// isCompetitor says whether a method is a remedy GAM is held against: neither GAM itself nor the
// real-data ceiling.
func isCompetitor(m string) bool {
	return m != MethodGAM && m != MethodGAMPlus && m != MethodRealBalanced
}

// gapBounds are the best competitor by mean test balanced accuracy and the ceiling row.
func gapBounds(ms []MethodResult) (best, ceil MethodResult, ok bool) {
	haveBest, haveCeil := false, false
	for _, m := range ms {
		switch {
		case m.Method == MethodRealBalanced:
			ceil, haveCeil = m, true
		case isCompetitor(m.Method) && (!haveBest || m.Mean["balanced_accuracy"] > best.Mean["balanced_accuracy"]):
			best, haveBest = m, true
		}
	}
	return best, ceil, haveBest && haveCeil && ceil.Mean["balanced_accuracy"] > best.Mean["balanced_accuracy"]
}

// GapClosed is method's share of the gap between the best competitor and the real-data ceiling
// on mean test balanced accuracy; false when the table lacks either or method.
func GapClosed(ms []MethodResult, method string) (float64, bool) {
	best, ceil, ok := gapBounds(ms)
	if !ok {
		return 0, false
	}
	for _, m := range ms {
		if m.Method == method {
			lo, hi := best.Mean["balanced_accuracy"], ceil.Mean["balanced_accuracy"]
			return (m.Mean["balanced_accuracy"] - lo) / (hi - lo), true
		}
	}
	return 0, false
}
