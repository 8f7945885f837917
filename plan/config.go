package plan

import (
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
)

// Config is the [plan] table of a job file (docs/planning.md). Keys left out keep their defaults.
type Config struct {
	Budget            int     `toml:"budget" json:"budget"`                         // images to generate per round
	Floor             int     `toml:"floor" json:"floor"`                           // least images per target
	Cap               int     `toml:"cap" json:"cap"`                               // most images per target; 0: none
	Temperature       float64 `toml:"temperature" json:"temperature"`               // softmax temperature over difficulty
	MaxTargets        int     `toml:"max_targets" json:"max_targets"`               // keep the hardest N targets; 0: all
	Focus             string  `toml:"focus" json:"focus,omitempty"`                 // all | classes | segments: which targets get budget
	SeverityThreshold float64 `toml:"severity_threshold" json:"severity_threshold"` // severity from which an image is "in" a condition
	// CoverWeakConditions makes a condition that is weak over all classes (WeakConditions) a
	// target in every class, not only where its segment is below its class: a degradation seen in
	// the generated images of some classes only becomes a cue for those classes (measured: blurred
	// images of six classes cost dress 17 points of validation recall, docs/efficacy-log.md, cs8).
	CoverWeakConditions bool           `toml:"cover_weak_conditions" json:"cover_weak_conditions,omitempty"`
	Weights             Weights        `toml:"weights" json:"weights"`
	Bootstrap           Bootstrap      `toml:"bootstrap" json:"bootstrap"`
	Feedback            FeedbackConfig `toml:"feedback" json:"feedback"`
	Memory              MemoryConfig   `toml:"memory" json:"memory"`
}

// Values of Config.Focus: which targets the budget goes to. FocusSegments is for a condition shift
// (the weak segments' images, not more of the classes, which the data already holds enough of);
// FocusClasses ignores the segments. A plan with no target in focus has no targets (nothing is
// generated that round).
const (
	FocusAll      = "all"
	FocusClasses  = "classes"
	FocusSegments = "segments"
)

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Budget:            1000,
		Floor:             0,
		Temperature:       0.2,
		Focus:             FocusAll,
		SeverityThreshold: DefaultSeverityThreshold,
		Weights:           DefaultWeights(),
		Bootstrap:         Bootstrap{Resamples: 1000, Seed: 1, Level: 0.95},
		Feedback:          DefaultFeedback(),
		Memory:            DefaultMemoryConfig(),
	}
}

// Validate checks every field and names the bad one.
func (c Config) Validate() error {
	switch {
	case c.Budget < 0 || c.Budget > MaxBudget:
		return fmt.Errorf("plan.budget: %d, want a value in [0, %d] (plan.MaxBudget, the most one plan may ask for)", c.Budget, MaxBudget)
	case c.Floor < 0:
		return fmt.Errorf("plan.floor: %d, want >= 0", c.Floor)
	case c.Cap < 0:
		return fmt.Errorf("plan.cap: %d, want >= 0 (0: no cap)", c.Cap)
	case c.Cap > 0 && c.Floor > c.Cap:
		return fmt.Errorf("plan.floor: %d is above plan.cap %d", c.Floor, c.Cap)
	case !(c.Temperature > 0):
		return fmt.Errorf("plan.temperature: %v, want > 0", c.Temperature)
	case c.MaxTargets < 0:
		return fmt.Errorf("plan.max_targets: %d, want >= 0 (0: all)", c.MaxTargets)
	case c.Focus != "" && c.Focus != FocusAll && c.Focus != FocusClasses && c.Focus != FocusSegments:
		return fmt.Errorf("plan.focus: %q, want %q, %q or %q", c.Focus, FocusAll, FocusClasses, FocusSegments)
	case !(c.SeverityThreshold > 0 && c.SeverityThreshold <= 1):
		return fmt.Errorf("plan.severity_threshold: %v, want in (0, 1]", c.SeverityThreshold)
	case c.Bootstrap.Level != 0 && !(c.Bootstrap.Level > 0 && c.Bootstrap.Level < 1):
		return fmt.Errorf("plan.bootstrap.level: %v, want in (0, 1)", c.Bootstrap.Level)
	}
	if err := c.Weights.Validate(); err != nil {
		return fmt.Errorf("plan.%w", err)
	}
	if err := c.Feedback.Validate(); err != nil {
		return fmt.Errorf("plan.%w", err)
	}
	return c.Memory.Validate()
}

// LoadConfig reads the [plan] table of a job file over the defaults. Other tables belong to other
// parts of the job and are ignored; an unknown key inside [plan] is an error (a typo would
// otherwise silently keep a default).
func LoadConfig(path string) (Config, error) {
	var job struct {
		Plan Config `toml:"plan"`
	}
	job.Plan = DefaultConfig()
	md, err := toml.DecodeFile(path, &job)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	for _, k := range md.Undecoded() {
		if len(k) > 0 && k[0] == "plan" {
			return Config{}, fmt.Errorf("%s: unknown key %s", path, strings.Join(k, "."))
		}
	}
	if err := job.Plan.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return job.Plan, nil
}
