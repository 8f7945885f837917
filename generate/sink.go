package generate

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/internal/atomicfile"
)

// DirSink writes accepted images as an ImageFolder rooted at Dir (<class folder>/NAME.png, a
// folder for every class, data.ClassFolder) with a durable, append-only manifest and its
// metadata.jsonl view, and pending ones under a review folder (images/<class folder>/NAME.png),
// which must lie outside Dir: an ImageFolder loader takes every folder of Dir for a class.
// Names are a function of round, target and order, so a resumed run rewrites the same files and the manifest writer
// skips records it already has: accepted images end up there exactly once. An image is in the
// manifest only after its file is durable.
type DirSink struct {
	Dir, ReviewDir string
	ClassNames     []string
	Round          int
	Generator      string
	C, H, W        int
	accepted       *data.ManifestWriter
	pending        *data.ManifestWriter
	meta           *data.MetadataWriter
	// records written as images but not yet in a manifest: Flush commits them
	queuedAcc, queuedPend []data.Record
	// Workers is how many PNGs are encoded and written at once (OpenDirSink: one per core): Accept
	// and Pend queue the record at once and hand the encode and the write to a worker, and Flush
	// waits for them before it syncs. 1 writes each image inside Accept.
	Workers int
	sem     chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	werr    error // the first failed write since the last Flush
}

// OpenDirSink opens (or creates) dir/manifest.jsonl and, when reviewDir is set,
// reviewDir/pending.jsonl.
func OpenDirSink(dir, reviewDir string, classNames []string, round int, generator string, c, h, w int) (*DirSink, error) {
	s := &DirSink{Dir: dir, ReviewDir: reviewDir, ClassNames: classNames, Round: round, Generator: generator, C: c, H: h, W: w,
		Workers: runtime.GOMAXPROCS(0)}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var err error
	for _, c := range classNames {
		if err := os.MkdirAll(filepath.Join(dir, data.ClassFolder(c)), 0o755); err != nil {
			return nil, err
		}
	}
	if s.accepted, err = data.OpenManifestWriter(filepath.Join(dir, "manifest.jsonl")); err != nil {
		return nil, err
	}
	if s.meta, err = data.OpenMetadataWriter(dir, s.accepted.Records()); err != nil {
		s.accepted.Close()
		return nil, err
	}
	if reviewDir != "" {
		if err := os.MkdirAll(reviewDir, 0o755); err != nil {
			return nil, err
		}
		if s.pending, err = data.OpenManifestWriter(filepath.Join(reviewDir, "pending.jsonl")); err != nil {
			s.accepted.Close()
			s.meta.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close flushes and closes the manifests. Idempotent.
func (s *DirSink) Close() error {
	err := s.Flush()
	if s.accepted != nil {
		if e := s.accepted.Close(); err == nil {
			err = e
		}
	}
	if s.pending != nil {
		if e := s.pending.Close(); err == nil {
			err = e
		}
	}
	if e := s.meta.Close(); err == nil {
		err = e
	}
	return err
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// write makes c's record and has its PNG put in place: at once with one worker, else by a worker
// goroutine (on a copy of the pixels: the caller's batch is reused once Accept returns), whose
// error the next Flush returns.
func (s *DirSink) write(root, prefix string, c *Candidate) (data.Record, error) {
	cls := s.ClassNames[c.Target.Class]
	name := imageName(s.Round, c, unsafeName) + ".png"
	rel := prefix + data.ClassFolder(cls) + "/" + name
	p := filepath.Join(root, filepath.FromSlash(rel))
	label := int64(c.Target.Class)
	if s.Workers <= 1 {
		if err := s.writePNG(p, c.Pixels, label); err != nil {
			return data.Record{}, err
		}
	} else {
		if s.sem == nil {
			s.sem = make(chan struct{}, s.Workers)
		}
		px := append([]float32(nil), c.Pixels...)
		s.wg.Add(1)
		s.sem <- struct{}{}
		go func() {
			defer func() { <-s.sem; s.wg.Done() }()
			if err := s.writePNG(p, px, label); err != nil {
				s.mu.Lock()
				if s.werr == nil {
					s.werr = err
				}
				s.mu.Unlock()
			}
		}()
	}
	return candidateRecord(s.ClassNames, s.Round, s.Generator, c, rel), nil
}

// imageName is an image's name without extension, a function of round, target and order:
// r<round>_<target, characters outside keep replaced by "-">_<seq, 6 digits>.
func imageName(round int, c *Candidate, keep *regexp.Regexp) string {
	return fmt.Sprintf("r%d_%s_%06d", round, keep.ReplaceAllString(c.Target.ID, "-"), c.Seq)
}

// candidateRecord is the manifest record of an accepted or pending candidate stored at rel.
func candidateRecord(classNames []string, round int, generator string, c *Candidate, rel string) data.Record {
	rec := data.Record{V: data.ManifestVersion, Path: rel, Label: int64(c.Target.Class), Class: classNames[c.Target.Class], Attrs: c.Attrs,
		Source: data.SourceGenerated, Provenance: &data.Provenance{Round: round, Target: c.Target.ID, Seed: c.Seed,
			Generator: generator, Confidence: clamp01(c.Confidence), ScreenProb: clamp01(c.ScreenProb), Conditions: c.Conditions, Content: c.Content}}
	if c.MixWeight > 0 {
		rec.Mix = &data.RecordMix{With: classNames[c.MixWith], Weight: c.MixWeight}
	}
	return rec
}

// writePNG encodes one image and puts it at p (temporary file and rename: a kill leaves the old
// file or the new one). The file is not fsynced here: Flush makes the whole batch durable with
// one syncfs before the manifest, the commit record, names it.
func (s *DirSink) writePNG(p string, px []float32, label int64) error {
	ds := &data.Dataset{C: s.C, H: s.H, W: s.W, Images: px, Labels: []int64{label}}
	png, err := data.EncodePNG(ds, 0)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteSync(p, png, atomicfile.SyncNone)
}

// Flush waits for the images in flight, makes the queued ones durable (one syncfs for the whole
// batch) and appends their records to the manifests, one write and one fsync each. A failed
// image write discards the whole queue (its files too) and is returned.
func (s *DirSink) Flush() error {
	s.wg.Wait()
	s.mu.Lock()
	werr := s.werr
	s.werr = nil
	s.mu.Unlock()
	if werr != nil {
		s.discard(true, true)
		return werr
	}
	if len(s.queuedAcc)+len(s.queuedPend) == 0 {
		return nil
	}
	if err := syncFS(s.Dir); err != nil {
		s.discard(true, true)
		return err
	}
	var metaErr error
	if len(s.queuedAcc) > 0 {
		if _, err := s.accepted.Append(s.queuedAcc...); err != nil {
			s.discard(true, true)
			return err
		}
		// The records are committed: metadata.jsonl is a view, rewritten from the manifest at the
		// next open if this append fails.
		metaErr = s.meta.Append(s.queuedAcc...)
		s.queuedAcc = s.queuedAcc[:0]
	}
	if len(s.queuedPend) > 0 {
		if _, err := s.pending.Append(s.queuedPend...); err != nil {
			s.discard(false, true)
			return err
		}
		s.queuedPend = s.queuedPend[:0]
	}
	return metaErr
}

func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

func clamp01(v float32) float32 { return min(max(v, 0), 1) }

// Accept writes an accepted image; its record is committed by the next Flush.
func (s *DirSink) Accept(c *Candidate) error {
	r, err := s.write(s.Dir, "", c)
	if err == nil {
		s.queuedAcc = append(s.queuedAcc, r)
	}
	return err
}

// AddFile puts an image that is already a PNG (b) at rec.Path in Dir, for a merge of shards: its
// record is committed by the next Flush, as an accepted image's; a record the manifest has
// already (a merge done again) is skipped by it.
func (s *DirSink) AddFile(rec data.Record, b []byte) error {
	p := filepath.Join(s.Dir, filepath.FromSlash(rec.Path))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteSync(p, b, atomicfile.SyncNone); err != nil {
		return err
	}
	s.queuedAcc = append(s.queuedAcc, rec)
	return nil
}

// Pend writes an image for review; its record is committed by the next Flush.
func (s *DirSink) Pend(c *Candidate) error {
	if s.pending == nil {
		return fmt.Errorf("review band set but no review folder")
	}
	r, err := s.write(s.ReviewDir, "images/", c)
	if err == nil {
		s.queuedPend = append(s.queuedPend, r)
	}
	return err
}
