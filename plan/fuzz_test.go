package plan

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// jsonSeeds are the JSON documents of the repository's testdata and docs that contain want.
func jsonSeeds(want string) [][]byte {
	var seeds [][]byte
	ps, _ := filepath.Glob("testdata/*.json")
	for _, p := range ps {
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(want)) {
			seeds = append(seeds, b)
		}
	}
	block := regexp.MustCompile("(?s)```json\n(.*?)```")
	docs, _ := filepath.Glob("../docs/*.md")
	for _, p := range docs {
		b, _ := os.ReadFile(p)
		for _, m := range block.FindAllSubmatch(b, -1) {
			if bytes.Contains(m[1], []byte(want)) {
				seeds = append(seeds, m[1])
			}
		}
	}
	return seeds
}

// FuzzReadMetrics (issue 22, item 7): any metrics document is read or refused with an error,
// never a panic; one that is read gives a plan (`gam-native plan`) that `generate` reads back.
func FuzzReadMetrics(f *testing.F) {
	for _, s := range jsonSeeds("gam.metrics/v1") {
		f.Add(s)
	}
	for _, s := range []string{
		`{"format": "gam.metrics/v1", "classes": ["a", "b"], "per_class": [{"class": "a", "support": 10, "recall": 0.5}, {"class": "b", "support": 10, "recall": 0.9}]}`,
		`{"format": "gam.metrics/v1", "classes": ["a", "b"], "predictions": {"labels": [0, 1, 1], "probs": [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]}}`,
		`{"format": "gam.metrics/v1"`,
	} {
		f.Add([]byte(s))
	}
	cfg := DefaultConfig()
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadMetrics(bytes.NewReader(b), MetricsOptions{Bootstrap: Bootstrap{Resamples: 20, Seed: 1}})
		if err != nil {
			return
		}
		p, err := BuildPlan(m, cfg, nil)
		if err != nil {
			return
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("the plan does not encode: %v", err)
		}
		if _, err := DecodePlan(out); err != nil {
			t.Fatalf("the plan built from the metrics is refused by DecodePlan: %v\n%s", err, out)
		}
	})
}

// FuzzDecodePlan (issue 22, item 7): any plan file is decoded or refused, never a panic; a
// decoded plan validates and is the same plan after being written and read again.
func FuzzDecodePlan(f *testing.F) {
	for _, s := range jsonSeeds("gam.plan/v1") {
		f.Add(s)
	}
	for _, s := range []string{
		`{"format": "gam.plan/v1", "targets": [{"id": "shirt", "class": 6, "class_name": "shirt", "count": 40}]}`,
		`{"format": "gam.plan/v1", "targets": [{"id": "coat/blurry", "class": 4, "condition": "blur", "severity_min": 0.3, "severity_max": 0.9, "count": 4}]}`,
		`{"format": "gam.plan/v1", "targetz": []}`,
		`{"format": "gam.plan/v1", "targets": []} {}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePlan(b)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("DecodePlan accepted a plan that Validate refuses: %v", err)
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("a decoded plan does not encode: %v", err)
		}
		again, err := DecodePlan(out)
		if err != nil {
			t.Fatalf("a decoded plan, written, is refused: %v\n%s", err, out)
		}
		if out2, _ := json.Marshal(again); !bytes.Equal(out, out2) {
			t.Fatalf("the plan changed through a write and a read:\n%s\n%s", out, out2)
		}
	})
}
