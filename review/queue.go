package review

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/gam-native/gam-native/data"
)

// Values of provenance.review on the records Resolved returns.
const (
	ReviewAccepted  = "accepted"
	ReviewRelabeled = "relabeled"
)

// LoadClasses reads <run>/classes.json, a JSON array of class names.
func LoadClasses(runDir string) ([]string, error) {
	p := filepath.Join(runDir, ClassesName)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return nil, fmt.Errorf("%s: want a JSON array of class names: %w", p, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no class names", p)
	}
	for i, n := range names {
		if n == "" || slices.Index(names, n) != i {
			return nil, fmt.Errorf("%s: class %d (%q) is empty or repeated", p, i, n)
		}
	}
	return names, nil
}

// readQueue reads review/pending.jsonl, most uncertain first. A missing
// file is an empty queue (the run has routed nothing to review yet).
func readQueue(runDir string) ([]data.Record, error) {
	recs, err := data.ReadManifestRecords(filepath.Join(runDir, ReviewDir, PendingName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if r.Path == "" {
			return nil, fmt.Errorf("%s: record with ref %q has no path: review needs the image file", PendingName, r.Ref)
		}
	}
	sortUncertainFirst(recs)
	return recs, nil
}

// sortUncertainFirst puts the images the screen was least sure of first:
// lowest screen probability, then lowest generation confidence. Records
// without provenance count as fully uncertain.
func sortUncertainFirst(recs []data.Record) {
	key := func(r *data.Record) (float32, float32) {
		if r.Provenance == nil {
			return -1, -1
		}
		return r.Provenance.ScreenProb, r.Provenance.Confidence
	}
	slices.SortStableFunc(recs, func(a, b data.Record) int {
		as, ac := key(&a)
		bs, bc := key(&b)
		return cmp.Or(cmp.Compare(as, bs), cmp.Compare(ac, bc), cmp.Compare(a.Path, b.Path))
	})
}

// Pending returns the records of review/pending.jsonl that have no decision
// yet, most uncertain first.
func Pending(runDir string) ([]data.Record, error) {
	recs, err := readQueue(runDir)
	if err != nil {
		return nil, err
	}
	ds, err := LoadDecisions(runDir)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(recs, func(r data.Record) bool { _, ok := ds[r.Path]; return ok }), nil
}

// Resolved joins the queue with the decisions: accepted holds the accepted
// records as they were and the relabeled ones with their new label and
// class, each with provenance.review set ("accepted" or "relabeled");
// rejected holds the paths of the rejected images. Paths stay relative to
// the review/ folder. With classNames nil they come from classes.json.
// Decisions for images no longer in the queue are left out.
func Resolved(runDir string, classNames []string) (accepted []data.Record, rejected []string, err error) {
	if classNames == nil {
		if classNames, err = LoadClasses(runDir); err != nil {
			return nil, nil, err
		}
	}
	recs, err := readQueue(runDir)
	if err != nil {
		return nil, nil, err
	}
	ds, err := LoadDecisions(runDir)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range recs {
		d, ok := ds[r.Path]
		if !ok {
			continue
		}
		switch d.Decision {
		case Reject:
			rejected = append(rejected, r.Path)
			continue
		case Accept:
			if err := fillLabel(&r, classNames); err != nil {
				return nil, nil, err
			}
			setReview(&r, ReviewAccepted)
		case Relabel:
			label, class, err := resolveClass(d.Label, d.Class, classNames)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: decision for %s: %w", DecisionsName, d.Path, err)
			}
			r.Label, r.Class = label, class
			setReview(&r, ReviewRelabeled)
		}
		accepted = append(accepted, r)
	}
	return accepted, rejected, nil
}

func setReview(r *data.Record, v string) {
	p := data.Provenance{}
	if r.Provenance != nil {
		p = *r.Provenance
	}
	p.Review = v
	r.Provenance = &p
}

// fillLabel completes a record's (label, class) pair from the class names.
func fillLabel(r *data.Record, classNames []string) error {
	label, class, err := resolveClass(r.Label, r.Class, classNames)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", PendingName, r.Path, err)
	}
	r.Label, r.Class = label, class
	return nil
}

// resolveClass checks a (label, class) pair, either half may be missing
// (label data.NoLabel or class "").
func resolveClass(label int64, class string, classNames []string) (int64, string, error) {
	if class != "" {
		k := slices.Index(classNames, class)
		if k < 0 {
			return 0, "", fmt.Errorf("unknown class %s", quoted(class))
		}
		if label != data.NoLabel && label != int64(k) {
			return 0, "", fmt.Errorf("label %d disagrees with class %q (label %d)", label, class, k)
		}
		return int64(k), class, nil
	}
	if label < 0 || label >= int64(len(classNames)) {
		return 0, "", fmt.Errorf("label %d outside the %d classes", label, len(classNames))
	}
	return label, classNames[label], nil
}
