package plan

import (
	"fmt"
	"strings"
	"testing"
)

// fashionDoc builds a metrics document: every class at recall `base` (plus a small spread when
// spread is set), with the given overrides, and blurry/shadow segments per class.
func fashionDoc(base float64, spread bool, classRecall map[string]float64, segRecall map[string]float64) string {
	names := []string{"t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"}
	var cls, segs []string
	for i, n := range names {
		r := base
		if spread {
			r += 0.01 * float64(i%5)
		}
		if v, ok := classRecall[n]; ok {
			r = v
		}
		cls = append(cls, fmt.Sprintf(`{"class": %q, "support": 1000, "precision": %g, "recall": %g, "fpr": 0.01}`, n, min(1, r+0.02), r))
		for _, c := range []string{"blurry", "shadow"} {
			sr := r
			if v, ok := segRecall[n+"/"+c]; ok {
				sr = v
			}
			segs = append(segs, fmt.Sprintf(`{"class": %q, "condition": %q, "support": 100, "recall": %g}`, n, c, sr))
		}
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return fmt.Sprintf(`{"format": "gam.metrics/v1", "classes": [%s], "metrics": {"classes": [%s], "segments": [%s]}}`,
		strings.Join(q, ","), strings.Join(cls, ","), strings.Join(segs, ","))
}

func planFor(t *testing.T, doc string, cfg Config) *Plan {
	t.Helper()
	m, err := ReadMetrics(strings.NewReader(doc), MetricsOptions{Bootstrap: cfg.Bootstrap})
	if err != nil {
		t.Fatal(err)
	}
	p, err := BuildPlan(m, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestIssueScenario(t *testing.T) {
	weak := fashionDoc(0.88, true, map[string]float64{"shirt": 0.15}, map[string]float64{"coat/blurry": 0.4})
	equal := fashionDoc(0.9, false, nil, nil)
	tests := []struct {
		desc  string
		doc   string
		cfg   func(*Config)
		check func(t *testing.T, p *Plan)
	}{
		{"shirt and coat/blurry get the most budget", weak, nil, func(t *testing.T, p *Plan) {
			top := map[string]bool{p.Targets[0].ID: true, p.Targets[1].ID: true}
			if !top["shirt"] || !top["coat/blurry"] {
				t.Errorf("top two targets %s (%d), %s (%d); want shirt and coat/blurry", p.Targets[0].ID, p.Targets[0].Count, p.Targets[1].ID, p.Targets[1].Count)
			}
			if len(p.Targets) > 2 && p.Targets[2].Count*2 > p.Targets[1].Count {
				t.Errorf("third target %s (%d) close to second (%d)", p.Targets[2].ID, p.Targets[2].Count, p.Targets[1].Count)
			}
		}},
		{"same with a floor and a cap", weak, func(c *Config) { c.Floor, c.Cap = 5, 300 }, func(t *testing.T, p *Plan) {
			if p.Count("shirt") != 300 || p.Count("coat/blurry") < p.Count("t-shirt") {
				t.Errorf("shirt %d (want the cap 300), coat/blurry %d", p.Count("shirt"), p.Count("coat/blurry"))
			}
			for _, tg := range p.Targets {
				if tg.Count < 5 || tg.Count > 300 {
					t.Errorf("%s got %d outside [5, 300]", tg.ID, tg.Count)
				}
			}
		}},
		{"all equal gives a flat plan", equal, nil, func(t *testing.T, p *Plan) {
			lo, hi := p.Budget, 0
			for _, tg := range p.Targets {
				lo, hi = min(lo, tg.Count), max(hi, tg.Count)
			}
			if len(p.Targets) != 10 || hi-lo > 1 {
				t.Errorf("%d targets with counts in [%d, %d]; want 10 within one image", len(p.Targets), lo, hi)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			p := planFor(t, tc.doc, cfg)
			total := 0
			for _, tg := range p.Targets {
				total += tg.Count
			}
			if total != cfg.Budget {
				t.Errorf("counts sum to %d, want the budget %d", total, cfg.Budget)
			}
			tc.check(t, p)
		})
	}
}

func TestShrinkage(t *testing.T) {
	// Two segments at the same low recall: one measured on 12 images, one on 1,200. The small one
	// is pulled toward the pool mean, so it is not chased like the big one.
	m := &Metrics{Classes: []string{"a", "b"}, PerClass: []UnitMetrics{
		{ID: "a", ClassName: "a", Support: 1000, Recall: 0.9, Precision: 0.9},
		{ID: "b", Class: 1, ClassName: "b", Support: 1000, Recall: 0.9, Precision: 0.9},
	}, Segments: []UnitMetrics{
		{ID: "a/blurry", ClassName: "a", Segment: "blurry", Support: 12, Recall: 0.4, Precision: 0.9},
		{ID: "b/blurry", Class: 1, ClassName: "b", Segment: "blurry", Support: 1200, Recall: 0.4, Precision: 0.9},
		{ID: "a/noisy", ClassName: "a", Segment: "noisy", Support: 500, Recall: 0.9, Precision: 0.9},
		{ID: "b/noisy", Class: 1, ClassName: "b", Segment: "noisy", Support: 500, Recall: 0.9, Precision: 0.9},
		{ID: "b/shadow", Class: 1, ClassName: "b", Segment: "shadow", Support: 0, NoSupport: true},
	}}
	Bootstrap{Seed: 1}.apply(m)
	_, segs := ScoreDifficulty(m, DefaultWeights())
	byID := map[string]Difficulty{}
	for _, d := range segs {
		byID[d.ID] = d
	}
	tests := []struct {
		desc string
		ok   bool
	}{
		{"same raw score", near(byID["a/blurry"].Raw, byID["b/blurry"].Raw)},
		{"12 images shrink more than 1,200", byID["a/blurry"].Shrink < byID["b/blurry"].Shrink},
		{"so the small segment scores lower", byID["a/blurry"].Score < byID["b/blurry"].Score},
		{"big segment barely shrinks", byID["b/blurry"].Shrink > 0.95},
		{"no support gets the mean (lambda 0)", byID["b/shadow"].Shrink == 0},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if !tc.ok {
				t.Errorf("failed: %+v", segs)
			}
		})
	}
}

// TestWeakConditionPooled: blurred images 8 points below the clean ones in every class, 15 per
// class, so that no single class's blurry segment is significantly below its class; pooled over the
// ten classes the gap is plain, so every blurry segment becomes a target and no shadow segment does.
func TestWeakConditionPooled(t *testing.T) {
	for _, withClean := range []bool{false, true} {
		t.Run(fmt.Sprintf("clean bucket %v", withClean), func(t *testing.T) { weakConditionPooled(t, withClean) })
	}
}

// weakConditionPooled is TestWeakConditionPooled's check; withClean adds the clean bucket (70
// images per class at 0.97, the reference when it exists) beside the two degraded ones: against
// it the shadow images (0.87) are weak too.
func weakConditionPooled(t *testing.T, withClean bool) {
	names := []string{"t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"}
	var cls, segs, q []string
	for _, n := range names {
		q = append(q, fmt.Sprintf("%q", n))
		cls = append(cls, fmt.Sprintf(`{"class": %q, "support": 100, "precision": 0.88, "recall": 0.88, "fpr": 0.01}`, n))
		segs = append(segs, fmt.Sprintf(`{"class": %q, "condition": "blurry", "support": 15, "recall": %g}`, n, 12.0/15),
			fmt.Sprintf(`{"class": %q, "condition": "shadow", "support": 15, "recall": %g}`, n, 13.0/15))
		if withClean {
			segs = append(segs, fmt.Sprintf(`{"class": %q, "condition": "clean", "support": 70, "recall": %g}`, n, 68.0/70))
		}
	}
	doc := fmt.Sprintf(`{"format": "gam.metrics/v1", "classes": [%s], "metrics": {"classes": [%s], "segments": [%s]}}`,
		strings.Join(q, ","), strings.Join(cls, ","), strings.Join(segs, ","))
	m, err := ReadMetrics(strings.NewReader(doc), MetricsOptions{Bootstrap: DefaultConfig().Bootstrap})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range m.Segments {
		if u.Segment == "blurry" && u.RecallCI[1] < 0.88 {
			t.Fatalf("%s: interval %v already below its class; the test needs segments that are not", u.ID, u.RecallCI)
		}
	}
	weak := WeakConditions(m)
	if !weak["blurry"] || weak["shadow"] != withClean || len(weak) != map[bool]int{false: 1, true: 2}[withClean] {
		t.Fatalf("weak conditions %v, want blurry, and shadow only against the clean bucket", weak)
	}
	classes, segments := ScoreDifficulty(m, DefaultWeights())
	blurry, shadow := 0, 0
	for _, tg := range TargetsFrom(m, classes, segments, 0, false) {
		switch {
		case strings.HasSuffix(tg.ID, "/blurry"):
			blurry++
			if tg.Condition != "blur" {
				t.Errorf("%s: condition %q, want blur", tg.ID, tg.Condition)
			}
		case strings.HasSuffix(tg.ID, "/shadow"):
			shadow++
		}
	}
	if want := map[bool]int{false: 0, true: 10}[withClean]; blurry != 10 || shadow != want {
		t.Errorf("%d blurry and %d shadow segment targets, want 10 and %d", blurry, shadow, want)
	}
}

// plan.focus keeps the budget on the segment targets or on the class targets; with no segment
// weaker than its class, a segments-only plan is empty.
func TestFocus(t *testing.T) {
	weak := fashionDoc(0.88, true, map[string]float64{"shirt": 0.15}, map[string]float64{"coat/blurry": 0.4, "bag/shadow": 0.5})
	for _, tc := range []struct {
		focus    string
		segments bool // want only segment targets (else only classes)
	}{{FocusSegments, true}, {FocusClasses, false}} {
		cfg := DefaultConfig()
		cfg.Focus = tc.focus
		p := planFor(t, weak, cfg)
		total := 0
		for _, tg := range p.Targets {
			total += tg.Count
			if (tg.Condition != "") != tc.segments {
				t.Errorf("focus %s: target %s (condition %q)", tc.focus, tg.ID, tg.Condition)
			}
		}
		if total != cfg.Budget || len(p.Targets) == 0 {
			t.Errorf("focus %s: %d targets, %d images; want the budget %d", tc.focus, len(p.Targets), total, cfg.Budget)
		}
		if tc.segments && (p.Count("coat/blurry") == 0 || p.Count("bag/shadow") == 0) {
			t.Errorf("focus segments: coat/blurry %d, bag/shadow %d", p.Count("coat/blurry"), p.Count("bag/shadow"))
		}
	}
	cfg := DefaultConfig()
	cfg.Focus = FocusSegments
	if p := planFor(t, fashionDoc(0.9, false, nil, nil), cfg); len(p.Targets) != 0 {
		t.Errorf("no weak segment, focus segments: %d targets, want none", len(p.Targets))
	}
	cfg.Focus = "segment"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "plan.focus") {
		t.Errorf("focus %q: error %v, want one naming plan.focus", cfg.Focus, err)
	}
}

// plan.cover_weak_conditions: blur is weak over all classes, but bag's blurry segment is as good as
// bag; without cover it gets no target, with cover every class's blurry segment is one.
func TestCoverWeakConditions(t *testing.T) {
	names := []string{"t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"}
	var cls, segs, q []string
	for _, n := range names {
		hits := 10.0
		if n == "bag" {
			hits = 14
		}
		q = append(q, fmt.Sprintf("%q", n))
		cls = append(cls, fmt.Sprintf(`{"class": %q, "support": 100, "precision": 0.88, "recall": 0.88, "fpr": 0.01}`, n))
		segs = append(segs, fmt.Sprintf(`{"class": %q, "condition": "blurry", "support": 15, "recall": %g}`, n, hits/15))
	}
	doc := fmt.Sprintf(`{"format": "gam.metrics/v1", "classes": [%s], "metrics": {"classes": [%s], "segments": [%s]}}`,
		strings.Join(q, ","), strings.Join(cls, ","), strings.Join(segs, ","))
	m, err := ReadMetrics(strings.NewReader(doc), MetricsOptions{Bootstrap: DefaultConfig().Bootstrap})
	if err != nil {
		t.Fatal(err)
	}
	if !WeakConditions(m)["blurry"] {
		t.Fatal("blur should be weak over all classes")
	}
	classes, segments := ScoreDifficulty(m, DefaultWeights())
	for _, cover := range []bool{false, true} {
		bag, blurry := false, 0
		for _, tg := range TargetsFrom(m, classes, segments, 0, cover) {
			if tg.Condition == "blur" {
				blurry++
				bag = bag || tg.ID == "bag/blurry"
			}
		}
		if want := map[bool]int{false: 9, true: 10}[cover]; blurry != want || bag != cover {
			t.Errorf("cover %v: %d blurry targets (bag among them: %v), want %d", cover, blurry, bag, want)
		}
	}
}
