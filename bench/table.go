package bench

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/gam-native/gam-native/report"
)

// Table renders the figures as an aligned text table.
func (r *Result) Table() string {
	gpu := false
	for _, f := range r.Figures {
		gpu = gpu || f.GPUPeak > 0 || f.NVMLUsed > 0
	}
	h := []string{"benchmark", "batch", "median", "unit", "spread", "min", "max", "peak RSS MiB"}
	if gpu {
		h = append(h, "GPU peak MiB", "NVML used MiB")
	}
	h = append(h, "peer", "ours/peer", "efficiency", "acceptance")
	var rows [][]string
	for _, f := range r.Figures {
		row := []string{f.Name, fmt.Sprint(f.Batch), num(f.Median), f.Unit, fmt.Sprintf("±%.1f%%", 100*f.Spread()),
			num(f.Min), num(f.Max), fmt.Sprintf("%.0f", mib(f.PeakRSS))}
		if gpu {
			row = append(row, fmt.Sprintf("%.0f", mib(f.GPUPeak)), fmt.Sprintf("%.0f", float64(f.NVMLUsed)/(1<<20)))
		}
		peer, ratio, eff, acc := "", "", "", ""
		if f.Peer != nil {
			peer, ratio = num(f.Peer.Median), fmt.Sprintf("%.2f", f.Ratio)
		}
		if f.Efficiency > 0 {
			eff = fmt.Sprintf("%.2f", f.Efficiency)
		}
		if a, ok := f.Extra["acceptance"]; ok {
			acc = fmt.Sprintf("%.2f", a)
		}
		rows = append(rows, append(row, peer, ratio, eff, acc))
	}
	return report.Aligned(h, rows)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// num prints a rate with about four significant digits.
func num(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// Print writes the header, the table, the pipeline's stage times and the summary.
func (r *Result) Print(w io.Writer) {
	blas := ""
	if r.Engine.BLASCore != "" {
		blas = ", OpenBLAS " + r.Engine.BLASCore
	}
	fmt.Fprintf(w, "gam-native bench  %s  engine %s (LibTorch %s, %s %s, %d threads%s)\n", r.Started.Format("2006-01-02 15:04:05Z"),
		r.Engine.Library, r.Engine.TorchVersion, r.Engine.Device, r.Engine.DeviceName, r.Engine.Threads, blas)
	fmt.Fprintf(w, "host %s: %s, %d CPUs (quota %d), load %.2f at start\n", r.Host.Hostname, r.Host.CPUModel, r.Host.CPUs, r.Host.CPUQuota, r.Host.LoadAvg1)
	if len(r.Devices.GPUs) == 0 {
		fmt.Fprintf(w, "GPU: none (%s)\n", r.Devices.NoGPUReason)
	}
	for _, g := range r.Devices.GPUs {
		fmt.Fprintf(w, "GPU %d: %s, %.1f GiB free of %.1f GiB\n", g.Index, g.Name, float64(g.FreeBytes)/(1<<30), float64(g.TotalBytes)/(1<<30))
	}
	if r.Models.Generator != "" {
		fmt.Fprintf(w, "models: %s + %s (%s)\n", r.Models.Generator, r.Models.Screen, r.Models.Note)
	}
	if r.Options.Rounds > 1 {
		fmt.Fprintf(w, "median of %d runs (%d rounds through the benchmarks, %d runs each after %d warm-up), each run >= %.2f s; spread = half the min..max range\n\n",
			r.Options.Rounds*r.Options.Repeat, r.Options.Rounds, r.Options.Repeat, r.Options.Warmup, r.Options.MinTimeS)
	} else {
		fmt.Fprintf(w, "median of %d runs after %d warm-up, each run >= %.2f s; spread = half the min..max range\n\n", r.Options.Repeat, r.Options.Warmup, r.Options.MinTimeS)
	}
	fmt.Fprint(w, r.Table())
	if len(r.Pipeline) > 0 {
		fmt.Fprintln(w, "\npipeline busy seconds per stage (mean per run, summed over lanes; sample and score run on the engine thread or the lanes, sink in Go):")
		keys := make([]string, 0, len(r.Pipeline))
		for k := range r.Pipeline {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			st := r.Pipeline[k]
			fmt.Fprintf(w, "  %-24s total %.3f  sample %.3f  score %.3f  sink %.3f\n", k, st["total"], st["sample"], st["score"], st["sink"])
		}
		for _, f := range r.Figures {
			if of := r.Find("pipeline_onelane", f.Batch); f.Name == "pipeline" && of != nil && of.Median > 0 {
				fmt.Fprintf(w, "  pipeline@%d: %.1f accepted/s on %.0f lanes, %.1f on the engine thread alone (pipeline_onelane): %.2fx\n",
					f.Batch, f.Median, f.Extra["lanes"], of.Median, f.Median/of.Median)
			}
			if sf := r.Find("pipeline_sync", f.Batch); f.Name == "pipeline_onelane" && sf != nil && sf.Median > 0 {
				fmt.Fprintf(w, "  pipeline_onelane@%d: %.1f accepted/s with sample on the worker thread, %.1f with it on the engine thread: %.2fx\n",
					f.Batch, f.Median, sf.Median, f.Median/sf.Median)
			}
			if v, ok := f.Extra["vs_slowest_stage"]; ok {
				sa, sc := r.Find("stage_sample_alone", f.Batch), r.Find("stage_score_alone", f.Batch)
				if sa != nil && sc != nil {
					fmt.Fprintf(w, "  %s@%d: %.0f attempts/s = %.2f x its slowest stage run alone (sample %.0f, score %.0f images/s; issue 5 asks >= 0.8)\n",
						f.Name, f.Batch, f.Extra["attempts_per_s"], v, sa.Median, sc.Median)
				}
			}
			if v, ok := f.Extra["vs_sink_alone"]; ok {
				fmt.Fprintf(w, "  %s@%d: %.1f accepted/s = %.2f x the DirSink stage run alone (sink_alone@%d)\n", f.Name, f.Batch, f.Median, v, f.Batch)
			}
		}
	}
	if b := r.Budget; b != nil {
		fmt.Fprintf(w, "\nmemory budget (%s, %s): %.1f GiB free of %.1f GiB -> batch %d\n", b.Source, b.Device,
			float64(b.FreeBytes)/(1<<30), float64(b.TotalBytes)/(1<<30), b.BatchSize)
	}
	if l := r.Leak; l != nil {
		fmt.Fprintf(w, "\nleak: %d load/sample/close cycles in %.1f s: RSS %.1f -> %.1f MiB (%+.0f B/cycle), %d handles left: ok=%v\n",
			l.Cycles, l.Seconds, mib(l.RSSBefore), mib(l.RSSAfter), l.GrowthPerCycle, l.HandlesLeft, l.OK)
	}
	if k := r.Kernels; k != nil {
		if k.Skipped != "" {
			fmt.Fprintf(w, "\nkernels: skipped: %s\n", k.Skipped)
		} else {
			fmt.Fprintf(w, "\nkernels (CUDA vs CPU path, random inputs): ok=%v\n", k.OK)
			var rows [][]string
			for _, c := range k.Checks {
				rows = append(rows, []string{c.Op, c.Output, fmt.Sprint(c.Elements), fmt.Sprintf("%.2e", c.MaxRel), fmt.Sprintf("%.2e", c.MaxAbs), fmt.Sprint(c.Mismatches), fmt.Sprint(c.OK)})
			}
			fmt.Fprint(w, report.Aligned([]string{"op", "output", "elements", "max rel err", "max abs err", "mismatches", "ok"}, rows))
		}
	}
	if r.Peer != nil {
		fmt.Fprintf(w, "\npeer: %s %s, PyTorch %s, %d threads (interop %d), device %s\n", r.Peer.Interpreter, r.Peer.Script, r.Peer.TorchVersion, r.Peer.Threads, r.Peer.InteropThreads, r.Peer.Device)
	}
	if r.PeerErr != "" {
		fmt.Fprintf(w, "\npeer failed: %s\n", r.PeerErr)
	}
	if s := r.Summary; s != nil {
		fmt.Fprintf(w, "\nend to end (counting sink, batch %d): %.1f accepted/s; ceiling (sample + screen forward on the engine thread, ceiling_forward) %.1f images/s at batch %d; efficiency (attempts/s over it) %.2f (target 0.9: %s)\n",
			s.PipelineBatch, s.AcceptedPerSec, s.CeilingPerSec, s.CeilingBatch, s.Efficiency, yesNo(s.MeetsEfficiency))
		if s.EfficiencyVsLanes > 0 {
			fmt.Fprintf(w, "against the same forward on the pipeline's lanes (ceiling_forward_lanes, one per CPU at once): efficiency %.2f\n", s.EfficiencyVsLanes)
		}
		if s.EfficiencyVsLanesAttempt > 0 {
			fmt.Fprintf(w, "against a whole attempt's model work on the lanes (ceiling_screen_first_lanes: confidence of the survivors too): %.2f\n", s.EfficiencyVsLanesAttempt)
		}
		if s.MeetsPeerTarget != nil {
			fmt.Fprintf(w, "vs peer: %.1f accepted/s -> ratio %.2f (target 1.3: %s)\n", s.PeerAcceptedPS, s.PeerRatio, yesNo(*s.MeetsPeerTarget))
		}
		if s.Paired {
			peer := ""
			if s.PeerRatioUnpaired > 0 {
				peer = fmt.Sprintf(", peer ratio %.2f", s.PeerRatioUnpaired)
			}
			fmt.Fprintf(w, "(paired: each ratio is the median over the pipeline's timed runs of the run over the ceiling and peer runs taken beside it, the ceiling runs' median %.1f images/s; unpaired, the medians of the separate figures give efficiency %.2f%s)\n",
				s.CeilingPairedPerSec, s.EfficiencyUnpaired, peer)
		}
		if s.VsSlowestStage > 0 {
			fmt.Fprintf(w, "vs its slowest stage run alone (batch %d): %.2f (issue 5's target 0.8: %s)\n", s.PipelineBatch, s.VsSlowestStage, yesNo(s.VsSlowestStage >= 0.8))
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
}

func yesNo(b bool) string {
	if b {
		return "met"
	}
	return strings.ToUpper("not met")
}
