package promfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestRecorderWritesTextFormat: the file parses as Prometheus text format and holds each stage's
// seconds, the accepted/rejected counts, the rate and the last success time.
func TestRecorderWritesTextFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gam.prom")
	r, err := New(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	r.Generation("r1/generate", map[string]int{"shirt": 30, "coat/blurry": 10}, map[string]int{"screen": 5, "duplicate": 2}, 4)
	if err := r.Stage("r1/generate", 4, now); err != nil {
		t.Fatal(err)
	}
	if err := r.Stage("r1/train", 12.5, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("not Prometheus text format: %v", err)
	}
	get := func(name string, labels map[string]string) float64 {
		t.Helper()
		mf, ok := mfs[name]
		if !ok {
			t.Fatalf("%s missing", name)
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue next
				}
			}
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			return m.GetGauge().GetValue()
		}
		t.Fatalf("%s%v missing", name, labels)
		return 0
	}
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"gam_accepted_images", map[string]string{"stage": "r1/generate", "target": "shirt"}, 30},
		{"gam_accepted_images", map[string]string{"stage": "r1/generate", "target": "coat/blurry"}, 10},
		{"gam_rejected_images", map[string]string{"stage": "r1/generate", "reason": "screen"}, 5},
		{"gam_accepted_images_per_second", map[string]string{"stage": "r1/generate"}, 10},
		{"gam_stage_duration_seconds", map[string]string{"stage": "r1/train"}, 12.5},
		{"gam_stage_last_success_timestamp_seconds", map[string]string{"stage": "r1/generate"}, 1_800_000_000},
		{"gam_last_success_timestamp_seconds", nil, 1_800_000_060},
	}
	for _, c := range checks {
		if got := get(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*.tmp*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

func TestNewRefusesBadPaths(t *testing.T) {
	dir := t.TempDir()
	if r, err := New(""); r != nil || err != nil {
		t.Errorf(`New(""): %v, %v; want nil, nil (no metrics)`, r, err)
	}
	var nilRec *Recorder
	nilRec.Generation("x", nil, nil, 1)
	if err := nilRec.Stage("x", 1, time.Now()); err != nil {
		t.Errorf("a nil recorder: %v", err)
	}
	missing := filepath.Join(dir, "no", "gam.prom")
	if _, err := New(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("New(%s): %v, want an error naming it", missing, err)
	}
	if _, err := New(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("New(a folder): %v, want not a regular file", err)
	}
}
