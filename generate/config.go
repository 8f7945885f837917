// Package generate is the Generative Augmentation Module's pipeline: for each planned target it
// samples images from the generator (class, conditions, optional hardness search in latent
// space), scores their generation confidence, screens them with a light classifier, drops
// near-duplicates, routes a borderline band to human review and hands on the accepted ones.
package generate

import "fmt"

// Config holds the pipeline's knobs (the [generate] table of a job file).
type Config struct {
	// BatchSize is the images per batch (its seed is the batch's, see batchSeed), one engine call
	// each unless an out-of-memory halves the calls (chunk.go). 0 (left out) lets the caller's
	// memory budget choose: `run` and `generate` size it with plan.ChooseBatch (loop.GenerateBatch);
	// Run itself takes DefaultBatchSize.
	BatchSize int `toml:"batch_size"`
	// Temperature scales the latent draw: below 1 gives typical images, above 1 more varied ones.
	// With Latent = "real" it scales the posterior noise added around the real latents.
	Temperature float32 `toml:"temperature"`
	// Latent is where z comes from: LatentPrior ("prior", N(0, I)), LatentReal ("real",
	// between the posterior means of real images of the target's class; needs encode),
	// LatentTransfer ("transfer", around real images of the classes the target is confused with,
	// decoded as the target's class; needs encode) or LatentAuto ("auto": real when the
	// generator has encode, else prior).
	Latent string `toml:"latent"`
	// EditReach, with Latent = "edit", is how far z may move from the real image's latent toward
	// another's (u ~ U(0, EditReach)); the residual is the first image's, so a long move leaves
	// its details where its shape no longer is. 0 means 0.5.
	EditReach float32 `toml:"edit_reach"`
	// Blend, above 0, makes a target's images blends between its class and the classes it is
	// confused with (plan.Target.ConfusedWith, e.g. shirt with t-shirt, pullover and coat):
	// z = (1-u) mu_i + u mu_j + temperature sigma_i eps for a real image i of the target's class
	// and j of a confuser (drawn by its share of the misses), u ~ U(0, 1), decoded under the
	// target's label, which is what a conditional VAE is asked to draw; each image is labelled
	// softly, Blend*u of the confuser and the rest of the target (tilted toward the weak class,
	// as Remix tilts mixup). The screen judges the blend: it passes when the screen's probability
	// of the two classes together reaches ProbThreshold, so an image it calls neither is off-domain.
	// A target with no confuser, or a class with no real latents, is drawn as Latent says. Needs a
	// generator with encode; want [0, 0.5] (0: off).
	Blend float32 `toml:"blend"`
	// ProbThreshold: the screen's softmax probability of the intended class must reach it.
	ProbThreshold float32 `toml:"prob_threshold"`
	// ProbCalibrated reads ProbThreshold as a percentile: a class's threshold is the screen's
	// probability of that class on its real training images at that percentile (0.5: a generated
	// image must look at least as much like its class to the screen as the median real image of
	// the class), and the screen's argmax need not be the intended class. A screen trained on
	// long-tailed data calls most real images of a scarce, confusable class something else
	// (measured: 30% of real test shirts, none at probability 0.9), so a fixed threshold and the
	// argmax check reject exactly the images the plan asked for; calibrated, one setting means
	// the same for every class, as generate.conf_threshold does for the generator's confidence.
	ProbCalibrated bool `toml:"prob_calibrated"`
	// ConfThreshold: the generation confidence, as a percentile of the same score on real
	// training images of the class, must reach it (0.05: as plausible as the least plausible 5%).
	ConfThreshold float32 `toml:"conf_threshold"`
	// ReviewBand: images whose screen probability is in [ProbThreshold, ProbThreshold+ReviewBand)
	// go to the review queue instead of being accepted. 0 turns review off.
	ReviewBand float32 `toml:"review_band"`
	// Shards > 1 makes `gam-native run` generate each round as that many local processes, each a
	// share of every target (plan.Shard), merged into the run's accepted images as
	// `gam-native merge` joins a cluster's shards. 0 or 1: one process. Not with a review band.
	// `generate` itself ignores it (its --shard says which share it makes).
	Shards int `toml:"shards" json:"shards,omitempty"`
	// MaxAttempts caps the images tried per target at MaxAttempts x its quota.
	MaxAttempts float64 `toml:"max_attempts"`
	// SearchSteps is the number of latent search steps at hardness 1 (scaled by each target's
	// hardness); 0 turns the search off. SearchLR and SearchPull are its step size and the pull
	// back toward the prior draw.
	SearchSteps int     `toml:"search_steps"`
	SearchLR    float32 `toml:"search_lr"`
	SearchPull  float32 `toml:"search_pull"`
	// DupThreshold is the cosine similarity (screen embeddings, or pixels without embed) above
	// which an image is a near-duplicate of a training image or of an accepted one.
	DupThreshold float32 `toml:"dup_threshold"`
	// ConditionAfterScreen makes a conditioned target's images clean first: sampled without the
	// condition, screened and scored clean, and only the accepted ones degraded by the native
	// operation at the target's severity. The screen then judges content it can read (a screen
	// that never saw blur rejects nearly every blurred image on label), at the price of not using
	// a generator's own learned condition.
	ConditionAfterScreen bool `toml:"condition_after_screen"`
	// ConditionContent is where a conditioned target's content comes from: ContentGenerator
	// ("generator", the default: sampled like any other target's) or ContentReal ("real": real
	// training images of the target's class, drawn at random, degraded by the native operation at
	// the target's severities). A condition target's weakness is the condition, not the content:
	// its real images are right by construction, so they skip the screen, the confidence and the
	// duplicate check (they are copies of training images on purpose) and are accepted as drawn;
	// the provenance names the real image. Targets without a condition are not affected.
	ConditionContent string `toml:"condition_content"`
	// SyncSample runs sample on the engine thread like every other call, instead of on the
	// engine's worker thread beside the score stage (the default); for measuring the overlap.
	SyncSample bool `toml:"sync_sample"`
	// Step chooses how a batch is sampled and screened: StepSplit ("split") samples in the sample
	// stage and runs the screen in the score stage; StepFused ("fused") makes sample, the screen's
	// forward and the fused screen one engine call in the sample stage (bindings.Step: one wait for
	// the device per batch); StepGraph ("graph") is fused and, on a CUDA device, replays it as one
	// captured CUDA graph. StepAuto ("auto", the default) is "graph" on a CUDA device and "split"
	// on the CPU, where the two stages overlap on two threads. A target whose condition is applied
	// by the native operation before screening always takes the split path, and so does every
	// target when ProbCalibrated is set (its per-class threshold and label rule are applied in Go).
	Step string `toml:"step"`
	// QueueDepth is the number of batches each stage may run ahead of the next. With lanes the
	// sampler hands a lane its job when the lane asks for one, so it bounds only the screened
	// batches waiting for the sink.
	QueueDepth int `toml:"queue_depth"`
	// Lanes is how many engine lanes make the batches on the CPU's split path: each lane is an
	// engine thread with one intra-op thread that samples and scores whole batches, side by side
	// with the others (bindings.Engine.Lanes). 0 (the default) is one lane per CPU of the cgroup
	// quota; 1 is the engine thread alone, with sample on its worker beside the score stage
	// (Config.SyncSample). On two cores two lanes ran 1.3-1.6x the accepted images per second of
	// the engine thread alone with two intra-op threads at batch 256, 1.4-2.1x at 64 (four paired
	// bench runs, docs/performance.md, "Lanes on the CPU"). A GPU, and the fused step,
	// always use one.
	Lanes int `toml:"lanes"`
}

// Values of Config.Step.
const (
	StepAuto  = "auto"
	StepSplit = "split"
	StepFused = "fused"
	StepGraph = "graph"
)

// Values of Config.ConditionContent.
const (
	ContentGenerator = "generator"
	ContentReal      = "real"
)

// DefaultBatchSize is the batch Run takes when Config.BatchSize is 0 and the caller sized none.
const DefaultBatchSize = 128

// DefaultConfig is what a job gets when it sets nothing: BatchSize 0, the memory budget's choice.
func DefaultConfig() Config {
	return Config{BatchSize: 0, Temperature: 1, Latent: LatentPrior, ProbThreshold: 0.5, ConfThreshold: 0.02, MaxAttempts: 20,
		SearchSteps: 0, SearchLR: 0.05, SearchPull: 0.1, DupThreshold: 0.999, Step: StepAuto, QueueDepth: 2}
}

// Validate names the first field out of range.
// MaxShards is the most processes Config.Shards may ask for.
const MaxShards = 64

func (c Config) Validate() error {
	switch {
	case c.BatchSize < 0:
		return fmt.Errorf("generate.batch_size = %d: want >= 1 (left out: the memory budget chooses)", c.BatchSize)
	case !(c.Temperature > 0):
		return fmt.Errorf("generate.temperature = %v: want > 0", c.Temperature)
	case c.Latent != LatentPrior && c.Latent != LatentReal && c.Latent != LatentTransfer && c.Latent != LatentEdit && c.Latent != LatentAuto:
		return fmt.Errorf("generate.latent = %q: want %q, %q, %q, %q or %q", c.Latent, LatentPrior, LatentReal, LatentTransfer, LatentEdit, LatentAuto)
	case !(c.EditReach >= 0 && c.EditReach <= 1):
		return fmt.Errorf("generate.edit_reach = %v: want a value in [0, 1] (0: the default, 0.5)", c.EditReach)
	case !(c.Blend >= 0 && c.Blend <= 0.5):
		return fmt.Errorf("generate.blend = %v: want the confuser's largest share in [0, 0.5] (0: off; above 0.5 a blend would lean to the confuser)", c.Blend)
	case c.Blend > 0 && c.ProbCalibrated:
		return fmt.Errorf("generate.blend = %v: not with generate.prob_calibrated (a blend is screened on the two classes' probability together)", c.Blend)
	case !(c.ProbThreshold >= 0 && c.ProbThreshold <= 1):
		return fmt.Errorf("generate.prob_threshold = %v: want a value in [0, 1]", c.ProbThreshold)
	case !(c.ConfThreshold >= 0 && c.ConfThreshold <= 1):
		return fmt.Errorf("generate.conf_threshold = %v: want a value in [0, 1]", c.ConfThreshold)
	case c.ProbCalibrated && c.ReviewBand > 0:
		return fmt.Errorf("generate.review_band = %v: not with generate.prob_calibrated (the band is in probability, the threshold a percentile)", c.ReviewBand)
	case !(c.ReviewBand >= 0 && c.ProbThreshold+c.ReviewBand <= 1):
		return fmt.Errorf("generate.review_band = %v: want >= 0 with prob_threshold + review_band <= 1", c.ReviewBand)
	case c.Shards < 0 || c.Shards > MaxShards:
		return fmt.Errorf("generate.shards = %d: want 0 or 1 (one process) up to %d", c.Shards, MaxShards)
	case c.Shards > 1 && c.ReviewBand > 0:
		return fmt.Errorf("generate.shards = %d: not with generate.review_band = %v (the shards' review queues are not merged); set one of them to 0", c.Shards, c.ReviewBand)
	case !(c.MaxAttempts >= 1):
		return fmt.Errorf("generate.max_attempts = %v: want >= 1", c.MaxAttempts)
	case c.SearchSteps < 0:
		return fmt.Errorf("generate.search_steps = %d: want >= 0", c.SearchSteps)
	case c.SearchSteps > 0 && !(c.SearchLR > 0):
		return fmt.Errorf("generate.search_lr = %v: want > 0", c.SearchLR)
	case !(c.DupThreshold > 0 && c.DupThreshold <= 1):
		return fmt.Errorf("generate.dup_threshold = %v: want a value in (0, 1]", c.DupThreshold)
	case c.Step != "" && c.Step != StepAuto && c.Step != StepSplit && c.Step != StepFused && c.Step != StepGraph:
		return fmt.Errorf("generate.step = %q: want %q, %q, %q or %q", c.Step, StepAuto, StepSplit, StepFused, StepGraph)
	case c.ConditionContent != "" && c.ConditionContent != ContentGenerator && c.ConditionContent != ContentReal:
		return fmt.Errorf("generate.condition_content = %q: want %q or %q", c.ConditionContent, ContentGenerator, ContentReal)
	case c.QueueDepth < 0:
		return fmt.Errorf("generate.queue_depth = %d: want >= 0", c.QueueDepth)
	case c.Lanes < 0:
		return fmt.Errorf("generate.lanes = %d: want >= 0 (0: one per CPU)", c.Lanes)
	}
	return nil
}
