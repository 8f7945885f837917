package generate

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/internal/human"
	"github.com/gam-native/gam-native/plan"
	"github.com/gam-native/gam-native/progress"
)

// TargetResult is what happened to one target.
type TargetResult struct {
	ID         string         `json:"id"`
	Quota      int            `json:"quota"`
	Accepted   int            `json:"accepted"`
	Pending    int            `json:"pending"`
	Attempts   int            `json:"attempts"`
	Rejected   map[string]int `json:"rejected"`
	Shortfall  int            `json:"shortfall"`
	MeanMargin float64        `json:"mean_margin"`
}

// Counts is the run's accepted images per target and rejections per reason (summed over
// targets), as a metrics file reports them.
func (r *Result) Counts() (accepted, rejected map[string]int) {
	accepted, rejected = map[string]int{}, map[string]int{}
	for _, t := range r.Targets {
		accepted[t.ID] += t.Accepted
		for reason, n := range t.Rejected {
			rejected[reason] += n
		}
	}
	return accepted, rejected
}

// Result sums a pipeline run.
type Result struct {
	Targets  []TargetResult `json:"targets"`
	Accepted int            `json:"accepted"`
	Pending  int            `json:"pending"`
	Attempts int            `json:"attempts"`
	Seconds  float64        `json:"seconds"`
	// StageSeconds is the busy time of each stage (sample, score+screen, sink).
	StageSeconds map[string]float64 `json:"stage_seconds"`
	// Step is how the fused step ran (nil when the batches took the split path).
	Step *bindings.StepStats `json:"step,omitempty"`
	// Lanes is how many engine lanes made the batches (Config.Lanes); 1: the engine thread.
	Lanes int `json:"lanes"`
	// Surplus is the images made in batches that arrived after their target had met its quota
	// (made ahead, not attempts): work the run paid for and threw away.
	Surplus int `json:"surplus"`
	// BatchSize is the rows per batch (Config.BatchSize, or DefaultBatchSize when it was 0).
	// OOMRetries counts the batches made again after an engine out-of-memory, and EngineBatch is
	// the rows per model call the run ended at (BatchSize unless an out-of-memory halved it; see
	// chunk.go).
	BatchSize   int `json:"batch_size"`
	EngineBatch int `json:"engine_batch"`
	OOMRetries  int `json:"oom_retries"`
	// Budget is how the caller chose BatchSize (the job's, or the memory budget's), when it says.
	Budget *plan.BatchChoice `json:"budget,omitempty"`
	// Shards, for a round made as several processes (Config.Shards), is what each made and what
	// the merge kept of it; the counts above are the merged ones.
	Shards []ShardResult `json:"shards,omitempty"`
}

// ShardResult is one shard's part in a sharded round.
type ShardResult struct {
	Shard    string  `json:"shard"` // "I/N"
	Accepted int     `json:"accepted"`
	Kept     int     `json:"kept"`
	Attempts int     `json:"attempts"`
	Seconds  float64 `json:"seconds"`
}

// collector is the sink's side of a run: it turns the batches that reorder hands over into
// candidates for the sink (dedup, review band, quota) and counts what happened per target.
type collector struct {
	targets []plan.Target
	cfg     Config
	dedup   *Dedup
	sink    Sink
	sched   *schedule
	pixels  int // per image
	bar     *progress.Bar
	busy    *atomic.Int64

	res     *Result
	margins [][]float64
	seqs    []int // per target: candidates made so far (Candidate.Seq)
	err     error // the first error, from a batch or the sink
	stopped func() bool
	stop    func()
}

func newCollector(targets []plan.Target, cfg Config, o Options, sink Sink, s *schedule, pixels int, total int, busy *atomic.Int64, stopped func() bool, stop func()) *collector {
	c := &collector{targets: targets, cfg: cfg, dedup: o.Dedup, sink: sink, sched: s, pixels: pixels,
		bar: progress.New(total, "generate"), busy: busy, res: &Result{Targets: make([]TargetResult, len(targets))},
		margins: make([][]float64, len(targets)), seqs: make([]int, len(targets)), stopped: stopped, stop: stop}
	for i, t := range targets {
		c.res.Targets[i] = TargetResult{ID: t.ID, Quota: t.Count, Rejected: map[string]int{}}
	}
	return c
}

// fail keeps the first error and stops the run.
func (c *collector) fail(err error) {
	if c.err == nil {
		c.err = err
	}
	c.stop()
}

// surplus counts a batch never taken: made before its target met its quota.
func (c *collector) surplus(b *batch) { c.res.Surplus += b.n }

// take hands batch b of target ti to the sink, row by row, until the quota is met.
func (c *collector) take(ti int, b *batch) {
	if c.stopped() {
		return // cancelled or failed: the run ends with an error, and takes no more images
	}
	tr := &c.res.Targets[ti]
	done := &c.sched.done[ti]
	if done.Load() || c.err != nil {
		c.surplus(b) // a batch made before the quota was met: surplus, not an attempt
		return
	}
	t0 := time.Now()
	tr.Attempts += b.n
	c.sched.consumed[ti].Add(int64(b.n))
	for _, v := range b.verdict {
		if r, ok := verdictReason[bindings.Verdict(v)]; ok {
			tr.Rejected[r]++
		}
	}
	t := &c.targets[ti]
	sz := c.pixels
	for j, row := range b.accepted {
		if done.Load() {
			break
		}
		if c.dedup != nil && !b.asDrawn && c.dedup.Check(t.Class, b.vecs[j]) {
			tr.Rejected[ReasonDuplicate]++
			continue
		}
		cd := &Candidate{Target: t, Pixels: b.pixels[j*sz : (j+1)*sz], Confidence: b.conf[row],
			ScreenProb: b.prob[row], Margin: float32(math.NaN()), Seed: b.seed, Seq: c.seqs[ti]}
		c.seqs[ti]++
		if b.margin != nil {
			cd.Margin = b.margin[j]
		}
		if b.content != nil {
			cd.Content = b.content[row]
		}
		if b.mixWith != nil {
			cd.MixWith, cd.MixWeight = int(b.mixWith[row]), b.mixW[row]
		}
		if t.Condition != "" {
			cd.Attrs = map[string]float32{t.Condition: b.sev[row]}
			cd.Conditions = map[string]string{t.Condition: b.condBy}
		}
		if c.cfg.ReviewBand > 0 && cd.ScreenProb < c.cfg.ProbThreshold+c.cfg.ReviewBand {
			if err := c.sink.Pend(cd); err != nil {
				c.fail(err)
				break
			}
			tr.Pending++
			c.res.Pending++
			continue
		}
		if err := c.sink.Accept(cd); err != nil {
			c.fail(err)
			break
		}
		if b.margin != nil {
			c.margins[ti] = append(c.margins[ti], float64(cd.Margin))
		}
		tr.Accepted++
		c.res.Accepted++
		c.sched.accepted[ti].Add(1)
		c.bar.Add(1, "")
		if tr.Accepted >= tr.Quota {
			done.Store(true)
		}
	}
	if c.err == nil {
		if err := c.sink.Flush(); err != nil {
			c.fail(err)
		}
	}
	c.busy.Add(int64(time.Since(t0)))
}

// sum fills the per-target shortfalls, attempts and mean margins, and logs each shortfall.
func (c *collector) sum() *Result {
	res := c.res
	for i := range res.Targets {
		tr := &res.Targets[i]
		tr.Shortfall = max(tr.Quota-tr.Accepted, 0)
		res.Attempts += tr.Attempts
		if len(c.margins[i]) > 0 {
			var s float64
			for _, v := range c.margins[i] {
				s += v
			}
			tr.MeanMargin = s / float64(len(c.margins[i]))
		}
		if tr.Shortfall > 0 {
			progress.Logf("generate: target %s got %d of %d after %d attempts (rejected: %s)", tr.ID, tr.Accepted, tr.Quota, tr.Attempts, human.Counts(tr.Rejected))
		}
	}
	return res
}
