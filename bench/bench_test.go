package bench

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/generate"
	"github.com/gam-native/gam-native/hostres"
	"github.com/gam-native/gam-native/internal/testengine"
	"github.com/gam-native/gam-native/progress"
)

// testEngine opens the engine, skipping without it unless GAM_REQUIRE_ENGINE=1 (make test).
func testEngine(t testing.TB) *bindings.Engine { t.Helper(); return testengine.Open(t) }

// quickSuite is the engine and the --quick options of the suite tests: untrained zoo models (no
// minutes of training in a test), the peer when Debian's python3-torch is there.
func quickSuite(t *testing.T) (*bindings.Engine, Options) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the engine")
	}
	e := testEngine(t)
	progress.Quiet = true
	return e, Options{Quick: true, Warmup: 1, Peer: exists("/usr/bin/python3"), ModelsDir: t.TempDir(), Data: "/nonexistent"}
}

// TestQuickSuiteHasEveryFigure runs every benchmark with --quick on tiny batches (the peer too
// when Debian's python3-torch is there) and checks the JSON has every figure with sane values.
func TestQuickSuiteHasEveryFigure(t *testing.T) {
	e, o := quickSuite(t)
	o.Batches, o.Repeat, o.Accepted, o.LeakCycles = []int{4, 16}, 2, 20, 5
	peer := o.Peer
	res, err := Run(context.Background(), e, o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	want := []string{"sample", "confidence", "screen_forward", "fused_screen", "image_stats", "train_vae_step",
		"train_gan_step", "train_classifier_step", "ceiling", "pipeline", "pipeline_onelane", "pipeline_dedup", "pipeline_dirsink", "pipeline_webdataset", "stage_sample_alone", "stage_score_alone"}
	lanes := hostres.CPUQuota()
	if lanes > 1 {
		want = append(want, "ceiling_forward_lanes", "ceiling_screen_first_lanes")
	}
	for _, c := range bindings.Conditions {
		want = append(want, "conditions/"+c.String())
	}
	for _, name := range want {
		for _, n := range o.Batches {
			f := back.Find(name, n)
			if f == nil {
				t.Errorf("figure %s@%d missing", name, n)
				continue
			}
			if !(f.Median > 0) || math.IsInf(f.Median, 0) || f.Min > f.Median || f.Median > f.Max || len(f.Runs) != o.Repeat {
				t.Errorf("%s: median %v min %v max %v runs %d: not sane", f.Key(), f.Median, f.Min, f.Max, len(f.Runs))
			}
			if f.PeakRSS <= 0 {
				t.Errorf("%s: peak RSS %d", f.Key(), f.PeakRSS)
			}
			if (name == "pipeline" || name == "pipeline_dirsink") && !(f.Efficiency > 0) {
				t.Errorf("%s: efficiency %v", f.Key(), f.Efficiency)
			}
			if (name == "pipeline_dirsink" || name == "pipeline_webdataset") && !(f.Extra["vs_pipeline"] > 0 && f.Extra["vs_pipeline_dedup"] > 0) {
				t.Errorf("%s: no ratio to the counting sink's pipeline (%v)", f.Key(), f.Extra)
			}
			// The CPU pipeline runs one lane per CPU; pipeline_onelane the engine thread alone.
			if wantLanes := map[string]int{"pipeline": lanes, "pipeline_onelane": 1}[name]; wantLanes > 0 && f.Extra["lanes"] != float64(wantLanes) {
				t.Errorf("%s: ran on %v lanes, want %d", f.Key(), f.Extra["lanes"], wantLanes)
			}
			if name == "pipeline" && lanes > 1 && !(f.Extra["efficiency_vs_lanes_ceiling"] > 0) {
				t.Errorf("%s: no efficiency against ceiling_forward_lanes: %v", f.Key(), f.Extra)
			}
			if name == "pipeline_onelane" && !(f.Extra["vs_slowest_stage"] > 0) {
				t.Errorf("%s: no ratio to its slowest stage alone (%v)", f.Key(), f.Extra)
			}
			if peer && (name == "sample" || name == "pipeline") && (f.Peer == nil || !(f.Ratio > 0)) {
				t.Errorf("%s: no peer ratio (peer error: %s)", f.Key(), back.PeerErr)
			}
			// The headline ratios are paired (paired.go): the peer's serve mode answered every
			// timed run, and the unpaired efficiency is kept beside the paired one.
			if name == "pipeline" && (!(f.Extra["efficiency_unpaired"] > 0) ||
				peer && !(f.Extra["peer_ratio_paired"] > 0 && f.Extra["peer_paired_accepted_per_s"] > 0)) {
				t.Errorf("%s: paired ratios missing: %v", f.Key(), f.Extra)
			}
		}
	}
	if sm := back.Summary; !sm.Paired || peer && (sm.PeerRatio != back.Find("pipeline", sm.PipelineBatch).Extra["peer_ratio_paired"] || !(sm.PeerRatioUnpaired > 0)) {
		t.Errorf("summary does not state the paired ratios: %+v", sm)
	}
	if !(back.Summary.VsSlowestStage > 0) {
		t.Errorf("summary has no ratio to the slowest stage: %+v", back.Summary)
	}
	if back.Find("ceiling_forward", res.Summary.CeilingBatch) == nil {
		t.Error("ceiling_forward missing")
	}
	if back.Leak == nil || back.Leak.Cycles != 5 || back.Leak.HandlesLeft != 0 {
		t.Errorf("leak: %+v", back.Leak)
	}
	if back.Engine.TorchVersion == "" || back.Host.CPUs < 1 || back.Summary == nil || back.TableText == "" {
		t.Errorf("engine %+v host %+v summary %+v", back.Engine, back.Host, back.Summary)
	}
	if bindings.LiveHandles() != 0 {
		t.Errorf("%d engine handles left open", bindings.LiveHandles())
	}
	// Comparing a result with itself flags nothing; halving every rate flags every figure.
	if ch := Compare(&back, &back); len(ch) == 0 || countDrops(ch) != 0 {
		t.Errorf("self-compare: %d changes, %d drops", len(ch), countDrops(ch))
	}
	worse := back
	worse.Figures = nil
	for _, f := range back.Figures {
		f.Median, f.Min, f.Max = f.Median/2, f.Min/2, f.Max/2
		worse.Figures = append(worse.Figures, f)
	}
	spreadWide := 0
	for _, f := range back.Figures {
		if f.Max > 2*f.Min {
			spreadWide++
		}
	}
	if d := countDrops(Compare(&back, &worse)); d < len(back.Figures)-spreadWide {
		t.Errorf("halved rates: %d drops flagged of %d figures (%d with a spread over 2x)", d, len(back.Figures), spreadWide)
	}
	p := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadResult(p); err != nil {
		t.Fatal(err)
	}
}

func countDrops(ch []Change) int {
	n := 0
	for _, c := range ch {
		if c.Drop {
			n++
		}
	}
	return n
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		desc string
		in   []float64
		want Stats
	}{
		{"one run", []float64{3}, Stats{Median: 3, Min: 3, Max: 3, Q1: 3, Q3: 3}},
		{"odd count, unsorted", []float64{5, 1, 3}, Stats{Median: 3, Min: 1, Max: 5, Q1: 2, Q3: 4}},
		{"even count interpolates", []float64{1, 2, 3, 4}, Stats{Median: 2.5, Min: 1, Max: 4, Q1: 1.75, Q3: 3.25}},
	}
	for _, tc := range tests {
		got := Summarize(tc.in)
		if got.Median != tc.want.Median || got.Min != tc.want.Min || got.Max != tc.want.Max || got.Q1 != tc.want.Q1 || got.Q3 != tc.want.Q3 {
			t.Errorf("%s: got %+v, want %+v", tc.desc, got, tc.want)
		}
	}
}

func TestCompareFlagsOnlyDropsBeyondSpread(t *testing.T) {
	old := &Result{Figures: []Figure{{Name: "a", Batch: 1, Stats: Stats{Median: 100, Min: 90, Max: 110}}}}
	tests := []struct {
		desc string
		cur  Stats
		drop bool
	}{
		{"same", Stats{Median: 100, Min: 95, Max: 105}, false},
		{"within old range", Stats{Median: 92, Min: 85, Max: 99}, false},
		{"below old min but overlapping old median", Stats{Median: 89, Min: 70, Max: 101}, false},
		{"beyond spread", Stats{Median: 80, Min: 78, Max: 85}, true},
		{"faster", Stats{Median: 150, Min: 140, Max: 160}, false},
	}
	for _, tc := range tests {
		cur := &Result{Figures: []Figure{{Name: "a", Batch: 1, Stats: tc.cur}}}
		ch := Compare(old, cur)
		if len(ch) != 1 || ch[0].Drop != tc.drop {
			t.Errorf("%s: %+v, want drop=%v", tc.desc, ch, tc.drop)
		}
	}
}

func TestRawThresholdsMatchCalibratedPercentile(t *testing.T) {
	cal := &generate.Calibration{PerClass: [][]float32{{0.1, 0.2, 0.2, 0.3, 0.9}, {}}}
	for _, thr := range []float32{0, 0.02, 0.2, 0.5, 0.6, 1} {
		raw := rawThresholds(cal, 2, thr)
		for _, v := range []float32{0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 0.9, 1} {
			want := cal.Percentile(0, v) >= thr
			if got := float64(v) >= raw[0]; got != want {
				t.Errorf("thr %v, score %v: raw threshold %v passes=%v, calibrated passes=%v", thr, v, raw[0], got, want)
			}
		}
		if raw[1] != -1 {
			t.Errorf("class without real scores: raw threshold %v, want -1 (all pass)", raw[1])
		}
	}
}

// Rounds pool: every round's runs in one Stats, the largest memory peak, the median of the
// rounds' derived values; the peer's rounds pooled the same way.
func TestPoolRounds(t *testing.T) {
	r1 := []Figure{{Name: "pipeline", Batch: 64, Stats: Summarize([]float64{100, 110}), PeakRSS: 5, Efficiency: 0.8,
		Extra: map[string]float64{"acceptance": 0.1}}, {Name: "sample", Batch: 64, Stats: Summarize([]float64{7})}}
	r2 := []Figure{{Name: "sample", Batch: 64, Stats: Summarize([]float64{9})}, {Name: "pipeline", Batch: 64,
		Stats: Summarize([]float64{60, 70}), PeakRSS: 9, Efficiency: 0.6, Extra: map[string]float64{"acceptance": 0.3}}}
	r3 := []Figure{{Name: "pipeline", Batch: 64, Stats: Summarize([]float64{90}), PeakRSS: 7, Efficiency: 1.0,
		Extra: map[string]float64{"acceptance": 0.2}}}
	got := poolRounds([][]Figure{r1, r2, r3})
	if len(got) != 2 || got[0].Name != "pipeline" || got[1].Name != "sample" {
		t.Fatalf("figures %+v: want pipeline then sample, in first-seen order", got)
	}
	p := got[0]
	if len(p.Runs) != 5 || p.Min != 60 || p.Max != 110 || p.Median != 90 || p.PeakRSS != 9 {
		t.Fatalf("pooled pipeline %+v", p)
	}
	if p.Efficiency != 0.8 || math.Abs(p.Extra["acceptance"]-0.2) > 1e-12 {
		t.Fatalf("derived values: efficiency %v acceptance %v, want the rounds' medians 0.8 and 0.2", p.Efficiency, p.Extra["acceptance"])
	}
	if s := got[1]; len(s.Runs) != 2 || s.Median != 8 {
		t.Fatalf("pooled sample %+v", s)
	}
	peer := poolPeers([]*PeerResult{
		{TorchVersion: "1.13", Figures: []PeerFigure{{Name: "pipeline", Batch: 64, Stats: Summarize([]float64{50})}}},
		{TorchVersion: "1.13", Figures: []PeerFigure{{Name: "pipeline", Batch: 64, Stats: Summarize([]float64{30, 40})}}},
	})
	if len(peer.Figures) != 1 || peer.Figures[0].Median != 40 || len(peer.Figures[0].Runs) != 3 || peer.TorchVersion != "1.13" {
		t.Fatalf("pooled peer %+v", peer)
	}
}

// --rounds passes through the benchmarks and the peer and pools their runs per figure.
func TestRoundsPoolEveryPass(t *testing.T) {
	e, o := quickSuite(t)
	o.Names, o.Batches, o.Repeat, o.Rounds, o.Accepted = []string{"sample", "ceiling", "pipeline"}, []int{4}, 2, 2, 10
	peer := o.Peer
	res, err := Run(context.Background(), e, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sample", "pipeline"} {
		f := res.Find(name, 4)
		if f == nil || len(f.Runs) != 4 {
			t.Fatalf("%s@4: %+v, want the 2 runs of each of 2 rounds", name, f)
		}
		if peer && (f.Peer == nil || len(f.Peer.Runs) != 4) {
			t.Fatalf("%s@4 peer: %+v (peer error %s), want 4 pooled runs", name, f.Peer, res.PeerErr)
		}
	}
	if n := len(res.Figures); n != len(poolRounds([][]Figure{res.Figures})) {
		t.Fatalf("figures repeated after pooling")
	}
	var out strings.Builder
	res.Print(&out)
	if res.Options.Rounds != 2 || !strings.Contains(out.String(), "2 rounds") {
		t.Fatalf("rounds not recorded: %+v\n%s", res.Options, out.String())
	}
}

// TestBaselinesLoad reads every bench/baseline/MACHINE.json through the --compare reader: each
// names its machine and the commit it measured, has figures, and compared with itself drops none.
func TestBaselinesLoad(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("baseline", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"cpu-2core", "h100", "h200"}
	if len(paths) != len(want) {
		t.Fatalf("baselines %v, want one per machine of %v", paths, want)
	}
	for _, p := range paths {
		r, err := LoadResult(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := strings.TrimSuffix(filepath.Base(p), ".json"); r.Machine != m {
			t.Errorf("%s: machine %q, want %q", p, r.Machine, m)
		}
		if len(r.Commit) != 40 {
			t.Errorf("%s: commit %q, want a full revision", p, r.Commit)
		}
		if r.Version != ResultVersion || len(r.Figures) == 0 || r.Summary == nil || r.Find("pipeline", r.Summary.PipelineBatch) == nil {
			t.Errorf("%s: version %d, %d figures, summary %v: not a full result", p, r.Version, len(r.Figures), r.Summary)
		}
		ch := Compare(r, r)
		if len(ch) == 0 {
			t.Errorf("%s: no figure pairs with itself", p)
		}
		for _, c := range ch {
			if c.Drop || c.Ratio != 1 {
				t.Errorf("%s: %s compared with itself: ratio %v, drop %v", p, c.Key, c.Ratio, c.Drop)
			}
		}
	}
}

// TestBuildCommit reads the revision and the dirty flag that go build stamps into a binary.
func TestBuildCommit(t *testing.T) {
	bi := &debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}, {Key: "vcs.modified", Value: "true"}}}
	if rev, mod := buildCommit(bi); rev != "0123456789abcdef0123456789abcdef01234567" || !mod {
		t.Errorf("buildCommit = %q, %v", rev, mod)
	}
	if rev, mod := buildCommit(&debug.BuildInfo{}); rev != "" || mod {
		t.Errorf("buildCommit of an unstamped binary = %q, %v", rev, mod)
	}
	b, err := json.Marshal(&Result{Commit: "abc", Modified: true})
	if err != nil || !strings.Contains(string(b), `"commit":"abc"`) || !strings.Contains(string(b), `"commit_modified":true`) {
		t.Errorf("result JSON %s (%v) lacks the commit", b, err)
	}
}

// pipeline_null runs the pipeline with the null fixtures (zoo/fixtures.py) and every image
// accepted; without the fixtures it is skipped with the reason, never an error.
func TestPipelineNull(t *testing.T) {
	e, o := quickSuite(t)
	o.Names, o.Batches = []string{"pipeline_null"}, []int{256}
	res, err := Run(context.Background(), e, o)
	if err != nil {
		t.Fatal(err)
	}
	f := res.Find("pipeline_null", 256)
	if f == nil {
		if why := res.Skipped["pipeline_null"]; why != "" {
			t.Skipf("pipeline_null skipped: %s", why)
		}
		t.Fatalf("no pipeline_null figure: %+v", res.Figures)
	}
	if !(f.Median > 0) || f.Extra["attempts_per_s"] < f.Median || !(f.Extra["ns_per_accepted"] > 0) {
		t.Fatalf("pipeline_null: %+v", f)
	}
}
