package review

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gam-native/gam-native/data"
)

// TestScreenshot writes the docs' screenshot of the page over a queue of 12
// images sampled from per-class Gaussians fitted to Fashion-MNIST. Run it
// with GAM_REVIEW_SCREENSHOT=docs/img/review.png (path relative to review/
// is ../docs/img/review.png).
func TestScreenshot(t *testing.T) {
	out := os.Getenv("GAM_REVIEW_SCREENSHOT")
	if out == "" {
		t.Skip("set GAM_REVIEW_SCREENSHOT=FILE.png to write the docs' screenshot")
	}
	ds, err := data.LoadFashionMNIST("", "test")
	if err != nil {
		t.Skipf("Fashion-MNIST: %v", err)
	}
	ctx := browser(t, 1180, 800)
	dir := t.TempDir()
	// GAM_REVIEW_RUN=DIR takes a real run's pending queue (its review/ folder and classes.json)
	// instead of the synthetic images below; the copy keeps the run's own decisions untouched.
	if run := os.Getenv("GAM_REVIEW_RUN"); run != "" {
		recs, err := data.ReadManifestRecords(filepath.Join(run, "review", "pending.jsonl"))
		must(t, err)
		var lines []byte
		for _, r := range recs[:min(12, len(recs))] {
			src, err := os.ReadFile(filepath.Join(run, "review", r.Path))
			must(t, err)
			must(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, "review", r.Path)), 0o755))
			must(t, os.WriteFile(filepath.Join(dir, "review", r.Path), src, 0o644))
			l, err := r.MarshalLine()
			must(t, err)
			lines = append(lines, l...)
		}
		must(t, os.WriteFile(filepath.Join(dir, "review", "pending.jsonl"), lines, 0o644))
		b, err := os.ReadFile(filepath.Join(run, "classes.json"))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(dir, "classes.json"), b, 0o644))
		shot(t, ctx, dir, out)
		return
	}
	rng := rand.New(rand.NewPCG(7, 11))
	type spec struct {
		class int
		cond  string
	}
	specs := []spec{{6, "blur"}, {6, "noise"}, {6, "clean"}, {4, "low_contrast"}, {4, "clean"}, {2, "shadow"},
		{2, "blur"}, {0, "noise"}, {6, "low_contrast"}, {4, "blur"}, {8, "clean"}, {9, "noise"}}
	imgs := make([]image.Image, len(specs))
	recs := make([]data.Record, len(specs))
	for i, sp := range specs {
		px := sampleClass(ds, sp.class, rng)
		degrade(px, sp.cond, rng)
		imgs[i] = toGray(px)
		r := data.Record{V: 1, Path: fmt.Sprintf("images/%s/r2_t%d_%06d.png", data.FashionMNISTClasses[sp.class], i%4, 100+i),
			Label: int64(sp.class), Class: testClasses[sp.class], Source: data.SourceGenerated,
			Provenance: &data.Provenance{Round: 2, Target: testClasses[sp.class] + "/" + sp.cond, Seed: uint64(5000 + i), Generator: "cvae",
				Confidence: float32(0.35 + 0.6*rng.Float64()), ScreenProb: float32(0.18 + 0.6*rng.Float64())}}
		if sp.cond != "clean" {
			r.Attrs = map[string]float32{sp.cond: 0.6}
			r.Provenance.Conditions = map[string]string{sp.cond: data.ByNative}
		}
		recs[i] = r
	}
	writeRun(t, dir, imgs, func(i int) data.Record { return recs[i] })
	shot(t, ctx, dir, out)
}

// shot opens the review page over dir, makes a few decisions and writes a screenshot to out.
func shot(t *testing.T, ctx context.Context, dir, out string) {
	s, err := NewServer(dir, Options{Loopback: true, Reviewer: "ana"})
	must(t, err)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(`body[data-ready="1"] .card`),
		chromedp.KeyEvent("a"), decidedCount(1),
		chromedp.KeyEvent("r"), decidedCount(2),
		chromedp.KeyEvent("l"), chromedp.Click(`#picker-classes button[data-class="shirt"]`), decidedCount(3),
		chromedp.KeyEvent(" "), chromedp.KeyEvent("j"), chromedp.KeyEvent("j"), chromedp.KeyEvent(" "),
	))
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	must(t, err)
	if len(png) > 300<<10 {
		t.Fatalf("screenshot is %d KB, want < 300 KB", len(png)>>10)
	}
	must(t, os.WriteFile(out, png, 0o644))
	t.Logf("wrote %s (%d KB)", out, len(png)>>10)
}

// sampleClass draws one image from a Gaussian with the class's mean and a
// low-rank covariance spanned by 16 random images of the class.
func sampleClass(ds *data.Dataset, class int, rng *rand.Rand) []float32 {
	var idx []int
	for i, l := range ds.Labels {
		if l == int64(class) {
			idx = append(idx, i)
		}
	}
	n := ds.ImageSize()
	mean := make([]float64, n)
	for _, i := range idx {
		for j, v := range ds.Image(i) {
			mean[j] += float64(v) / float64(len(idx))
		}
	}
	const k = 16
	out := slices.Clone(mean)
	for range k {
		img, w := ds.Image(idx[rng.IntN(len(idx))]), rng.NormFloat64()/math.Sqrt(k)*1.3
		for j := range out {
			out[j] += w * (float64(img[j]) - mean[j])
		}
	}
	px := make([]float32, n)
	for j, v := range out {
		px[j] = float32(min(max(v, 0), 1))
	}
	return px
}

func degrade(px []float32, cond string, rng *rand.Rand) {
	switch cond {
	case "blur":
		for range 2 {
			src := slices.Clone(px)
			for y := range 28 {
				for x := range 28 {
					var s, c float32
					for dy := -1; dy <= 1; dy++ {
						for dx := -1; dx <= 1; dx++ {
							if yy, xx := y+dy, x+dx; yy >= 0 && yy < 28 && xx >= 0 && xx < 28 {
								s, c = s+src[yy*28+xx], c+1
							}
						}
					}
					px[y*28+x] = s / c
				}
			}
		}
	case "noise":
		for i := range px {
			px[i] = min(max(px[i]+float32(rng.NormFloat64()*0.15), 0), 1)
		}
	case "low_contrast":
		for i := range px {
			px[i] = 0.45 + (px[i]-0.45)*0.35
		}
	case "shadow":
		for i := range px {
			if i%28 < 16 {
				px[i] *= 0.4
			}
		}
	}
}

func toGray(px []float32) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	for i, v := range px {
		img.SetGray(i%28, i/28, color.Gray{Y: uint8(v*255 + 0.5)})
	}
	return img
}
