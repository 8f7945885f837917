package generate

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/internal/testenv"
	"github.com/gam-native/gam-native/plan"
)

// BenchmarkDirSink is the sink alone (PNG encode, file write, one syncfs and one manifest append
// per batch of 256) with one writer and with one per core, side by side in one run:
//
//	go test ./generate -run '^$' -bench DirSink -benchtime 2048x
func BenchmarkDirSink(b *testing.B) {
	const batch = 256
	rng := rand.New(rand.NewPCG(1, 2))
	px := make([]float32, batch*28*28)
	for i := range px {
		px[i] = rng.Float32()
	}
	t := &plan.Target{ID: "shirt", Class: 6}
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			s, err := OpenDirSink(b.TempDir(), "", data.FashionMNISTClasses, 1, "bench", 1, 28, 28)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			s.Workers = workers
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				j := i % batch
				if err := s.Accept(&Candidate{Target: t, Pixels: px[j*784 : (j+1)*784], Seq: i}); err != nil {
					b.Fatal(err)
				}
				if j == batch-1 {
					if err := s.Flush(); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := s.Flush(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// TestDirSinkWorkersWriteTheSameFiles: one writer per core gives the files and the manifest that
// one writer gives, byte for byte.
func TestDirSinkWorkersWriteTheSameFiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	px := make([]float32, 40*784)
	for i := range px {
		px[i] = rng.Float32()
	}
	tg := &plan.Target{ID: "coat", Class: 4}
	var digests []string
	for _, workers := range []int{1, 4} {
		dir := t.TempDir()
		s, err := OpenDirSink(dir, "", data.FashionMNISTClasses, 1, "test", 1, 28, 28)
		if err != nil {
			t.Fatal(err)
		}
		s.Workers = workers
		for i := 0; i < 40; i++ {
			if err := s.Accept(&Candidate{Target: tg, Pixels: px[i*784 : (i+1)*784], Seq: i}); err != nil {
				t.Fatal(err)
			}
			if i%16 == 15 {
				if err := s.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		digests = append(digests, fmt.Sprint(testenv.TreeDigest(t, dir)))
	}
	if digests[0] != digests[1] {
		t.Errorf("4 writers wrote other files than 1:\n%s\n%s", digests[0], digests[1])
	}
}

// TestDirSinkFailedWriteCommitsNothing: an image that a worker cannot write fails the Flush, and
// none of that batch's records reach the manifest.
func TestDirSinkFailedWriteCommitsNothing(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenDirSink(dir, "", data.FashionMNISTClasses, 1, "test", 1, 28, 28)
	if err != nil {
		t.Fatal(err)
	}
	s.Workers = 4
	// A folder where the third image goes: its write is refused.
	if err := os.MkdirAll(filepath.Join(dir, data.ClassFolder("coat"), "r1_coat_000002.png"), 0o755); err != nil {
		t.Fatal(err)
	}
	tg := &plan.Target{ID: "coat", Class: 4}
	px := make([]float32, 784)
	for i := 0; i < 5; i++ {
		if err := s.Accept(&Candidate{Target: tg, Pixels: px, Seq: i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(); err == nil {
		t.Fatal("Flush after a failed image write: nil error")
	}
	s.Close()
	recs, err := data.ReadManifestIfAny(filepath.Join(dir, data.ManifestName))
	if err != nil || len(recs) != 0 {
		t.Errorf("manifest after the failed batch: %d records, %v; want none", len(recs), err)
	}
	if _, err := os.Stat(filepath.Join(dir, data.ClassFolder("coat"), "r1_coat_000000.png")); err == nil {
		t.Errorf("an image of the failed batch was left in the dataset")
	}
}
