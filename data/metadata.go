package data

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gam-native/gam-native/internal/atomicfile"
)

// MetadataName is the Hugging Face `imagefolder` metadata file beside a manifest: one JSON line
// per image with its file_name (relative to the folder), label (the class name) and the
// provenance columns. It is a view of the manifest, which stays the reference: the same images,
// in the same order.
const MetadataName = "metadata.jsonl"

// MetadataAttrs are the attribute columns of metadata.jsonl, always present (0 when an image has
// none), so that every line has the same columns.
var MetadataAttrs = []string{"blur", "shadow", "low_contrast", "noise"}

// MetadataRow is one line of metadata.jsonl. Every column is present on every line: a loader
// that infers a schema from the lines gets one.
type MetadataRow struct {
	FileName   string             `json:"file_name"`
	Label      string             `json:"label"`
	LabelIndex int64              `json:"label_index"` // the class's index in the models (classes.json)
	Source     string             `json:"source"`
	Round      int                `json:"round"`
	Target     string             `json:"target"`
	Seed       uint64             `json:"seed"`
	Generator  string             `json:"generator"`
	Confidence float32            `json:"confidence"`
	ScreenProb float32            `json:"screen_prob"`
	Conditions string             `json:"conditions"` // "blur=generator,noise=native"
	Content    string             `json:"content"`
	Review     string             `json:"review"`
	Shard      string             `json:"shard"`
	MixWith    string             `json:"mix_with"`
	MixWeight  float32            `json:"mix_weight"`
	Attrs      map[string]float32 `json:"attrs"`
}

// MetadataOf is r's metadata.jsonl row; r must have a path.
func MetadataOf(r Record) MetadataRow {
	m := MetadataRow{FileName: r.Path, Label: r.Class, LabelIndex: r.Label, Source: r.Source, Attrs: map[string]float32{}}
	for _, a := range MetadataAttrs {
		m.Attrs[a] = r.Attrs[a]
	}
	if p := r.Provenance; p != nil {
		m.Round, m.Target, m.Seed, m.Generator = p.Round, p.Target, p.Seed, p.Generator
		m.Confidence, m.ScreenProb, m.Content, m.Review, m.Shard = p.Confidence, p.ScreenProb, p.Content, p.Review, p.Shard
		var cs []string
		for _, k := range slices.Sorted(maps.Keys(p.Conditions)) {
			cs = append(cs, k+"="+p.Conditions[k])
		}
		m.Conditions = strings.Join(cs, ",")
	}
	if r.Mix != nil {
		m.MixWith, m.MixWeight = r.Mix.With, r.Mix.Weight
	}
	return m
}

func metadataLines(recs []Record) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, r := range recs {
		if r.Path == "" {
			continue // a reference to a real image elsewhere: not a file of this folder
		}
		if err := enc.Encode(MetadataOf(r)); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// WriteMetadata replaces dir/metadata.jsonl with the rows of recs, atomically.
func WriteMetadata(dir string, recs []Record) error {
	b, err := metadataLines(recs)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, MetadataName), b)
}

// MetadataWriter keeps dir/metadata.jsonl in step with a manifest that is only appended to
// (ManifestWriter): opened, it rewrites the file from the manifest's records (which repairs
// whatever a kill between the two appends left); Append adds the rows of records it has not
// written yet, one write and one fsync per batch.
type MetadataWriter struct {
	path string
	f    *os.File
	have map[string]bool
}

// OpenMetadataWriter rewrites dir/metadata.jsonl from recs and opens it for appends.
func OpenMetadataWriter(dir string, recs []Record) (*MetadataWriter, error) {
	if err := WriteMetadata(dir, recs); err != nil {
		return nil, err
	}
	p := filepath.Join(dir, MetadataName)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, err
	}
	w := &MetadataWriter{path: p, f: f, have: map[string]bool{}}
	for _, r := range recs {
		w.have[r.Path] = true
	}
	return w, nil
}

// Append writes the rows of the records not written yet.
func (w *MetadataWriter) Append(recs ...Record) error {
	var fresh []Record
	for _, r := range recs {
		if r.Path != "" && !w.have[r.Path] {
			fresh = append(fresh, r)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	b, err := metadataLines(fresh)
	if err != nil {
		return err
	}
	if _, err := w.f.Write(b); err != nil {
		return fmt.Errorf("%s: append: %w", w.path, err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("%s: fsync: %w", w.path, err)
	}
	for _, r := range fresh {
		w.have[r.Path] = true
	}
	return nil
}

// Close is idempotent.
func (w *MetadataWriter) Close() error {
	if w == nil || w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}
