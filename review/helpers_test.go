package review

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/gam-native/gam-native/data"
)

var testClasses = []string{"t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"}

// TestMain doubles as the review server for the crash test: with
// GAM_REVIEW_CHILD set the test binary serves that run folder and prints
// its URL, until it is killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("GAM_REVIEW_CHILD"); dir != "" {
		err := Serve(context.Background(), dir, "127.0.0.1:0", Options{Reviewer: "child"}, os.Stdout)
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	os.Exit(m.Run())
}

// testImage is a 28x28 grayscale pattern that differs per index.
func testImage(i int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	for y := range 28 {
		for x := range 28 {
			v := 0
			switch i % 4 {
			case 0:
				v = ((x/(2+i%5))+(y/(2+i%3)))%2*200 + 30
			case 1:
				v = (x*9 + y*i) % 256
			case 2:
				dx, dy := x-14, y-14
				if dx*dx+dy*dy < 30+i*7 {
					v = 230
				}
			case 3:
				if x > 4+i%6 && x < 24 && y > 3 && y < 25-i%4 {
					v = 80 + 10*(i%10)
				}
			}
			img.SetGray(x, y, color.Gray{Y: uint8(v)})
		}
	}
	return img
}

// queueRecord is the i-th pending record: a generated image aimed at its
// class, with screen probabilities that do not follow file order.
func queueRecord(i int) data.Record {
	label := int64(i % len(testClasses))
	return data.Record{
		V:      data.ManifestVersion,
		Path:   fmt.Sprintf("images/c%d/r1_t%d_%06d.png", label, i%3, i),
		Label:  label,
		Class:  testClasses[label],
		Source: data.SourceGenerated,
		Provenance: &data.Provenance{
			Round: 1, Target: testClasses[label] + "/" + []string{"clean", "blur", "noise"}[i%3], Seed: uint64(1000 + i),
			Generator: "cvae", Confidence: float32((i*37)%90+5) / 100, ScreenProb: float32((i*53)%80+10) / 100,
		},
	}
}

// makeRun writes a run folder with classes.json and n pending images.
func makeRun(t testing.TB, n int) string {
	t.Helper()
	dir := t.TempDir()
	imgs := make([]image.Image, n)
	for i := range imgs {
		imgs[i] = testImage(i)
	}
	writeRun(t, dir, imgs, func(i int) data.Record { return queueRecord(i) })
	return dir
}

func writeRun(t testing.TB, dir string, imgs []image.Image, rec func(int) data.Record) {
	t.Helper()
	b, _ := json.Marshal(testClasses)
	must(t, os.WriteFile(filepath.Join(dir, ClassesName), b, 0o644))
	must(t, os.MkdirAll(filepath.Join(dir, ReviewDir), 0o755))
	var manifest bytes.Buffer
	for i, img := range imgs {
		r := rec(i)
		p := filepath.Join(dir, ReviewDir, filepath.FromSlash(r.Path))
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		var buf bytes.Buffer
		must(t, png.Encode(&buf, img))
		must(t, os.WriteFile(p, buf.Bytes(), 0o644))
		line, err := r.MarshalLine()
		must(t, err)
		manifest.Write(line)
	}
	must(t, os.WriteFile(filepath.Join(dir, ReviewDir, PendingName), manifest.Bytes(), 0o644))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
