// Package promfile writes a job's metrics as a Prometheus text-format file (what node_exporter's
// textfile collector and most batch monitors read): accepted and rejected images, images per
// second, stage seconds and the last success time, rewritten atomically at each stage's end so
// that a reader never sees half a file. A nil *Recorder records nothing.
package promfile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/gam-native/gam-native/internal/atomicfile"
)

// Recorder holds the metrics of one process and the file they go to.
type Recorder struct {
	path string
	mu   sync.Mutex
	reg  *prometheus.Registry

	stageSeconds *prometheus.GaugeVec // gam_stage_duration_seconds{stage}
	stageDone    *prometheus.GaugeVec // gam_stage_last_success_timestamp_seconds{stage}
	lastSuccess  prometheus.Gauge     // gam_last_success_timestamp_seconds
	accepted     *prometheus.GaugeVec // gam_accepted_images{stage,target}
	rejected     *prometheus.GaugeVec // gam_rejected_images{stage,reason}
	rate         *prometheus.GaugeVec // gam_accepted_images_per_second{stage}
}

// New checks that path's folder exists (so that a bad --metrics-file fails before any work) and
// returns a Recorder writing there; path "" gives nil, which records nothing.
func New(path string) (*Recorder, error) {
	if path == "" {
		return nil, nil
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("--metrics-file %s: its folder %s does not exist", path, filepath.Dir(path))
	}
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("--metrics-file %s: exists and is not a regular file", path)
	}
	r := &Recorder{path: path, reg: prometheus.NewRegistry()}
	r.stageSeconds = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gam_stage_duration_seconds",
		Help: "Wall seconds of the stage's last completed run in this process."}, []string{"stage"})
	r.stageDone = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gam_stage_last_success_timestamp_seconds",
		Help: "Unix time at which the stage last completed."}, []string{"stage"})
	r.lastSuccess = prometheus.NewGauge(prometheus.GaugeOpts{Name: "gam_last_success_timestamp_seconds",
		Help: "Unix time at which any stage last completed."})
	r.accepted = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gam_accepted_images",
		Help: "Generated images accepted by the stage, per target."}, []string{"stage", "target"})
	r.rejected = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gam_rejected_images",
		Help: "Generated images rejected by the stage, per reason."}, []string{"stage", "reason"})
	r.rate = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gam_accepted_images_per_second",
		Help: "Accepted images per wall second of the stage."}, []string{"stage"})
	r.reg.MustRegister(r.stageSeconds, r.stageDone, r.lastSuccess, r.accepted, r.rejected, r.rate)
	return r, nil
}

// Generation records what a generation stage made: accepted images per target, rejections per
// reason and the stage's wall seconds (for the rate). Call Stage after it to write the file.
func (r *Recorder) Generation(stage string, accepted, rejected map[string]int, seconds float64) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	total := 0
	for t, n := range accepted {
		r.accepted.WithLabelValues(stage, t).Set(float64(n))
		total += n
	}
	for reason, n := range rejected {
		r.rejected.WithLabelValues(stage, reason).Set(float64(n))
	}
	if seconds > 0 {
		r.rate.WithLabelValues(stage).Set(float64(total) / seconds)
	}
}

// Stage records that stage completed in seconds, now, and rewrites the file.
func (r *Recorder) Stage(stage string, seconds float64, now time.Time) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stageSeconds.WithLabelValues(stage).Set(seconds)
	ts := float64(now.UnixNano()) / 1e9
	r.stageDone.WithLabelValues(stage).Set(ts)
	r.lastSuccess.Set(ts)
	return r.write()
}

func (r *Recorder) write() error {
	mfs, err := r.reg.Gather()
	if err != nil {
		return fmt.Errorf("--metrics-file %s: %w", r.path, err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("--metrics-file %s: %w", r.path, err)
		}
	}
	if err := atomicfile.Write(r.path, buf.Bytes()); err != nil {
		return fmt.Errorf("--metrics-file: %w", err)
	}
	return nil
}
