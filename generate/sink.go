package generate

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/google/renameio/v2"

	"github.com/gam-native/gam-native/data"
)

// DirSink writes accepted images as an ImageFolder (images/<class>/NAME.png) with a durable,
// append-only manifest, and pending ones likewise under a review folder. Names are a function of
// round, target and order, so a resumed run rewrites the same files and the manifest writer
// skips records it already has: accepted images end up there exactly once.
type DirSink struct {
	Dir, ReviewDir string
	ClassNames     []string
	Round          int
	Generator      string
	C, H, W        int
	accepted       *data.ManifestWriter
	pending        *data.ManifestWriter
}

// OpenDirSink opens (or creates) dir/manifest.jsonl and, when reviewDir is set,
// reviewDir/pending.jsonl.
func OpenDirSink(dir, reviewDir string, classNames []string, round int, generator string, c, h, w int) (*DirSink, error) {
	s := &DirSink{Dir: dir, ReviewDir: reviewDir, ClassNames: classNames, Round: round, Generator: generator, C: c, H: h, W: w}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var err error
	if s.accepted, err = data.OpenManifestWriter(filepath.Join(dir, "manifest.jsonl")); err != nil {
		return nil, err
	}
	if reviewDir != "" {
		if err := os.MkdirAll(reviewDir, 0o755); err != nil {
			return nil, err
		}
		if s.pending, err = data.OpenManifestWriter(filepath.Join(reviewDir, "pending.jsonl")); err != nil {
			s.accepted.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close closes the manifests. Idempotent.
func (s *DirSink) Close() error {
	var err error
	if s.accepted != nil {
		err = s.accepted.Close()
	}
	if s.pending != nil {
		if e := s.pending.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Records are the accepted records so far (including those of earlier runs into the same dir).
func (s *DirSink) Records() []data.Record { return s.accepted.Records() }

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func (s *DirSink) write(root string, c *Candidate, w *data.ManifestWriter) error {
	cls := s.ClassNames[c.Target.Class]
	name := fmt.Sprintf("r%d_%s_%06d.png", s.Round, unsafeName.ReplaceAllString(c.Target.ID, "-"), c.Seq)
	rel := filepath.ToSlash(filepath.Join("images", unsafeName.ReplaceAllString(cls, "-"), name))
	ds := &data.Dataset{C: s.C, H: s.H, W: s.W, Images: c.Pixels, Labels: []int64{int64(c.Target.Class)}}
	png, err := data.EncodePNG(ds, 0)
	if err != nil {
		return err
	}
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := renameio.WriteFile(p, png, 0o644); err != nil {
		return err
	}
	rec := data.Record{V: data.ManifestVersion, Path: rel, Label: int64(c.Target.Class), Class: cls, Attrs: c.Attrs,
		Source: data.SourceGenerated, Provenance: &data.Provenance{Round: s.Round, Target: c.Target.ID, Seed: c.Seed,
			Generator: s.Generator, Confidence: clamp01(c.Confidence), ScreenProb: clamp01(c.ScreenProb), Conditions: c.Conditions}}
	_, err = w.Append(rec)
	return err
}

func clamp01(v float32) float32 { return min(max(v, 0), 1) }

// Accept writes an accepted image and its record.
func (s *DirSink) Accept(c *Candidate) error { return s.write(s.Dir, c, s.accepted) }

// Pend writes an image for review.
func (s *DirSink) Pend(c *Candidate) error {
	if s.pending == nil {
		return fmt.Errorf("review band set but no review folder")
	}
	return s.write(s.ReviewDir, c, s.pending)
}
