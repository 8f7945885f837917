// Package bench is gam-native's benchmark suite: throughput and memory of each engine stage, of
// one training step of each model, of the whole generation pipeline, of the raw model work that
// bounds it (the ceiling), of a hand-written PyTorch peer run side by side (peer.py), and a
// load/sample/close leak soak. `gam-native bench` runs it and writes a JSON result and a table.
package bench

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/hostres"
	"github.com/gam-native/gam-native/internal/buildinfo"
	"github.com/gam-native/gam-native/plan"
)

// ResultVersion is the version of the JSON result's layout.
const ResultVersion = 1

// Names are the benchmarks a plain `gam-native bench` runs, in order.
var Names = []string{
	"sample", "confidence", "screen_forward", "fused_screen", "conditions", "image_stats",
	"train_vae_step", "train_gan_step", "train_classifier_step", "ceiling", "step", "pipeline", "pipeline_null", "leak",
}

// Hidden are benchmarks that run only when named.
var Hidden = []string{"kernels"}

// Options choose what runs and how long.
type Options struct {
	Names   []string // empty: all of Names
	Batches []int
	Repeat  int
	// Rounds runs the chosen benchmarks (and the peer) this many times in turn and pools each
	// figure's runs, so that its spread covers the load changes of the whole session, not only of
	// a few back-to-back seconds (0: 3, --quick 1). The leak soak and the kernel check run once.
	Rounds     int
	Warmup     int
	MinTime    time.Duration // per repeated run of a stage
	Quick      bool
	Peer       bool
	Python     string // interpreter for peer.py
	PeerScript string // path of peer.py; "" finds it
	Zoo        string // folder of the zoo; "" finds it
	ModelsDir  string // cache of the briefly trained generator and screen; "" is ZOO/../bench-models
	Data       string // Fashion-MNIST folder for the brief training and calibration ("" Debian's)
	Accepted   int    // accepted images per pipeline run
	LeakCycles int
	Device     string // engine device: "auto", "cpu", "cuda"
	Logf       func(format string, args ...any)
}

// Defaults fills zero fields; Quick makes every figure small and fast (for tests and smoke runs).
func (o *Options) Defaults() {
	if len(o.Batches) == 0 {
		o.Batches = []int{64, 256, 1024}
		if o.Quick {
			o.Batches = []int{8, 32}
		}
	}
	if o.Repeat == 0 {
		o.Repeat = 3
		if o.Quick {
			o.Repeat = 2
		}
	}
	if o.Rounds == 0 {
		o.Rounds = 3
		if o.Quick {
			o.Rounds = 1
		}
	}
	o.Rounds = max(o.Rounds, 1)
	if o.Warmup == 0 {
		o.Warmup = 2
		if o.Quick {
			o.Warmup = 1
		}
	}
	if o.MinTime == 0 {
		o.MinTime = 400 * time.Millisecond
		if o.Quick {
			o.MinTime = 20 * time.Millisecond
		}
	}
	if o.Accepted == 0 {
		o.Accepted = 2000
		if o.Quick {
			o.Accepted = 40
		}
	}
	if o.LeakCycles == 0 {
		o.LeakCycles = 10000
		if o.Quick {
			o.LeakCycles = 20
		}
	}
	if o.Python == "" {
		o.Python = "python3"
		if _, err := os.Stat("/usr/bin/python3"); err == nil {
			o.Python = "/usr/bin/python3"
		}
	}
	if o.Device == "" {
		o.Device = "auto"
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// Figure is one measured quantity at one batch size.
type Figure struct {
	Name  string `json:"name"`
	Batch int    `json:"batch"`
	Unit  string `json:"unit"`
	Stats
	PeakRSS  int64  `json:"peak_rss_bytes"`
	GPUPeak  int64  `json:"gpu_alloc_peak_bytes,omitempty"`
	NVMLUsed uint64 `json:"nvml_used_bytes,omitempty"`
	// Peer is the same figure measured by peer.py; Ratio = Median / Peer.Median.
	Peer  *Stats  `json:"peer,omitempty"`
	Ratio float64 `json:"peer_ratio,omitempty"`
	// Efficiency (pipeline only) = attempts/s of the pipeline / ceiling_forward's images/s (sample
	// + screen forward back to back at its best batch size).
	Efficiency float64            `json:"efficiency,omitempty"`
	Extra      map[string]float64 `json:"extra,omitempty"`
	Note       string             `json:"note,omitempty"`
}

// Key names the figure in comparisons: name@batch.
func (f Figure) Key() string { return fmt.Sprintf("%s@%d", f.Name, f.Batch) }

// Host describes the machine.
type Host struct {
	Hostname  string  `json:"hostname"`
	CPUs      int     `json:"cpus"`
	CPUQuota  int     `json:"cpu_quota"`
	CPUModel  string  `json:"cpu_model"`
	LoadAvg1  float64 `json:"load_avg_1m"`
	GoVersion string  `json:"go_version"`
}

// Summary holds the acceptance figures of the issue, from one run.
type Summary struct {
	PipelineBatch   int     `json:"pipeline_batch"`
	AcceptedPerSec  float64 `json:"accepted_per_s"`
	PeerAcceptedPS  float64 `json:"peer_accepted_per_s,omitempty"`
	PeerRatio       float64 `json:"peer_ratio,omitempty"`
	CeilingBatch    int     `json:"ceiling_batch"`
	CeilingPerSec   float64 `json:"ceiling_images_per_s"`
	Efficiency      float64 `json:"efficiency"`
	MeetsPeerTarget *bool   `json:"meets_peer_target,omitempty"` // ratio >= 1.3
	MeetsEfficiency bool    `json:"meets_efficiency_target"`     // >= 0.9
	// VsSlowestStage: the one-engine pipeline's attempts/s (pipeline_onelane on the CPU, pipeline
	// on a GPU) at the best pipeline batch over the slower of its sample and score stages run
	// alone (issue 5 asks >= 0.8); 0 when not measured.
	VsSlowestStage float64 `json:"vs_slowest_stage,omitempty"`
	// Paired: PeerRatio and Efficiency are medians of ratios of runs taken side by side
	// (paired.go); the Unpaired values divide medians of figures measured apart, as before.
	Paired              bool    `json:"paired,omitempty"`
	CeilingPairedPerSec float64 `json:"ceiling_paired_images_per_s,omitempty"`
	PeerRatioUnpaired   float64 `json:"peer_ratio_unpaired,omitempty"`
	EfficiencyUnpaired  float64 `json:"efficiency_unpaired,omitempty"`
	// EfficiencyVsLanes: attempts/s over the best ceiling_forward_lanes (the same forward on the
	// pipeline's lane layout), unpaired; 0 when not measured (GPU, one CPU).
	EfficiencyVsLanes float64 `json:"efficiency_vs_lanes_ceiling,omitempty"`
	// EfficiencyVsLanesAttempt: attempts/s over the best ceiling_screen_first_lanes (a whole
	// attempt's model work, confidence of the survivors included, on the lanes): what the Go
	// stages, queues and copies cost; 0 when not measured.
	EfficiencyVsLanesAttempt float64 `json:"efficiency_vs_lanes_attempt,omitempty"`
}

// Result is the JSON a run writes.
type Result struct {
	Version int `json:"version"`
	// Machine names the baseline a result stands for (bench/baseline/MACHINE.json); set by hand
	// when a run becomes a baseline, empty otherwise.
	Machine string `json:"machine,omitempty"`
	// Commit is the binary's vcs.revision (runtime/debug.ReadBuildInfo) and Modified its
	// vcs.modified: the code that was measured. Empty in a binary built without VCS stamping
	// (go test, go run of a file, -buildvcs=false).
	Commit   string                `json:"commit,omitempty"`
	Modified bool                  `json:"commit_modified,omitempty"`
	Started  time.Time             `json:"started"`
	Seconds  float64               `json:"seconds"`
	Command  string                `json:"command"`
	Host     Host                  `json:"host"`
	Engine   bindings.Info         `json:"engine"`
	Devices  hostres.DeviceReport  `json:"devices"`
	Budget   *plan.MemoryBudget    `json:"memory_budget,omitempty"`
	Models   ModelSet              `json:"models"`
	Options  ResultOptions         `json:"options"`
	Figures  []Figure              `json:"figures"`
	Summary  *Summary              `json:"summary,omitempty"`
	Peer     *PeerResult           `json:"peer,omitempty"`
	PeerErr  string                `json:"peer_error,omitempty"`
	Leak     *LeakResult           `json:"leak,omitempty"`
	Kernels  *KernelReport         `json:"kernels,omitempty"`
	Notes    []string              `json:"notes,omitempty"`
	Skipped  map[string]string     `json:"skipped,omitempty"`
	Pipeline map[string]StageTimes `json:"pipeline_stage_seconds,omitempty"`
	// TableText is the table as printed (Table()).
	TableText string `json:"table,omitempty"`
}

// StageTimes are a pipeline run's busy seconds per stage (generate.Result.StageSeconds).
type StageTimes map[string]float64

// ResultOptions records the options that shape the figures.
type ResultOptions struct {
	Names    []string `json:"names"`
	Batches  []int    `json:"batches"`
	Repeat   int      `json:"repeat"`
	Rounds   int      `json:"rounds,omitempty"`
	Warmup   int      `json:"warmup"`
	MinTimeS float64  `json:"min_time_s"`
	Quick    bool     `json:"quick"`
	Accepted int      `json:"accepted_per_pipeline_run"`
}

func (r *Result) add(f Figure) { r.Figures = append(r.Figures, f) }

// Find returns the figure called name at batch, or nil.
func (r *Result) Find(name string, batch int) *Figure {
	for i := range r.Figures {
		if r.Figures[i].Name == name && r.Figures[i].Batch == batch {
			return &r.Figures[i]
		}
	}
	return nil
}

// Run runs the chosen benchmarks on e.
func Run(ctx context.Context, e *bindings.Engine, o Options) (*Result, error) {
	o.Defaults()
	names := o.Names
	if len(names) == 0 {
		names = Names
	}
	for _, n := range names {
		if !slices.Contains(Names, n) && !slices.Contains(Hidden, n) {
			return nil, fmt.Errorf("unknown benchmark %q (known: %s)", n, strings.Join(Names, ", "))
		}
	}
	if o.Device != "" {
		if err := e.SetDevice(o.Device); err != nil {
			return nil, err
		}
	}
	res := &Result{Version: ResultVersion, Started: time.Now().UTC(), Command: strings.Join(os.Args, " "),
		Options: ResultOptions{Names: names, Batches: o.Batches, Repeat: o.Repeat, Rounds: o.Rounds, Warmup: o.Warmup,
			MinTimeS: o.MinTime.Seconds(), Quick: o.Quick, Accepted: o.Accepted},
		Skipped: map[string]string{}}
	res.Host = hostInfo()
	if bi, ok := debug.ReadBuildInfo(); ok {
		res.Commit, res.Modified = buildCommit(bi)
	}
	if res.Commit == "" {
		res.Notes = append(res.Notes, "commit unknown: the binary carries no vcs.revision (built with -buildvcs=false, or outside the repository)")
	}
	info, err := e.Info()
	if err != nil {
		return nil, err
	}
	res.Engine = info
	res.Devices = hostres.ReportDevices(hostres.SystemNVML(), hostres.Host{})
	s := &suite{e: e, o: o, res: res, gpu: strings.HasPrefix(info.Device, "cuda")}
	defer s.close()
	needModels := slices.ContainsFunc(names, func(n string) bool { return n != "leak" && n != "kernels" && n != "pipeline_null" })
	if needModels {
		if err := s.load(); err != nil {
			return nil, err
		}
	}
	var rounds [][]Figure
	var peers []*PeerResult
	for round := 0; round < o.Rounds; round++ {
		res.Figures = nil
		if o.Rounds > 1 {
			o.Logf("bench: round %d of %d", round+1, o.Rounds)
		}
		for _, n := range names {
			if round > 0 && (n == "leak" || n == "kernels") {
				continue
			}
			if err := ctx.Err(); err != nil {
				return res, err
			}
			o.Logf("bench: %s", n)
			var err error
			switch n {
			case "sample", "confidence", "screen_forward", "fused_screen", "conditions", "image_stats":
				err = s.stage(n)
			case "train_vae_step", "train_gan_step", "train_classifier_step":
				err = s.trainStep(n)
			case "ceiling":
				err = s.ceiling()
			case "step":
				err = s.steps()
			case "pipeline":
				err = s.pipeline(ctx)
			case "pipeline_null":
				err = s.pipelineNull(ctx)
			case "leak":
				err = s.leak()
			case "kernels":
				err = s.kernels()
			}
			if err != nil {
				return res, fmt.Errorf("bench %s: %w", n, err)
			}
		}
		rounds = append(rounds, res.Figures)
		if o.Peer && needModels && res.PeerErr == "" {
			pr, err := s.runPeer(ctx)
			if err != nil {
				res.PeerErr = err.Error()
				o.Logf("bench: peer failed: %v", err)
			} else {
				peers = append(peers, pr)
			}
		}
	}
	res.Figures = poolRounds(rounds)
	if len(peers) > 0 {
		res.Peer = poolPeers(peers)
		mergePeer(res, res.Peer)
	}
	res.Summary = summarize(res)
	res.Seconds = time.Since(res.Started).Seconds()
	res.TableText = res.Table()
	return res, nil
}

// buildCommit returns the vcs.revision and vcs.modified settings of a binary's build info.
func buildCommit(bi *debug.BuildInfo) (rev string, modified bool) {
	v := buildinfo.Of(bi)
	return v.Revision, v.Modified
}

func hostInfo() Host {
	h := Host{CPUs: runtime.NumCPU(), CPUQuota: hostres.CPUQuota(), GoVersion: runtime.Version()}
	h.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				h.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscan(string(b), &h.LoadAvg1)
	}
	return h
}

// pool merges repeated measurements of the same figures: items grouped by key in first-seen
// order, each group's runs concatenated and summarised. add, when not nil, also sees every item
// with its group's index, for the fields that are not runs.
func pool[T any](rounds [][]T, key func(*T) string, stats func(*T) *Stats, add func(i int, f *T)) []T {
	var out []T
	at := map[string]int{}
	for _, items := range rounds {
		for _, f := range items {
			k := key(&f)
			i, seen := at[k]
			if !seen {
				i = len(out)
				at[k] = i
				g := f
				stats(&g).Runs = nil
				out = append(out, g)
			}
			st := stats(&out[i])
			st.Runs = append(st.Runs, stats(&f).Runs...)
			if add != nil {
				add(i, &f)
			}
		}
	}
	for i := range out {
		st := stats(&out[i])
		*st = Summarize(st.Runs)
	}
	return out
}

// poolRounds merges the figures of several rounds (pool): memory peaks the largest, and the
// derived values (efficiency, acceptance, attempts/s, ...) the median of the rounds' values, each
// of which was taken against its own round's ceiling.
func poolRounds(rounds [][]Figure) []Figure {
	if len(rounds) == 1 {
		return rounds[0]
	}
	var peaks []Figure // per group: the largest memory figures
	effs := map[int][]float64{}
	extras := map[int]map[string][]float64{}
	out := pool(rounds, func(f *Figure) string { return f.Key() }, func(f *Figure) *Stats { return &f.Stats },
		func(i int, f *Figure) {
			if i == len(peaks) {
				peaks = append(peaks, Figure{})
				extras[i] = map[string][]float64{}
			}
			p := &peaks[i]
			p.PeakRSS, p.GPUPeak, p.NVMLUsed = max(p.PeakRSS, f.PeakRSS), max(p.GPUPeak, f.GPUPeak), max(p.NVMLUsed, f.NVMLUsed)
			if f.Efficiency > 0 {
				effs[i] = append(effs[i], f.Efficiency)
			}
			for name, v := range f.Extra {
				extras[i][name] = append(extras[i][name], v)
			}
		})
	for i := range out {
		g := &out[i]
		g.PeakRSS, g.GPUPeak, g.NVMLUsed = peaks[i].PeakRSS, peaks[i].GPUPeak, peaks[i].NVMLUsed
		if e := effs[i]; len(e) > 0 {
			g.Efficiency = Summarize(e).Median
		}
		if len(extras[i]) > 0 {
			g.Extra = map[string]float64{}
			for name, vs := range extras[i] {
				g.Extra[name] = Summarize(vs).Median
			}
		}
	}
	return out
}

// summarize picks the pipeline's best batch and states the two targets.
func summarize(r *Result) *Summary {
	var best, ceil *Figure
	for i := range r.Figures {
		f := &r.Figures[i]
		if f.Name == "pipeline" && (best == nil || f.Median > best.Median) {
			best = f
		}
		if f.Name == "ceiling_forward" && (ceil == nil || f.Median > ceil.Median) {
			ceil = f
		}
	}
	if best == nil || ceil == nil {
		return nil
	}
	s := &Summary{PipelineBatch: best.Batch, AcceptedPerSec: best.Median, CeilingBatch: ceil.Batch,
		CeilingPerSec: ceil.Median, Efficiency: best.Efficiency, MeetsEfficiency: best.Efficiency >= 0.9,
		VsSlowestStage: best.Extra["vs_slowest_stage"], EfficiencyVsLanes: best.Extra["efficiency_vs_lanes_ceiling"],
		EfficiencyVsLanesAttempt: best.Extra["efficiency_vs_lanes_attempt"]}
	if of := r.Find("pipeline_onelane", best.Batch); s.VsSlowestStage == 0 && of != nil {
		s.VsSlowestStage = of.Extra["vs_slowest_stage"] // issue 5's measure on the CPU (stagesAlone)
	}
	if best.Peer != nil {
		s.PeerAcceptedPS = best.Peer.Median
		s.PeerRatio = best.Ratio
	}
	if v := best.Extra["ceiling_paired_images_per_s"]; v > 0 {
		s.Paired, s.EfficiencyUnpaired, s.CeilingPairedPerSec = true, best.Extra["efficiency_unpaired"], v
	}
	if v := best.Extra["peer_ratio_paired"]; v > 0 {
		s.Paired, s.PeerRatioUnpaired = true, s.PeerRatio
		s.PeerRatio, s.PeerAcceptedPS = v, best.Extra["peer_paired_accepted_per_s"]
	}
	if s.PeerRatio > 0 {
		ok := s.PeerRatio >= 1.3
		s.MeetsPeerTarget = &ok
	}
	return s
}
