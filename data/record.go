package data

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// ManifestVersion is the record schema this package reads and writes.
const ManifestVersion = 1

// NoLabel marks a record whose line gave a class name but no label.
const NoLabel = -1

// Sources a record may name.
const (
	SourceReal      = "real"
	SourceGenerated = "generated"
)

// Record is one manifest line; MANIFEST.md is the schema.
type Record struct {
	V          int                `json:"v"`
	Path       string             `json:"path,omitempty"`
	Ref        string             `json:"ref,omitempty"`
	Label      int64              `json:"label"`
	Class      string             `json:"class,omitempty"`
	Attrs      map[string]float32 `json:"attrs,omitempty"`
	Source     string             `json:"source,omitempty"`
	Provenance *Provenance        `json:"provenance,omitempty"`
	// Mix makes the label soft: Weight of the image belongs to class With, the rest to Label
	// (a generated blend between two classes, generate.blend). A loader that knows only hard
	// labels reads Label, the class the image leans to.
	Mix  *RecordMix      `json:"mix,omitempty"`
	Meta json.RawMessage `json:"meta,omitempty"`
}

// RecordMix is a record's soft label: With is a class name, Weight in (0, 1).
type RecordMix struct {
	With   string  `json:"with"`
	Weight float32 `json:"weight"`
}

// Provenance says how a generated image was made and why it was kept.
type Provenance struct {
	Round      int               `json:"round"`
	Target     string            `json:"target,omitempty"`
	Seed       uint64            `json:"seed"`
	Generator  string            `json:"generator,omitempty"`
	Confidence float32           `json:"confidence"`
	ScreenProb float32           `json:"screen_prob"`
	Conditions map[string]string `json:"conditions,omitempty"`
	// Content names the real training image an image was made from: "real:REF" (degraded as it
	// is, generate.condition_content = "real") or "edit:REF" (re-shaped by the generator,
	// generate.latent = "edit"); empty when the generator drew it.
	Content string `json:"content,omitempty"`
	Review  string `json:"review,omitempty"`
	// Shard is "I/N" for an image a sharded generate made (`generate --shard`, kept by merge).
	Shard string `json:"shard,omitempty"`
}

// Ways a condition got into a generated image.
const (
	ByGenerator = "generator"
	ByNative    = "native"
)

// wireRecord tells an absent label or version from a zero one.
type wireRecord struct {
	V          *int               `json:"v"`
	Path       string             `json:"path"`
	Ref        string             `json:"ref"`
	Label      *int64             `json:"label"`
	Class      string             `json:"class"`
	Attrs      map[string]float32 `json:"attrs"`
	Source     string             `json:"source"`
	Provenance *Provenance        `json:"provenance"`
	Mix        *RecordMix         `json:"mix"`
	Meta       json.RawMessage    `json:"meta"`
}

// ParseManifestLine decodes and checks one record. Unknown fields are an
// error (a typo must not silently drop a label); put extras under "meta".
func ParseManifestLine(line []byte) (Record, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var w wireRecord
	if err := dec.Decode(&w); err != nil {
		return Record{}, fmt.Errorf("not a JSON record: %w", err)
	}
	if dec.More() {
		return Record{}, errors.New("not a JSON record: more than one value on the line")
	}
	if _, err := dec.Token(); err == nil {
		return Record{}, errors.New("not a JSON record: trailing data after the object")
	}
	r := Record{V: ManifestVersion, Path: w.Path, Ref: w.Ref, Label: NoLabel, Class: w.Class,
		Attrs: w.Attrs, Source: w.Source, Provenance: w.Provenance, Mix: w.Mix, Meta: w.Meta}
	if w.V != nil {
		r.V = *w.V
	}
	if w.Label != nil {
		if *w.Label < 0 {
			// -1 is NoLabel inside; written in a line it is a bad label, not an absent one.
			return Record{}, fmt.Errorf(`"label" = %d: want a class index >= 0 (or leave it out and give "class")`, *w.Label)
		}
		r.Label = *w.Label
	}
	// Written lines omit empty maps, so "{}" must read as absent too.
	if len(r.Attrs) == 0 {
		r.Attrs = nil
	}
	if r.Provenance != nil && len(r.Provenance.Conditions) == 0 {
		r.Provenance.Conditions = nil
	}
	return r, r.Validate()
}

// Validate checks a record on its own, without class names or files.
func (r *Record) Validate() error {
	switch {
	case r.V < 1 || r.V > ManifestVersion:
		return fmt.Errorf("schema version %d not supported (this reader knows 1 to %d)", r.V, ManifestVersion)
	case r.Path == "" && r.Ref == "":
		return errors.New(`record has neither "path" nor "ref"`)
	case r.Label < NoLabel:
		return fmt.Errorf("negative label %d", r.Label)
	case r.Label == NoLabel && r.Class == "":
		return errors.New(`record has neither "label" nor "class"`)
	}
	if r.Path != "" {
		if err := checkRelPath(r.Path); err != nil {
			return err
		}
	}
	if r.Ref != "" {
		if _, _, err := parseIDXRef(r.Ref); err != nil {
			return err
		}
	}
	if r.Source != "" && r.Source != SourceReal && r.Source != SourceGenerated {
		return fmt.Errorf("source %q is neither %q nor %q", r.Source, SourceReal, SourceGenerated)
	}
	for _, k := range slices.Sorted(maps.Keys(r.Attrs)) {
		if AttrIndex(k) < 0 {
			return fmt.Errorf("unknown attribute %q (known: %s)", k, strings.Join(AttrNames, ", "))
		}
		if v := r.Attrs[k]; !(v >= 0 && v <= 1) {
			return fmt.Errorf("attribute %q = %v outside [0,1]", k, v)
		}
	}
	if m := r.Mix; m != nil {
		if m.With == "" {
			return errors.New(`"mix" names no class ("with")`)
		}
		if !(m.Weight > 0 && m.Weight < 1) {
			return fmt.Errorf(`"mix" weight %v of class %q: want a share in (0,1)`, m.Weight, m.With)
		}
	}
	if r.Meta != nil && !json.Valid(r.Meta) {
		return errors.New(`"meta" is not valid JSON`)
	}
	if p := r.Provenance; p != nil {
		if p.Round < 0 {
			return fmt.Errorf("provenance round %d is negative", p.Round)
		}
		for name, v := range map[string]float32{"confidence": p.Confidence, "screen_prob": p.ScreenProb} {
			if !(v >= 0 && v <= 1) {
				return fmt.Errorf("provenance %s = %v outside [0,1]", name, v)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(p.Conditions)) {
			if AttrIndex(k) < 0 {
				return fmt.Errorf("provenance names unknown condition %q (known: %s)", k, strings.Join(AttrNames, ", "))
			}
			if v := p.Conditions[k]; v != ByGenerator && v != ByNative {
				return fmt.Errorf("provenance condition %q applied by %q (want %q or %q)", k, v, ByGenerator, ByNative)
			}
		}
	}
	return nil
}

// checkRelPath keeps manifest paths portable and inside the manifest's folder.
func checkRelPath(p string) error {
	if !fs.ValidPath(p) || p == "." || strings.Contains(p, `\`) {
		return fmt.Errorf("path %q must be relative, slash-separated and stay inside the manifest's folder", p)
	}
	return nil
}

// parseIDXRef splits "idx:FILE#INDEX"; ok is false for refs of other kinds
// (a file path), which carry no syntax to check.
func parseIDXRef(ref string) (file string, index int, err error) {
	rest, ok := strings.CutPrefix(ref, "idx:")
	if !ok {
		return "", -1, nil
	}
	hash := strings.LastIndexByte(rest, '#')
	if hash <= 0 {
		return "", 0, fmt.Errorf("ref %q: want idx:FILE#INDEX", ref)
	}
	index, err = strconv.Atoi(rest[hash+1:])
	if err != nil || index < 0 || rest[hash+1:] != strconv.Itoa(index) {
		return "", 0, fmt.Errorf("ref %q: index %q is not a non-negative integer", ref, rest[hash+1:])
	}
	return rest[:hash], index, nil
}

// MarshalLine encodes a record as one manifest line, newline included.
// An absent label (NoLabel) is left out; HTML characters are not escaped.
func (r *Record) MarshalLine() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	w := wireRecord{V: &r.V, Path: r.Path, Ref: r.Ref, Class: r.Class, Attrs: r.Attrs,
		Source: r.Source, Provenance: r.Provenance, Mix: r.Mix, Meta: r.Meta}
	if r.Label != NoLabel {
		w.Label = &r.Label
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(outRecord(w)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// outRecord is wireRecord with omitempty, so written lines stay short.
type outRecord struct {
	V          *int               `json:"v"`
	Path       string             `json:"path,omitempty"`
	Ref        string             `json:"ref,omitempty"`
	Label      *int64             `json:"label,omitempty"`
	Class      string             `json:"class,omitempty"`
	Attrs      map[string]float32 `json:"attrs,omitempty"`
	Source     string             `json:"source,omitempty"`
	Provenance *Provenance        `json:"provenance,omitempty"`
	Mix        *RecordMix         `json:"mix,omitempty"`
	Meta       json.RawMessage    `json:"meta,omitempty"`
}
