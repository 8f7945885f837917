package data

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gam-native/gam-native/internal/atomicfile"
)

// WebDataset output: tar shards that WebDataset (`wds.WebDataset(urls).decode("pil")
// .to_tuple("png", "cls")`) and Hugging Face `datasets` (`load_dataset("webdataset",
// data_files=...)`) read as they are. A sample is three consecutive members sharing a key,
// KEY.png, KEY.cls (the label as decimal text) and KEY.json (its record), in the shards
// OUT/shard-000000.tar, shard-000001.tar, ..., each closed once it passes about MaxBytes.
//
// Writes are append-only and durable by batch: Append writes a batch's samples, then the tar
// end-of-archive blocks, then fsyncs; the next Append overwrites the end blocks. The .json member
// of each sample carries a PAX record GAM.sha256 over the sample's three contents, so that
// OpenWebDataset, on reopening, keeps exactly the complete samples: it cuts a shard after its
// last sample that reads back whole, which is what a kill (or a power cut) at any moment leaves
// behind.

// WebDatasetShardPattern names the shards (fmt, with the shard's index).
const WebDatasetShardPattern = "shard-%06d.tar"

// DefaultWebDatasetShardBytes is the size past which a shard is closed and the next one begun.
const DefaultWebDatasetShardBytes int64 = 1 << 30

const wdsSumKey = "GAM.sha256"

// WebDatasetSample is one sample's contents.
type WebDatasetSample struct {
	Key   string // no dot and no slash: WebDataset splits a member's name at its first dot
	PNG   []byte
	Label int64
	JSON  []byte
}

// WebDatasetWriter appends samples to a folder of tar shards.
type WebDatasetWriter struct {
	Dir      string
	MaxBytes int64
	f        *os.File
	shard    int   // the open shard's index
	end      int64 // the open shard's length without its end blocks
	keys     map[string]bool
	failed   error // an Append that failed: the writer takes no more
}

// epoch is every member's modification time: the same samples give the same bytes.
var epoch = time.Unix(0, 0).UTC()

// OpenWebDataset opens dir (created if needed) for appending. Shards already there are read
// back: each is cut after its last complete sample, and a shard after an incomplete one is
// removed. maxBytes <= 0 means DefaultWebDatasetShardBytes.
func OpenWebDataset(dir string, maxBytes int64) (*WebDatasetWriter, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultWebDatasetShardBytes
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	w := &WebDatasetWriter{Dir: dir, MaxBytes: maxBytes, keys: map[string]bool{}}
	shards, err := WebDatasetShards(dir)
	if err != nil {
		return nil, err
	}
	for i, p := range shards {
		if want := filepath.Join(dir, fmt.Sprintf(WebDatasetShardPattern, i)); p != want {
			return nil, fmt.Errorf("%s: the shards must be numbered from 0 without a gap, and %s is missing", dir, filepath.Base(want))
		}
		keys, end, complete, err := scanWebDatasetShard(p)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if w.keys[k] {
				return nil, fmt.Errorf("%s: sample %q appears twice in the shards", p, k)
			}
			w.keys[k] = true
		}
		w.shard, w.end = i, end
		if !complete {
			// A cut-short shard: everything after it was never committed.
			for _, later := range shards[i+1:] {
				if err := os.Remove(later); err != nil {
					return nil, err
				}
			}
			break
		}
	}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

// WebDatasetShards lists dir's shards in order.
func WebDatasetShards(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		var i int
		if n, _ := fmt.Sscanf(e.Name(), WebDatasetShardPattern, &i); n == 1 && e.Name() == fmt.Sprintf(WebDatasetShardPattern, i) && !e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(out)
	return out, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func roundBlock(n int64) int64 { return (n + 511) / 512 * 512 }

// scanWebDatasetShard reads a shard's samples: their keys, and the offset just past the last
// complete one. complete is false when something after that offset is not a complete sample
// (a cut-short write) rather than the end blocks or the end of the file.
func scanWebDatasetShard(path string) (keys []string, end int64, complete bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, false, err
	}
	defer f.Close()
	cr := &countingReader{r: f}
	tr := tar.NewReader(cr)
	var cur []string // the members of the sample being read
	h := sha256.New()
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return keys, end, len(cur) == 0, nil
		}
		if err != nil {
			return keys, end, false, nil
		}
		key, ext, _ := strings.Cut(hdr.Name, ".")
		want := []string{"png", "cls", "json"}[len(cur)]
		if ext != want || len(cur) > 0 && key != strings.SplitN(cur[0], ".", 2)[0] {
			return keys, end, false, nil
		}
		if len(cur) == 0 {
			h.Reset()
		}
		if _, err := io.Copy(h, tr); err != nil {
			return keys, end, false, nil
		}
		cur = append(cur, hdr.Name)
		if ext == "json" {
			if hex.EncodeToString(h.Sum(nil)) != hdr.PAXRecords[wdsSumKey] {
				return keys, end, false, nil
			}
			keys = append(keys, key)
			end = roundBlock(cr.n)
			cur = cur[:0]
		}
	}
}

// open opens shard w.shard at w.end (created if missing) and cuts whatever follows.
func (w *WebDatasetWriter) open() error {
	f, err := os.OpenFile(filepath.Join(w.Dir, fmt.Sprintf(WebDatasetShardPattern, w.shard)), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	if err := f.Truncate(w.end); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Seek(w.end, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	w.f = f
	return nil
}

// Has says whether a sample of that key is already committed.
func (w *WebDatasetWriter) Has(key string) bool { return w.keys[key] }

// Len is the number of committed samples.
func (w *WebDatasetWriter) Len() int { return len(w.keys) }

// CheckWebDatasetKey refuses a key WebDataset would split or that would escape the shard.
func CheckWebDatasetKey(key string) error {
	if key == "" || strings.ContainsAny(key, "./\\") {
		return fmt.Errorf("webdataset key %q: want a non-empty name without dots or slashes", key)
	}
	return nil
}

// Append writes samples to the shards and makes them durable. A sample whose key is committed
// already is skipped (a resumed run makes the same samples again); a key twice within samples is
// an error. On an error nothing of the batch counts as committed: the next open cuts it.
func (w *WebDatasetWriter) Append(samples []WebDatasetSample) error {
	if w.f == nil {
		return errors.New("webdataset writer is closed")
	}
	if w.failed != nil {
		return fmt.Errorf("webdataset %s: an earlier write failed: %w", w.Dir, w.failed)
	}
	err := w.append(samples)
	if err != nil {
		w.failed = err
	}
	return err
}

func (w *WebDatasetWriter) append(samples []WebDatasetSample) error {
	seen := map[string]bool{}
	for _, s := range samples {
		if err := CheckWebDatasetKey(s.Key); err != nil {
			return err
		}
		if seen[s.Key] {
			return fmt.Errorf("webdataset: sample %q twice in one batch", s.Key)
		}
		seen[s.Key] = true
	}
	// The batch goes through one buffer: a write per MiB, not one per header and member.
	bw := bufio.NewWriterSize(w.f, 1<<20)
	cw := &countingWriter{w: bw, n: w.end} // the file's offset: open and footer leave it at w.end
	tw := tar.NewWriter(cw)
	wrote := false
	var added []string
	for _, s := range samples {
		if w.keys[s.Key] {
			continue
		}
		cls := []byte(fmt.Sprint(s.Label))
		// About what the sample takes: a header per member, the .json's PAX record, the contents.
		size := 5*512 + roundBlock(int64(len(s.PNG))) + 512 + roundBlock(int64(len(s.JSON)))
		if w.end > 0 && w.end+size > w.MaxBytes {
			if err := bw.Flush(); err != nil {
				return fmt.Errorf("%s: %w", w.f.Name(), err)
			}
			if err := w.roll(); err != nil {
				return err
			}
			bw.Reset(w.f)
			cw.n = w.end
			tw = tar.NewWriter(cw)
		}
		h := sha256.New()
		for _, part := range []struct {
			ext string
			b   []byte
		}{{"png", s.PNG}, {"cls", cls}, {"json", s.JSON}} {
			h.Write(part.b)
			hdr := &tar.Header{Typeflag: tar.TypeReg, Name: s.Key + "." + part.ext, Size: int64(len(part.b)), Mode: 0o644, ModTime: epoch, Format: tar.FormatPAX}
			if part.ext == "json" {
				hdr.PAXRecords = map[string]string{wdsSumKey: hex.EncodeToString(h.Sum(nil))}
			} else {
				hdr.Format = tar.FormatUSTAR
			}
			if err := tw.WriteHeader(hdr); err != nil {
				return fmt.Errorf("%s: %w", w.f.Name(), err)
			}
			if _, err := tw.Write(part.b); err != nil {
				return fmt.Errorf("%s: %w", w.f.Name(), err)
			}
		}
		if err := tw.Flush(); err != nil { // pads the member to its block
			return fmt.Errorf("%s: %w", w.f.Name(), err)
		}
		w.end = cw.n
		wrote = true
		added = append(added, s.Key)
	}
	if !wrote {
		return nil
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("%s: %w", w.f.Name(), err)
	}
	if err := w.footer(); err != nil {
		return err
	}
	for _, k := range added {
		w.keys[k] = true
	}
	return nil
}

// countingWriter adds the bytes written through it to n.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// footer writes the end blocks after w.end, fsyncs, and leaves the file positioned at w.end for
// the next sample.
func (w *WebDatasetWriter) footer() error {
	if _, err := w.f.Write(make([]byte, 1024)); err != nil {
		return fmt.Errorf("%s: %w", w.f.Name(), err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", w.f.Name(), err)
	}
	_, err := w.f.Seek(w.end, io.SeekStart)
	return err
}

// roll closes the open shard (end blocks, fsync) and begins the next.
func (w *WebDatasetWriter) roll() error {
	if err := w.footer(); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	w.shard++
	w.end = 0
	if err := w.open(); err != nil {
		return err
	}
	// The new shard's name is in its folder for good.
	return atomicfile.SyncDir(w.Dir)
}

// Close ends the open shard (its end blocks are there after every Append; an empty shard gets
// them too, so that every shard reads as a tar) and closes it. Idempotent.
func (w *WebDatasetWriter) Close() error {
	if w.f == nil {
		return nil
	}
	err := w.footer()
	if e := w.f.Close(); err == nil {
		err = e
	}
	w.f = nil
	if err == nil {
		err = atomicfile.SyncDir(w.Dir)
	}
	return err
}
