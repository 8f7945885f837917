package loop

import (
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
)

// writeShapesFolder writes a synthetic shapes ImageFolder: train/ with counts per class, test/
// with testPer of each class.
func writeShapesFolder(t *testing.T, dir string, counts []int, testPer, c, size int) {
	t.Helper()
	tr, err := data.Shapes(counts, c, size, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := data.WriteSplitFolder(dir, "train", tr); err != nil {
		t.Fatal(err)
	}
	te := make([]int, len(counts))
	for i := range te {
		te[i] = testPer
	}
	ts, _ := data.Shapes(te, c, size, 2)
	if err := data.WriteSplitFolder(dir, "test", ts); err != nil {
		t.Fatal(err)
	}
}

func zooFile(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(bindings.FindZoo(), name+".pt")
	if _, err := os.Stat(p); err != nil {
		t.Skip("zoo not exported")
	}
	return p
}

// TestModelDataMismatch: a model that does not fit the data is refused before the run folder
// exists, with the model file, the member, what it has and what the data needs.
func TestModelDataMismatch(t *testing.T) {
	e := testEngine(t)
	gen, cnn, screen := zooFile(t, "cvae"), zooFile(t, "cnn"), zooFile(t, "screen")
	for _, tc := range []struct {
		desc   string
		write  func(t *testing.T, dir string)
		extra  string
		want   []string
		target bool // the error is about models.target (the generator is zoo: and fits)
	}{
		{"channels: RGB data, a grayscale model", func(t *testing.T, dir string) {
			writeShapesFolder(t, dir, []int{6, 6, 6, 6}, 2, 3, 28)
		}, "", []string{"models.generator: " + gen, "image_shape is [1, 28, 28] (1 channel, grayscale)", "is 3x28x28 (3 channels, RGB)"}, false},
		{"shape: 32x32 data, a 28x28 model", func(t *testing.T, dir string) {
			writeShapesFolder(t, dir, []int{6, 6, 6, 6}, 2, 1, 32)
		}, "", []string{"models.generator: " + gen, "image_shape is [1, 28, 28] (28x28 pixels", "is 32x32", "data.image_size = [28, 28]"}, false},
		{"classes: 4 classes, a 10-class model", func(t *testing.T, dir string) {
			writeShapesFolder(t, dir, []int{6, 6, 6, 6}, 2, 1, 28)
		}, "", []string{"models.generator: " + gen, "num_classes is 10", "has 4 classes"}, false},
		{"conditions: the plan asks for one nobody applies", func(t *testing.T, dir string) {
			writeShapesFolder(t, dir, []int{6, 6, 6, 6}, 2, 1, 28)
		}, "[data]\nscenario = \"balanced+condition-shift\"\n[data.scenario_params]\nval_per_class = 2\nconditions = [\"fog\"]\n",
			[]string{"models.generator: " + gen, "attr_names is [blur, shadow]", `condition "fog"`, "data.scenario_params.conditions"}, false},
		{"one RGB image among grayscale ones: named in the channel error", func(t *testing.T, dir string) {
			writeShapesFolder(t, dir, []int{6, 6, 6, 6}, 2, 1, 28)
			rgb, _ := data.Shapes([]int{1}, 3, 28, 9)
			b, _ := data.EncodePNG(rgb, 0)
			os.WriteFile(filepath.Join(dir, "train", "square", "odd.png"), b, 0o644)
		}, "", []string{"models.generator: " + gen, "is 3x28x28 (3 channels, RGB)", "1 of 25 images are in colour", filepath.Join("square", "odd.png")}, false},
		{"the team's target beside a zoo generator shaped to the data", func(t *testing.T, dir string) {
			writeShapesFolder(t, dir, []int{6, 6, 6, 6}, 2, 1, 28)
		}, "[models]\ngenerator = \"zoo:cvae\"\n", []string{"models.target: " + cnn, "num_classes is 10", "has 4 classes"}, true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if tc.target {
				t.Setenv("GAM_ZOO_CACHE", t.TempDir())
			}
			dir := t.TempDir()
			tc.write(t, dir)
			body := fmt.Sprintf("name = \"mismatch\"\ndevice = \"cpu\"\n[data]\nsource = \"imagefolder:%s\"\nscenario = \"balanced\"\n[data.scenario_params]\nval_per_class = 2\n[models]\ngenerator = %q\ntarget = %q\nscreen = %q\n",
				dir, gen, cnn, screen)
			if tc.extra != "" {
				body = mergeTOML(body, tc.extra)
			}
			job, err := ParseJob("mismatch.toml", []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			run := filepath.Join(t.TempDir(), "run")
			r, err := Prepare(e, job, run)
			if err == nil {
				r.Close()
				t.Fatal("a model that does not fit the data was accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
			t.Logf("%s", err)
			if _, serr := os.Stat(run); !os.IsNotExist(serr) {
				t.Errorf("the run folder was created: %v", serr)
			}
		})
	}
}

// mergeTOML replaces body's keys by those of extra, table by table (a small job only).
func mergeTOML(body, extra string) string {
	tables := map[string][]string{}
	var order []string
	add := func(s string, over bool) {
		sect := ""
		for _, l := range strings.Split(s, "\n") {
			if l == "" {
				continue
			}
			if strings.HasPrefix(l, "[") {
				sect = l
				if _, ok := tables[sect]; !ok {
					order = append(order, sect)
					tables[sect] = nil
				}
				continue
			}
			if _, ok := tables[sect]; !ok {
				order = append([]string{sect}, order...)
				tables[sect] = nil
			}
			key := strings.TrimSpace(strings.SplitN(l, "=", 2)[0])
			lines := tables[sect]
			if over {
				lines = slices.DeleteFunc(lines, func(x string) bool { return strings.TrimSpace(strings.SplitN(x, "=", 2)[0]) == key })
			}
			tables[sect] = append(lines, l)
		}
	}
	add(body, false)
	add(extra, true)
	var b strings.Builder
	for _, s := range order {
		if s != "" {
			b.WriteString(s + "\n")
		}
		for _, l := range tables[s] {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// ownDataJob is a tiny job on an ImageFolder with the zoo's default models.
const ownDataJob = `
name = "own"
seed = 1
device = "cpu"
[data]
source = "imagefolder:%s"
scenario = "balanced"
[data.scenario_params]
val_per_class = 6
[generator_training]
epochs = 4
[screen_training]
epochs = 30
[target_training]
epochs = 2
[plan]
budget = 24
cap = 12
[generate]
conf_threshold = 0.0
prob_threshold = 0.05
max_attempts = 20
latent = "edit"                  # near real images, so that even a tiny job's screen passes some
edit_reach = 0.1
[loop]
rounds = 1
patience = 0
`

// TestOwnImageFolderRuns runs a tiny job with the zoo's defaults on a 32x32 and a 64x64 RGB
// ImageFolder (imbalanced, a few hundred images): the zoo's models are exported for each shape
// into the cache and recorded, the run folder follows docs/run-folder.md, the accepted images are
// RGB PNGs of the data's size, and report.json names the classes by their folders.
func TestOwnImageFolderRuns(t *testing.T) {
	e := testEngine(t)
	cache := t.TempDir()
	t.Setenv("GAM_ZOO_CACHE", cache)
	classes := slices.Sorted(slices.Values(data.ShapeClasses[:4])) // folders, sorted by name
	for _, size := range []int{32, 64} {
		t.Run(fmt.Sprintf("%dx%d RGB", size, size), func(t *testing.T) {
			dir := t.TempDir()
			writeShapesFolder(t, dir, []int{150, 80, 40, 20}, 10, 3, size)
			job, err := ParseJob("own.toml", []byte(fmt.Sprintf(ownDataJob, dir)))
			if err != nil {
				t.Fatal(err)
			}
			run := filepath.Join(t.TempDir(), "run")
			r, err := Prepare(e, job, run)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if err := r.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"job.toml", "classes.json", "data.json", "zoo.json", "state.json", "report.json", "report.md",
				"recall.png", "summary.png", "test_recall.png", "test.json", "batches.json", "models/generator.pt", "models/screen.pt",
				"models/target_r0.pt", "models/target_r1.pt", "models/best.pt", "setup/generator.json", "setup/screen.json",
				"rounds/r0/train.json", "rounds/r0/metrics.json", "rounds/r1/plan.json", "rounds/r1/generate.json",
				"rounds/r1/train.json", "rounds/r1/metrics.json", "rounds/r1/feedback.json", "accepted/manifest.jsonl"} {
				if _, err := os.Stat(filepath.Join(run, f)); err != nil {
					t.Errorf("run folder lacks %s (docs/run-folder.md)", f)
				}
			}
			b, err := os.ReadFile(filepath.Join(run, "report.json"))
			if err != nil {
				t.Fatal(err)
			}
			var rep Report
			dec := json.NewDecoder(strings.NewReader(string(b)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&rep); err != nil {
				t.Fatalf("report.json does not match the schema: %v", err)
			}
			if rep.Schema != ReportSchema || !slices.Equal(rep.Classes, classes) || len(rep.Rounds) != 2 {
				t.Fatalf("report: schema %q, classes %v, %d rounds", rep.Schema, rep.Classes, len(rep.Rounds))
			}
			if d := rep.Data; d == nil || d.ImageShape != [3]int{3, size, size} || !slices.Equal(d.Classes, classes) ||
				!slices.Equal(d.Test, []int{10, 10, 10, 10}) || d.Images == nil || d.Images.Colour != 290 || !strings.Contains(d.Resize, "none resized") {
				t.Errorf("report's data: %+v", rep.Data)
			}
			if len(rep.Zoo) != 3 {
				t.Fatalf("report's zoo: %+v", rep.Zoo)
			}
			for _, z := range rep.Zoo {
				key := strings.TrimPrefix(z.Ref, "zoo:") + fmt.Sprintf("-3x%dx%d-k4-blur+shadow-s0", size, size)
				if z.CacheKey != key || z.File != filepath.Join(cache, key, strings.TrimPrefix(z.Ref, "zoo:")+".pt") || !z.Exported {
					t.Errorf("zoo model %+v, want cache key %s, exported", z, key)
				}
			}
			for _, row := range rep.Rounds[0].Difficulty {
				if !slices.Contains(classes, row.ID) {
					t.Errorf("difficulty row %q is not a class name", row.ID)
				}
			}
			if len(rep.Test.Best.Recall) != 4 || rep.Rounds[1].Generation == nil {
				t.Fatalf("test recall %v, generation %v", rep.Test.Best.Recall, rep.Rounds[1].Generation)
			}
			// The accepted images: RGB PNGs of the data's size, under their class's folder, each
			// named by its manifest record with its class's name.
			// A rolled-back target's images leave accepted/ for rolled_back/ (docs/run-folder.md).
			type placed struct {
				dir string
				rec data.Record
			}
			var recs []placed
			for _, d := range []string{"accepted", "rolled_back"} {
				m := filepath.Join(run, d, "manifest.jsonl")
				if _, err := os.Stat(m); err != nil {
					continue
				}
				_, rs, err := data.ReadManifest(m, classes)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rs {
					recs = append(recs, placed{d, r})
				}
			}
			t.Logf("%d images accepted", len(recs))
			if rep.Rounds[1].Generation.Accepted == 0 || len(recs) != rep.Rounds[1].Generation.Accepted {
				t.Fatalf("%d accepted, %d in the manifests of accepted/ and rolled_back/", rep.Rounds[1].Generation.Accepted, len(recs))
			}
			for _, pr := range recs {
				rec := pr.rec
				p := filepath.Join(run, pr.dir, filepath.FromSlash(rec.Path))
				if rec.Class != classes[rec.Label] || filepath.Base(filepath.Dir(p)) != rec.Class {
					t.Errorf("%s: class %q, label %d: not under its class's folder", p, rec.Class, rec.Label)
				}
				checkRGBPNG(t, p, size)
			}
			grids, _ := filepath.Glob(filepath.Join(run, "rounds", "r1", "grid_*.png"))
			for _, g := range grids {
				name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(g), "grid_"), ".png")
				if !slices.Contains(classes, strings.SplitN(name, "-", 2)[0]) {
					t.Errorf("grid %s is not named for a class", g)
				}
			}
			if len(grids) == 0 {
				t.Error("no sample grid")
			}
			// The shaped exports are cached: the same shape again is a hit, not an export.
			for _, z := range rep.Zoo {
				role := bindings.RoleClassifier
				if z.Key == "models.generator" {
					role = bindings.RoleGenerator
				}
				_, zm, err := ResolveModelFor(z.Key, z.Ref, DataShape{3, size, size, 4}, MetaReader(e, role))
				if err != nil || zm.Exported || zm.File != z.File {
					t.Errorf("%s again: %+v, %v", z.Ref, zm, err)
				}
			}
		})
	}
}

// checkRGBPNG checks that p is an 8-bit RGB PNG (colour type 2) of size x size.
func checkRGBPNG(t *testing.T, p string, size int) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 26 || b[24] != 8 || b[25] != 2 {
		t.Errorf("%s: not an 8-bit RGB PNG (IHDR bit depth %d, colour type %d)", p, b[24], b[25])
	}
	cfg, err := png.DecodeConfig(strings.NewReader(string(b)))
	if err != nil || cfg.Width != size || cfg.Height != size {
		t.Errorf("%s: %v, %dx%d, want %dx%d", p, err, cfg.Width, cfg.Height, size, size)
	}
}

func TestImageSizeKey(t *testing.T) {
	for _, tc := range []struct {
		desc, body, want string
	}{
		{"an imagefolder resized", "[data]\nsource = \"imagefolder:/x\"\nimage_size = [64, 48]\n", ""},
		{"a manifest resized", "[data]\nsource = \"manifest:/x/m.jsonl\"\nimage_size = [32, 32]\n", ""},
		{"one number", "[data]\nsource = \"imagefolder:/x\"\nimage_size = [64]\n", "want [H, W]"},
		{"too small", "[data]\nsource = \"imagefolder:/x\"\nimage_size = [4, 4]\n", "each from 8 to 4096"},
		{"Fashion-MNIST is not resized", "[data]\nimage_size = [32, 32]\n", "only imagefolder:DIR and manifest:FILE"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			j, err := ParseJob("size.toml", []byte(tc.body))
			if tc.want == "" {
				if err != nil || len(j.Data.ImageSize) != 2 {
					t.Fatalf("%v, %v", err, j.Data.ImageSize)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "data.image_size") {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
