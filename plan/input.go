package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// MetricsFormat is the version string of the metrics input format (docs/metrics-format.md).
const MetricsFormat = "gam.metrics/v1"

// metricsFile mirrors the JSON document; pointers tell a missing field from a zero.
type metricsFile struct {
	Format      *string         `json:"format"`
	Classes     []string        `json:"classes"`
	AttrNames   []string        `json:"attr_names"`
	TrainCounts map[string]int  `json:"train_counts"`
	Predictions *predictionsDoc `json:"predictions"`
	Metrics     *metricsDoc     `json:"metrics"`
}

type predictionsDoc struct {
	True  []int       `json:"true"`
	Pred  []int       `json:"pred"`
	Probs [][]float64 `json:"probs"`
	Attrs [][]float64 `json:"attrs"`
}

type metricsDoc struct {
	Classes   []unitDoc `json:"classes"`
	Segments  []unitDoc `json:"segments"`
	Confusion [][]int   `json:"confusion"`
}

type unitDoc struct {
	Class        *string            `json:"class"`
	Condition    *string            `json:"condition"`
	Support      *int               `json:"support"`
	Precision    *float64           `json:"precision"`
	Recall       *float64           `json:"recall"`
	FPR          *float64           `json:"fpr"`
	F1           *float64           `json:"f1"`
	RecallCI     []float64          `json:"recall_ci"`
	ConfusedWith map[string]float64 `json:"confused_with"`
	Hardness     *float64           `json:"hardness"`
	TrainCount   *int               `json:"train_count"`
}

// ReadMetricsFile reads and validates a metrics document from a file.
func ReadMetricsFile(path string, opt MetricsOptions) (*Metrics, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := ReadMetrics(f, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// ReadMetrics parses a gam.metrics/v1 document holding either predictions (metrics are computed)
// or precomputed per-class and per-segment metrics. Errors name the offending field.
func ReadMetrics(r io.Reader, opt MetricsOptions) (*Metrics, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var doc metricsFile
	if err := dec.Decode(&doc); err != nil {
		return nil, jsonError(data, err)
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON document")
	}
	switch {
	case doc.Format == nil:
		return nil, fmt.Errorf("format: missing field (want %q)", MetricsFormat)
	case *doc.Format != MetricsFormat:
		return nil, fmt.Errorf("format: unsupported version %q (this build reads %q)", *doc.Format, MetricsFormat)
	case doc.Classes == nil:
		return nil, errors.New("classes: missing field (the list of class names, index = label)")
	case doc.Predictions != nil && doc.Metrics != nil:
		return nil, errors.New("predictions, metrics: give one of them, not both")
	case doc.Predictions == nil && doc.Metrics == nil:
		return nil, errors.New("predictions, metrics: missing field (give one of them)")
	}
	if err := checkTrainCounts(doc.TrainCounts, doc.Classes); err != nil {
		return nil, err
	}
	if doc.Predictions != nil {
		p, err := doc.predictions()
		if err != nil {
			return nil, err
		}
		return ComputeMetrics(p, opt)
	}
	return doc.precomputed(opt)
}

// jsonError turns decoder errors into "line:col" messages naming the field where the decoder knows it.
func jsonError(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		l, c := lineCol(data, se.Offset)
		return fmt.Errorf("line %d col %d: invalid JSON: %v", l, c, se)
	case errors.As(err, &te):
		l, c := lineCol(data, te.Offset)
		return fmt.Errorf("%s (line %d col %d): got JSON %s, want %s", te.Field, l, c, te.Value, te.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return fmt.Errorf("%s (not part of %s; check the spelling)", strings.TrimPrefix(err.Error(), "json: "), MetricsFormat)
	case errors.Is(err, io.EOF):
		return errors.New("empty document")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("invalid JSON: the document ends early (unclosed bracket or brace?)")
	}
	return err
}

func lineCol(data []byte, off int64) (int, int) {
	off = min(max(off, 0), int64(len(data)))
	pre := data[:off]
	line := bytes.Count(pre, []byte("\n")) + 1
	return line, int(off) - bytes.LastIndexByte(pre, '\n')
}

func checkTrainCounts(tc map[string]int, classes []string) error {
	for id, n := range tc {
		// A class name may hold "/" (torchvision's "T-shirt/top"): the ID is a whole class name,
		// or a class name, "/" and a bucket.
		if _, _, ok := SplitID(id, classes); !ok {
			cls, seg := cutKnownClass(id, classes)
			if slices.Contains(classes, cls) {
				return fmt.Errorf("train_counts[%q]: unknown segment %q (known: %s)", id, seg, strings.Join(Buckets, ", "))
			}
			return fmt.Errorf("train_counts[%q]: unknown class %q", id, cls)
		}
		if n < 0 {
			return fmt.Errorf("train_counts[%q]: negative count %d", id, n)
		}
	}
	return nil
}

func (doc *metricsFile) predictions() (Predictions, error) {
	pd := doc.Predictions
	if pd.True == nil {
		return Predictions{}, errors.New("predictions.true: missing field")
	}
	if pd.Pred == nil {
		return Predictions{}, errors.New("predictions.pred: missing field")
	}
	p := Predictions{Classes: doc.Classes, True: pd.True, Pred: pd.Pred, AttrOrder: doc.AttrNames, TrainCounts: doc.TrainCounts}
	var err error
	if p.Probs, err = flatten("predictions.probs", pd.Probs, len(pd.True), len(doc.Classes)); err != nil {
		return p, err
	}
	if p.Attrs, err = flatten("predictions.attrs", pd.Attrs, len(pd.True), len(p.attrOrder())); err != nil {
		return p, err
	}
	return p, nil
}

func flatten(field string, rows [][]float64, n, width int) ([]float64, error) {
	if rows == nil {
		return nil, nil
	}
	if len(rows) != n {
		return nil, fmt.Errorf("%s: %d rows for %d images", field, len(rows), n)
	}
	out := make([]float64, 0, n*width)
	for i, r := range rows {
		if len(r) != width {
			return nil, fmt.Errorf("%s[%d]: %d values, want %d", field, i, len(r), width)
		}
		out = append(out, r...)
	}
	return out, nil
}
