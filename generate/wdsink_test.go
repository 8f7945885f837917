package generate

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/plan"
)

// TestWebDatasetSinkWritesSamplesOnce: one encoder per core gives the bytes one gives; each
// sample is KEY.png (decoding to the candidate's pixels' PNG), KEY.cls and KEY.json (its record:
// class, label, provenance, path KEY.png); the key has no dot even when the target's id has one;
// a reopened sink fed the same candidates again adds none twice; Pend is refused by name.
func TestWebDatasetSinkWritesSamplesOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	px := make([]float32, 40*784)
	for i := range px {
		px[i] = rng.Float32()
	}
	tg := &plan.Target{ID: "coat/blurry.v2", Class: 4}
	feed := func(s *WebDatasetSink, n int) {
		for i := 0; i < n; i++ {
			if err := s.Accept(&Candidate{Target: tg, Pixels: px[i*784 : (i+1)*784], Seq: i, Seed: 9, Confidence: 0.5}); err != nil {
				t.Fatal(err)
			}
			if i%16 == 15 {
				if err := s.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	var shards [][]byte
	for _, workers := range []int{1, 4} {
		dir := t.TempDir()
		s, err := OpenWebDatasetSink(dir, data.FashionMNISTClasses, 1, "test", 1, 28, 28, 0)
		if err != nil {
			t.Fatal(err)
		}
		s.Workers = workers
		feed(s, 40)
		if err := s.Pend(&Candidate{Target: tg}); err == nil || !strings.Contains(err.Error(), "review_band") {
			t.Fatalf("Pend: %v, want an error naming review_band", err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		// Reopened and fed again (a resumed run): nothing is added.
		s, err = OpenWebDatasetSink(dir, data.FashionMNISTClasses, 1, "test", 1, 28, 28, 0)
		if err != nil {
			t.Fatal(err)
		}
		feed(s, 40)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "shard-000000.tar"))
		if err != nil {
			t.Fatal(err)
		}
		shards = append(shards, b)
	}
	if !bytes.Equal(shards[0], shards[1]) {
		t.Fatal("4 encoders wrote other bytes than 1")
	}
	tr := tar.NewReader(bytes.NewReader(shards[0]))
	n := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		key, ext, _ := strings.Cut(h.Name, ".")
		if want := "r1_coat-blurry-v2_"; !strings.HasPrefix(key, want) {
			t.Fatalf("member %s: key %q, want it to start %q", h.Name, key, want)
		}
		switch ext {
		case "png":
			i := n
			want, _ := data.EncodePNG(&data.Dataset{C: 1, H: 28, W: 28, Images: px[i*784 : (i+1)*784], Labels: []int64{4}}, 0)
			if !bytes.Equal(b, want) {
				t.Fatalf("%s is not candidate %d's PNG", h.Name, i)
			}
		case "cls":
			if string(b) != "4" {
				t.Fatalf("%s = %q, want 4", h.Name, b)
			}
		case "json":
			var r data.Record
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			if r.Class != "coat" || r.Label != 4 || r.Path != key+".png" || r.Provenance == nil || r.Provenance.Target != tg.ID || r.Provenance.Round != 1 {
				t.Fatalf("%s: record %+v", h.Name, r)
			}
			n++
		default:
			t.Fatalf("member %s: unexpected extension", h.Name)
		}
	}
	if n != 40 {
		t.Fatalf("%d samples, want 40 (each once)", n)
	}
}
