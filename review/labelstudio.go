package review

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gam-native/gam-native/internal/jsonfile"
)

// Names in the Label Studio labeling config that tasks and exports use;
// LabelConfig writes a config with them.
const (
	LSFromName   = "choice"
	LSToName     = "image"
	LSRejectName = "reject"
)

// LSTask is a Label Studio task (the "JSON" import/export format). Export
// fills Data and Predictions; an export from Label Studio adds ID and
// Annotations.
type LSTask struct {
	ID          int64          `json:"id,omitempty"`
	Data        LSData         `json:"data"`
	Predictions []LSPrediction `json:"predictions,omitempty"`
	Annotations []LSAnnotation `json:"annotations,omitempty"`
}

// LSData is the task's data; Label Studio keeps keys it does not know, so
// gam_path comes back in the export and names the image.
type LSData struct {
	Image      string   `json:"image"`
	GamPath    string   `json:"gam_path"`
	Intended   string   `json:"intended_class,omitempty"`
	Target     string   `json:"target,omitempty"`
	ScreenProb *float32 `json:"screen_prob,omitempty"`
	Confidence *float32 `json:"confidence,omitempty"`
}

// LSPrediction is a pre-annotation.
type LSPrediction struct {
	ModelVersion string     `json:"model_version,omitempty"`
	Score        float32    `json:"score"`
	Result       []LSResult `json:"result"`
}

// LSAnnotation is one annotator's submission (or skip) in an export.
type LSAnnotation struct {
	ID           int64           `json:"id,omitempty"`
	Result       []LSResult      `json:"result"`
	WasCancelled bool            `json:"was_cancelled"`
	CreatedAt    string          `json:"created_at,omitempty"`
	UpdatedAt    string          `json:"updated_at,omitempty"`
	CompletedBy  json.RawMessage `json:"completed_by,omitempty"`
}

// LSResult is one region result; reviews use the choices type.
type LSResult struct {
	ID       string        `json:"id,omitempty"`
	FromName string        `json:"from_name"`
	ToName   string        `json:"to_name"`
	Type     string        `json:"type"`
	Value    LSResultValue `json:"value"`
}

// LSResultValue holds the chosen classes.
type LSResultValue struct {
	Choices []string `json:"choices"`
}

// ExportLS writes the images without a decision as Label Studio tasks to
// out (atomically). Each image's URL is urlPrefix followed by its path
// relative to review/ (escaped per segment); the prediction is the
// intended class with the screen probability as its score.
func ExportLS(runDir, out, urlPrefix string) (int, error) {
	classes, err := LoadClasses(runDir)
	if err != nil {
		return 0, err
	}
	recs, err := Pending(runDir)
	if err != nil {
		return 0, err
	}
	tasks := make([]LSTask, 0, len(recs))
	for _, r := range recs {
		_, class, err := resolveClass(r.Label, r.Class, classes)
		if err != nil {
			return 0, fmt.Errorf("%s: %s: %w", PendingName, r.Path, err)
		}
		t := LSTask{Data: LSData{Image: urlPrefix + escapeSegments(r.Path), GamPath: r.Path, Intended: class}}
		pred := LSPrediction{ModelVersion: "gam-native", Result: []LSResult{{
			ID: "gam", FromName: LSFromName, ToName: LSToName, Type: "choices",
			Value: LSResultValue{Choices: []string{class}},
		}}}
		if p := r.Provenance; p != nil {
			sp, conf := p.ScreenProb, p.Confidence
			t.Data.ScreenProb, t.Data.Confidence, t.Data.Target = &sp, &conf, p.Target
			pred.Score = sp
			pred.ModelVersion = fmt.Sprintf("gam-native round %d", p.Round)
		}
		t.Predictions = []LSPrediction{pred}
		tasks = append(tasks, t)
	}
	b, err := json.MarshalIndent(tasks, "", "  ")
	if err != nil {
		return 0, err
	}
	return len(tasks), atomicWrite(out, append(b, '\n'))
}

func escapeSegments(p string) string {
	parts := strings.Split(p, "/")
	for i := range parts {
		parts[i] = url.PathEscape(parts[i])
	}
	return strings.Join(parts, "/")
}

func atomicWrite(p string, b []byte) error {
	return jsonfile.WriteUserFile(p, b)
}

// LabelConfig is a Label Studio labeling config matching the exported
// tasks: one single-choice question over the classes plus "reject".
func LabelConfig(classes []string) string {
	var b strings.Builder
	b.WriteString("<View>\n  <Image name=\"" + LSToName + "\" value=\"$image\" zoom=\"true\"/>\n")
	b.WriteString("  <Header value=\"$intended_class\"/>\n")
	b.WriteString("  <Choices name=\"" + LSFromName + "\" toName=\"" + LSToName + "\" choice=\"single-radio\" required=\"true\" showInline=\"true\">\n")
	for _, c := range append(slices.Clone(classes), LSRejectName) {
		b.WriteString("    <Choice value=\"" + html.EscapeString(c) + "\"/>\n")
	}
	b.WriteString("  </Choices>\n</View>\n")
	return b.String()
}

// ImportResult counts what ImportLS did.
type ImportResult struct {
	Accepted, Rejected, Relabeled int
	// Unreviewed tasks had no annotation; Unchanged ones repeated the
	// image's latest decision and were not written again.
	Unreviewed, Unchanged int
}

// ImportLS reads a Label Studio JSON export and appends one decision per
// annotated task: a cancelled (skipped) annotation or the "reject" choice
// rejects, the intended class accepts, another class relabels. The latest
// annotation of a task counts. reviewer, when set, names the decider;
// otherwise the annotation's completed_by does.
func ImportLS(runDir, exportPath, reviewer string) (ImportResult, error) {
	var res ImportResult
	b, err := os.ReadFile(exportPath)
	if err != nil {
		return res, err
	}
	var tasks []LSTask
	if err := json.Unmarshal(b, &tasks); err != nil {
		return res, fmt.Errorf("%s: not a Label Studio JSON export (an array of tasks): %w", exportPath, err)
	}
	classes, err := LoadClasses(runDir)
	if err != nil {
		return res, err
	}
	recs, err := readQueue(runDir)
	if err != nil {
		return res, err
	}
	intended := map[string]int64{}
	for _, r := range recs {
		label, _, err := resolveClass(r.Label, r.Class, classes)
		if err != nil {
			return res, fmt.Errorf("%s: %s: %w", PendingName, r.Path, err)
		}
		intended[r.Path] = label
	}
	latest, err := LoadDecisions(runDir)
	if err != nil {
		return res, err
	}
	var out []Decision
	for i, t := range tasks {
		where := fmt.Sprintf("%s: task %d (id %d)", exportPath, i, t.ID)
		p := t.Data.GamPath
		if p == "" {
			return res, fmt.Errorf("%s: no data.gam_path: was it exported by `gam-native review export-ls`?", where)
		}
		want, ok := intended[p]
		if !ok {
			return res, fmt.Errorf("%s: %q is not in the review queue", where, p)
		}
		if err := checkLSStamps(t.Annotations); err != nil {
			return res, fmt.Errorf("%s: %w", where, err)
		}
		a, ok := latestAnnotation(t.Annotations)
		if !ok {
			res.Unreviewed++
			continue
		}
		d := Decision{Path: p, Reviewer: reviewer, Time: lsTime(a)}
		if d.Reviewer == "" {
			d.Reviewer = lsReviewer(a.CompletedBy)
		}
		choice, hasChoice := lsChoice(a.Result)
		switch {
		case a.WasCancelled || strings.EqualFold(choice, LSRejectName):
			d.Decision, d.Label, d.Class = Reject, want, classes[want]
		case !hasChoice:
			res.Unreviewed++
			continue
		default:
			k := slices.Index(classes, choice)
			if k < 0 {
				return res, fmt.Errorf("%s: choice %q is neither a class (%s) nor %q", where, choice, strings.Join(classes, ", "), LSRejectName)
			}
			d.Decision, d.Label, d.Class = Accept, int64(k), choice
			if int64(k) != want {
				d.Decision = Relabel
			}
		}
		if old, ok := latest[p]; ok && old.Decision == d.Decision && old.Label == d.Label {
			res.Unchanged++
			continue
		}
		if err := d.Validate(); err != nil {
			return res, fmt.Errorf("%s: %w", where, err)
		}
		latest[p] = d
		out = append(out, d)
		switch d.Decision {
		case Accept:
			res.Accepted++
		case Reject:
			res.Rejected++
		case Relabel:
			res.Relabeled++
		}
	}
	return res, AppendDecisions(runDir, out...)
}

// latestAnnotation picks the most recently updated annotation; a task
// with several annotators ends with the last word.
func latestAnnotation(as []LSAnnotation) (LSAnnotation, bool) {
	if len(as) == 0 {
		return LSAnnotation{}, false
	}
	best := 0
	for i := 1; i < len(as); i++ {
		if lsStamp(as[i]) >= lsStamp(as[best]) {
			best = i
		}
	}
	return as[best], true
}

// checkLSStamps refuses an annotation whose updated_at or created_at is written but is not an
// RFC 3339 time: it would otherwise lose the choice of the latest annotation and be recorded at
// the time of the import.
func checkLSStamps(as []LSAnnotation) error {
	for i, a := range as {
		for _, f := range []struct{ key, v string }{{"updated_at", a.UpdatedAt}, {"created_at", a.CreatedAt}} {
			if f.v == "" {
				continue
			}
			if _, err := time.Parse(time.RFC3339Nano, f.v); err != nil {
				return fmt.Errorf("annotation %d (id %d): %s = %s: want an RFC 3339 time such as 2025-03-09T22:16:08.746926Z", i, a.ID, f.key, quoted(f.v))
			}
		}
	}
	return nil
}

func lsStamp(a LSAnnotation) string {
	t, err := time.Parse(time.RFC3339Nano, cmpOr(a.UpdatedAt, a.CreatedAt))
	if err != nil {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z")
}

func lsTime(a LSAnnotation) string {
	if t, err := time.Parse(time.RFC3339Nano, cmpOr(a.UpdatedAt, a.CreatedAt)); err == nil {
		return t.UTC().Format(time.RFC3339)
	}
	return now()
}

func lsChoice(rs []LSResult) (string, bool) {
	for _, r := range rs {
		if r.Type == "choices" && len(r.Value.Choices) > 0 {
			return r.Value.Choices[0], true
		}
	}
	return "", false
}

// lsReviewer names an annotator: completed_by is a user id, or an object
// with email (older exports).
func lsReviewer(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	var obj struct {
		Email string `json:"email"`
		ID    int64  `json:"id"`
	}
	var id int64
	switch {
	case json.Unmarshal(raw, &obj) == nil && obj.Email != "":
		return "label-studio:" + obj.Email
	case json.Unmarshal(raw, &obj) == nil && obj.ID != 0:
		return fmt.Sprintf("label-studio:user-%d", obj.ID)
	case json.Unmarshal(raw, &id) == nil:
		return fmt.Sprintf("label-studio:user-%d", id)
	}
	return "label-studio"
}
