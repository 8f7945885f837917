package data

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func wdsSamples(from, n int) []WebDatasetSample {
	var out []WebDatasetSample
	for i := from; i < from+n; i++ {
		out = append(out, WebDatasetSample{Key: fmt.Sprintf("r1_shirt_%06d", i), PNG: bytes.Repeat([]byte{byte(i)}, 300+i),
			Label: int64(i % 10), JSON: []byte(fmt.Sprintf(`{"i": %d}`, i))})
	}
	return out
}

// readTar lists every member of a tar file: name -> contents, in order.
func readTar(t *testing.T, p string) (names []string, files map[string][]byte) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	files = map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names, files
		}
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		b, _ := io.ReadAll(tr)
		names = append(names, h.Name)
		files[h.Name] = b
	}
}

// TestWebDatasetWriterShardsAndReadsBack: samples go to shards of about MaxBytes as KEY.png,
// KEY.cls, KEY.json in order; every shard is a whole tar after each Append; the same samples
// give the same bytes; a reopened writer skips what is committed.
func TestWebDatasetWriterShardsAndReadsBack(t *testing.T) {
	write := func(dir string) {
		w, err := OpenWebDataset(dir, 20*1024)
		if err != nil {
			t.Fatal(err)
		}
		for b := 0; b < 4; b++ {
			if err := w.Append(wdsSamples(b*5, 5)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	write(dir)
	shards, err := WebDatasetShards(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) < 2 {
		t.Fatalf("20 samples of ~3 KiB in shards of 20 KiB: %d shard(s), want several", len(shards))
	}
	var keys []string
	for _, p := range shards {
		fi, _ := os.Stat(p)
		if fi.Size() > 24*1024 {
			t.Errorf("%s: %d bytes, want about 20 KiB at most", p, fi.Size())
		}
		names, files := readTar(t, p)
		if len(names)%3 != 0 {
			t.Fatalf("%s: %d members, want 3 per sample", p, len(names))
		}
		for i := 0; i < len(names); i += 3 {
			key := strings.TrimSuffix(names[i], ".png")
			if names[i+1] != key+".cls" || names[i+2] != key+".json" {
				t.Fatalf("%s: members %v, want KEY.png, KEY.cls, KEY.json", p, names[i:i+3])
			}
			var n int
			fmt.Sscanf(key, "r1_shirt_%d", &n)
			want := wdsSamples(n, 1)[0]
			if !bytes.Equal(files[key+".png"], want.PNG) || string(files[key+".cls"]) != fmt.Sprint(want.Label) || !bytes.Equal(files[key+".json"], want.JSON) {
				t.Fatalf("%s: sample %s does not read back as written", p, key)
			}
			keys = append(keys, key)
		}
	}
	if len(keys) != 20 || !slices.IsSorted(keys) {
		t.Fatalf("read back %d samples %v, want the 20 in order", len(keys), keys)
	}
	// Same samples, same bytes.
	dir2 := t.TempDir()
	write(dir2)
	for _, p := range shards {
		a, _ := os.ReadFile(p)
		b, _ := os.ReadFile(filepath.Join(dir2, filepath.Base(p)))
		if !bytes.Equal(a, b) {
			t.Fatalf("%s differs between two writes of the same samples", filepath.Base(p))
		}
	}
	// Reopened: the committed samples are skipped, new ones appended.
	w, err := OpenWebDataset(dir, 20*1024)
	if err != nil {
		t.Fatal(err)
	}
	if w.Len() != 20 || !w.Has("r1_shirt_000007") {
		t.Fatalf("reopened: %d samples, want 20", w.Len())
	}
	if err := w.Append(wdsSamples(15, 10)); err != nil { // 15-19 are there already
		t.Fatal(err)
	}
	w.Close()
	total := 0
	shards, _ = WebDatasetShards(dir)
	for _, p := range shards {
		names, _ := readTar(t, p)
		total += len(names) / 3
	}
	if total != 25 {
		t.Fatalf("after appending 10 samples of which 5 were there: %d samples, want 25", total)
	}
}

// TestWebDatasetWriterCutAnywhere: a shard cut at any byte (a kill or power cut mid-write) reopens
// with exactly the samples that are whole before the cut, and the writer goes on from there.
func TestWebDatasetWriterCutAnywhere(t *testing.T) {
	dir := t.TempDir()
	w, err := OpenWebDataset(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(wdsSamples(0, 4)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	p := filepath.Join(dir, fmt.Sprintf(WebDatasetShardPattern, 0))
	full, _ := os.ReadFile(p)
	// Where each sample's last byte is (its .json member's contents; the padding after them may
	// be missing: the sum says the sample is whole), from a clean read.
	var ends []int64
	{
		cr := &countingReader{r: bytes.NewReader(full)}
		tr := tar.NewReader(cr)
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			io.Copy(io.Discard, tr)
			if strings.HasSuffix(h.Name, ".json") {
				ends = append(ends, cr.n)
			}
		}
	}
	for cut := int64(0); cut <= int64(len(full)); cut += 97 {
		want := 0
		for _, e := range ends {
			if e <= cut {
				want++
			}
		}
		os.WriteFile(p, full[:cut], 0o644)
		w, err := OpenWebDataset(dir, 0)
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if w.Len() != want {
			t.Fatalf("cut at %d of %d: %d samples kept, want %d", cut, len(full), w.Len(), want)
		}
		if err := w.Append(wdsSamples(0, 6)); err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		w.Close()
		names, _ := readTar(t, p)
		if len(names) != 18 {
			t.Fatalf("cut at %d, then the 6 samples appended: %d members, want 18", cut, len(names))
		}
	}
	// A corrupted PNG in a whole-looking sample is dropped with everything after it.
	os.WriteFile(p, full, 0o644)
	bad := append([]byte(nil), full...)
	i := bytes.Index(bad, bytes.Repeat([]byte{2}, 300))
	bad[i+10] ^= 0xff
	os.WriteFile(p, bad, 0o644)
	w, err = OpenWebDataset(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.Len() != 2 || w.Has("r1_shirt_000002") {
		t.Fatalf("sample 2 corrupted: %d samples kept, want samples 0 and 1", w.Len())
	}
}

func TestWebDatasetKeys(t *testing.T) {
	for _, tc := range []struct {
		key string
		ok  bool
	}{{"r1_shirt_000001", true}, {"r1_coat-blurry_000002", true}, {"", false}, {"a.b", false}, {"a/b", false}} {
		if err := CheckWebDatasetKey(tc.key); (err == nil) != tc.ok {
			t.Errorf("CheckWebDatasetKey(%q) = %v, want ok %v", tc.key, err, tc.ok)
		}
	}
	w, err := OpenWebDataset(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	s := wdsSamples(0, 1)
	if err := w.Append(append(s, s...)); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("a key twice in one batch: %v, want an error", err)
	}
}
