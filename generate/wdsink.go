package generate

import (
	"encoding/json"
	"errors"
	"regexp"
	"runtime"
	"sync"

	"github.com/gam-native/gam-native/data"
)

// WebDatasetSink writes accepted images as WebDataset tar shards in Dir (data.WebDatasetWriter):
// per image KEY.png, KEY.cls (its label) and KEY.json (its manifest record, path KEY.png), KEY
// the name DirSink would give the file, dots and other characters outside [A-Za-z0-9_-] as "-".
// PNGs are encoded by Workers goroutines; each Flush appends the batch in order and makes it
// durable with one fsync. A resumed run makes the same keys again and the writer skips those it
// has, so an accepted image is in the shards exactly once. There is no review queue: Pend fails.
type WebDatasetSink struct {
	ClassNames []string
	Round      int
	Generator  string
	C, H, W    int
	Workers    int
	w          *data.WebDatasetWriter
	queue      []data.WebDatasetSample
	sem        chan struct{}
	wg         sync.WaitGroup
	mu         sync.Mutex
	werr       error
}

var unsafeKey = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// OpenWebDatasetSink opens (or creates) the shards in dir; shardBytes <= 0 is
// data.DefaultWebDatasetShardBytes.
func OpenWebDatasetSink(dir string, classNames []string, round int, generator string, c, h, w int, shardBytes int64) (*WebDatasetSink, error) {
	wr, err := data.OpenWebDataset(dir, shardBytes)
	if err != nil {
		return nil, err
	}
	return &WebDatasetSink{ClassNames: classNames, Round: round, Generator: generator, C: c, H: h, W: w,
		Workers: runtime.GOMAXPROCS(0), w: wr}, nil
}

// Len is the number of samples in the shards.
func (s *WebDatasetSink) Len() int { return s.w.Len() }

// Accept queues an accepted image; the next Flush commits it.
func (s *WebDatasetSink) Accept(c *Candidate) error {
	key := imageName(s.Round, c, unsafeKey)
	if s.w.Has(key) {
		return nil
	}
	rec := candidateRecord(s.ClassNames, s.Round, s.Generator, c, key+".png")
	js, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	s.mu.Lock() // the workers write into the queue: it may move as it grows
	i := len(s.queue)
	s.queue = append(s.queue, data.WebDatasetSample{Key: key, Label: rec.Label, JSON: js})
	s.mu.Unlock()
	px := append([]float32(nil), c.Pixels...) // the caller reuses its batch once Accept returns
	encode := func() error {
		png, err := data.EncodePNG(&data.Dataset{C: s.C, H: s.H, W: s.W, Images: px, Labels: []int64{rec.Label}}, 0)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.queue[i].PNG = png
		return err
	}
	if s.Workers <= 1 {
		return encode()
	}
	if s.sem == nil {
		s.sem = make(chan struct{}, s.Workers)
	}
	s.wg.Add(1)
	s.sem <- struct{}{}
	go func() {
		defer func() { <-s.sem; s.wg.Done() }()
		if err := encode(); err != nil {
			s.mu.Lock()
			if s.werr == nil {
				s.werr = err
			}
			s.mu.Unlock()
		}
	}()
	return nil
}

// Pend fails: review needs the ImageFolder output.
func (s *WebDatasetSink) Pend(*Candidate) error {
	return errors.New("the webdataset format has no review queue: set [generate] review_band = 0, or write the ImageFolder format")
}

// Flush waits for the encodes in flight and appends the queued samples, durably.
func (s *WebDatasetSink) Flush() error {
	s.wg.Wait()
	s.mu.Lock()
	werr := s.werr
	s.werr = nil
	s.mu.Unlock()
	q := s.queue
	s.queue = nil
	if werr != nil {
		return werr
	}
	if len(q) == 0 {
		return nil
	}
	return s.w.Append(q)
}

// Close flushes and closes the shards. Idempotent.
func (s *WebDatasetSink) Close() error {
	err := s.Flush()
	if e := s.w.Close(); err == nil {
		err = e
	}
	return err
}
