package efficacy

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/gam-native/gam-native/internal/jsonfile"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/internal/testengine"
)

// testEngine is the engine (one per process), skipping without it, the zoo or Fashion-MNIST
// unless GAM_REQUIRE_ENGINE=1, where any of them missing fails.
func testEngine(t *testing.T) *bindings.Engine {
	t.Helper()
	return testengine.WithFashionMNIST(t)
}

func TestTinyAllMethods(t *testing.T) {
	e := testEngine(t)
	out := filepath.Join(t.TempDir(), "eff")
	b, err := New(e, Options{Tiny: true, Out: out, Scenario: data.LongTailScenario})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkResults(t, out, DefaultMethods(data.LongTailScenario), summaryKeys)

	// GAM's cell gives every round's model on the test set: round 0 and the tiny job's one round.
	var gam Cell
	if err := jsonfile.ReadJSON(b.cellPath(MethodGAM, 0), &gam); err != nil {
		t.Fatal(err)
	}
	if rb, _ := gam.Detail["round_test_ba"].(string); len(strings.Split(rb, "/")) != 2 {
		t.Errorf("GAM cell round_test_ba = %q, want two rounds' test balanced accuracy", rb)
	}

	checkGeneratorQuality(t, b, out)

	// A second run finds every cell done and trains nothing.
	cell := filepath.Join(out, "cells", "erm-s0.json")
	before, _ := os.Stat(cell)
	if _, err := b.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(cell)
	if !before.ModTime().Equal(after.ModTime()) {
		t.Error("a finished cell was run again")
	}
}

func TestTinyConditionShift(t *testing.T) {
	e := testEngine(t)
	out := filepath.Join(t.TempDir(), "eff")
	methods := []string{MethodERM, MethodCondAug, MethodGAM}
	// GAM with the README's condition-shift job: real content for the weak segments, every class covered.
	job := filepath.Join("..", "examples", "cs10.toml")
	text, err := os.ReadFile(job)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(e, Options{Tiny: true, Out: out, Scenario: data.ShiftScenario, Methods: methods,
		GAMJob: job, GAMJobTOML: string(text)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkResults(t, out, methods, append(append([]string{}, summaryKeys...), shiftKeys...))
	// Every image GAM accepted is a real training image under a native degradation, of a segment target.
	recs, err := data.ReadManifestRecords(filepath.Join(b.seedDir(0), "gam", "accepted", "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	rolled, err := data.ReadManifestIfAny(filepath.Join(b.seedDir(0), "gam", "rolled_back", "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if recs = append(recs, rolled...); len(recs) == 0 {
		t.Fatal("GAM accepted nothing: the tiny model's blurred segments should be weak")
	}
	for _, r := range recs {
		p := r.Provenance
		if p == nil || !strings.HasPrefix(p.Content, "real:") || !strings.Contains(p.Target, "/") || len(p.Conditions) != 1 {
			t.Fatalf("accepted record %+v: want real content for a segment target, one native condition", r)
		}
	}
}

// checkResults reads results.json and checks that every method has every metric.
func checkResults(t *testing.T, out string, methods, keys []string) {
	t.Helper()
	for _, f := range []string{"results.json", "results.md", "bars.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Fatalf("no %s: %v", f, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r Results
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	if r.Schema != Schema || !r.Complete || len(r.Classes) != 10 {
		t.Fatalf("results: schema %q complete %v classes %d", r.Schema, r.Complete, len(r.Classes))
	}
	if len(r.Methods) != len(methods) {
		t.Fatalf("results hold %d methods, want %d", len(r.Methods), len(methods))
	}
	for i, m := range r.Methods {
		if m.Method != methods[i] {
			t.Errorf("method %d is %s, want %s", i, m.Method, methods[i])
		}
		for _, k := range keys {
			v, ok := m.Mean[k]
			if _, okSD := m.SD[k]; !ok || !okSD || math.IsNaN(v) {
				t.Errorf("%s: metric %s missing or NaN", m.Method, k)
			}
		}
		if len(m.RecallPerClass) != 10 || len(m.Cells) != 1 || m.Mean["wall_seconds"] <= 0 {
			t.Errorf("%s: %d recalls, %d cells, wall %v", m.Method, len(m.RecallPerClass), len(m.Cells), m.Mean["wall_seconds"])
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "results.md"))
	for _, m := range r.Methods {
		if !strings.Contains(string(md), m.Label) {
			t.Errorf("results.md lacks %s", m.Label)
		}
	}
}

func TestMeanSD(t *testing.T) {
	for _, tc := range []struct {
		desc  string
		in    []float64
		m, sd float64
	}{
		{"empty", nil, 0, 0},
		{"one value has no spread", []float64{0.5}, 0.5, 0},
		{"sample sd (n-1)", []float64{1, 2, 3}, 2, 1},
	} {
		m, sd := MeanSD(tc.in)
		if math.Abs(m-tc.m) > 1e-12 || math.Abs(sd-tc.sd) > 1e-12 {
			t.Errorf("%s: got %v ± %v, want %v ± %v", tc.desc, m, sd, tc.m, tc.sd)
		}
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		desc string
		o    Options
		ok   bool
	}{
		{"defaults", Options{Out: "x"}, true},
		{"unknown scenario", Options{Out: "x", Scenario: "balanced"}, false},
		{"unknown method", Options{Out: "x", Methods: []string{"smote"}}, false},
		{"bad plus remedy", Options{Out: "x", PlusFrom: []string{"gam"}}, false},
		{"no out", Options{}, false},
	} {
		tc.o.Defaults()
		if err := tc.o.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: err %v", tc.desc, err)
		}
	}
	o := Options{Out: "x", Methods: []string{MethodGAMPlus}}
	o.Defaults()
	if got := strings.Join(o.ordered(), ","); got != "augment,mixup,gam,gam-plus" {
		t.Errorf("gam-plus alone runs %s", got)
	}
}

// checkGeneratorQuality checks seed 0's judgement of the shared generator and its table.
func checkGeneratorQuality(t *testing.T, b *Bench, out string) {
	t.Helper()
	var gq GeneratorQuality
	if err := jsonfile.ReadJSON(filepath.Join(b.seedDir(0), QualityFile), &gq); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(b.seedDir(0), SamplesFile)); err != nil {
		t.Error(err)
	}
	// GAM ran, so its round-0 target judges the generator, not the screen.
	if gq.Embed != "target" || len(gq.Classes) != 10 {
		t.Fatalf("generator judged in the %s's embed, %d classes", gq.Embed, len(gq.Classes))
	}
	for _, cf := range gq.Classes {
		if cf.Skipped != "" || cf.N != qualityPerClass || cf.NReal < 4 || !(cf.FD > 0) ||
			cf.Precision < 0 || cf.Precision > 1 || cf.Recall < 0 || cf.Recall > 1 {
			t.Errorf("generator figures %+v", cf)
		}
	}
	var r Results
	if err := jsonfile.ReadJSON(filepath.Join(out, "results.json"), &r); err != nil {
		t.Fatal(err)
	}
	if q := r.GeneratorQuality; q == nil || len(q.Mean) != 10 || q.Mean[0].Seeds != 1 || q.Mean[0].FD != gq.Classes[0].FD {
		t.Errorf("results.json generator_quality = %+v", q)
	}
	md, _ := os.ReadFile(filepath.Join(out, "results.md"))
	if !strings.Contains(string(md), "## The shared generator against real images, per class") {
		t.Error("results.md lacks the generator's table")
	}
}

// A cancelled context (a signal) stops a cell mid-training within seconds: Run returns the
// cancellation and the cell is not saved, so a resumed run trains it again.
func TestCancelStopsTraining(t *testing.T) {
	e := testEngine(t)
	out := filepath.Join(t.TempDir(), "eff")
	b, err := New(e, Options{Tiny: true, Out: out, Scenario: data.LongTailScenario, Methods: []string{MethodERM}, Epochs: 2000})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(time.Second, cancel)
	t0 := time.Now()
	_, err = b.Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want the cancellation", err)
	}
	if d := time.Since(t0); d > 20*time.Second {
		t.Errorf("Run took %v after a cancel at 1 s: training does not check the context", d)
	}
	if _, err := os.Stat(b.cellPath(MethodERM, 0)); !os.IsNotExist(err) {
		t.Errorf("the interrupted cell was saved: %v", err)
	}
}
