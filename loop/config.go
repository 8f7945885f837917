// Package loop is gam-native's closed loop: train the target classifier, measure it per class
// and segment, plan, generate and screen, add what passed, retrain, measure the change and feed
// it back, round after round, in a run folder that a killed run resumes from.
package loop

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/generate"
	"github.com/gam-native/gam-native/plan"
	"github.com/gam-native/gam-native/train"
)

//go:embed default.toml
var DefaultJobTOML []byte

// Job is a job file (docs/job.md documents every key).
type Job struct {
	Name   string `toml:"name"`
	Seed   uint64 `toml:"seed"`
	Out    string `toml:"out"`
	Device string `toml:"device"`

	Data struct {
		Source   string        `toml:"source"`
		Path     string        `toml:"path"`
		Scenario string        `toml:"scenario"`
		Params   data.Scenario `toml:"scenario_params"`
		// TrainLimit keeps at most this many training images (after the scenario); 0: all.
		TrainLimit int `toml:"train_limit"`
		TestLimit  int `toml:"test_limit"`
		// ImageSize is [H, W]: an imagefolder's images of another size are resized to it. Left out:
		// the most common size of train/.
		ImageSize []int `toml:"image_size,omitempty"`
	} `toml:"data"`

	Models struct {
		Generator      string `toml:"generator"`
		Target         string `toml:"target"`
		Screen         string `toml:"screen"`
		TrainGenerator bool   `toml:"train_generator"`
		TrainScreen    bool   `toml:"train_screen"`
	} `toml:"models"`

	GeneratorTraining train.GeneratorOptions  `toml:"generator_training"`
	ScreenTraining    train.ClassifierOptions `toml:"screen_training"`
	TargetTraining    train.ClassifierOptions `toml:"target_training"`
	Plan              plan.Config             `toml:"plan"`
	Generate          generate.Config         `toml:"generate"`

	Loop struct {
		Rounds      int `toml:"rounds"`
		BudgetTotal int `toml:"budget_total"`
		Patience    int `toml:"patience"`
		// Select is how a round's model is kept: SelectBest (the highest validation balanced
		// accuracy) or SelectSignificant (only when it beats the kept model beyond chance on the
		// validation images: plan.ComparePaired's Better).
		Select string `toml:"select"`
	} `toml:"loop"`
}

// Round selection rules (loop.select).
const (
	SelectBest        = "best"
	SelectSignificant = "significant"
)

// defaults is the job every file is decoded over: the embedded default, then the packages' own.
func defaults() Job {
	var j Job
	j.Data.Params = data.DefaultScenario()
	j.Plan = plan.DefaultConfig()
	j.Generate = generate.DefaultConfig()
	if _, err := toml.Decode(string(DefaultJobTOML), &j); err != nil {
		panic("embedded default job: " + err.Error())
	}
	return j
}

// DefaultJob is the embedded default job.
func DefaultJob() Job { return defaults() }

// LoadJob reads a job file over the defaults. Unknown keys and wrong types are errors naming the
// key and its line.
func LoadJob(path string) (Job, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Job{}, fmt.Errorf("job %s: %w", path, err)
	}
	return ParseJob(path, b)
}

// ParseJob is LoadJob on bytes; name is used in messages.
func ParseJob(name string, b []byte) (Job, error) { return ParseJobOver(defaults(), name, b) }

// ParseJobOver is ParseJob over base instead of the defaults: keys in b replace base's values,
// keys left out keep them (the efficacy benchmark's --gam-job applies a file over its GAM job).
func ParseJobOver(base Job, name string, b []byte) (Job, error) {
	j := base
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&j)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return Job{}, fmt.Errorf("job %s: line %d%s: %s", name, pe.Position.Line, sourceLine(b, pe.Position.Line), pe.Message)
		}
		return Job{}, fmt.Errorf("job %s: %w", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		key := und[0].String()
		return Job{}, fmt.Errorf("job %s: line %d: unknown key %q", name, lineOf(b, und[0]), key)
	}
	var raw map[string]any
	if _, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&raw); err != nil {
		return Job{}, fmt.Errorf("job %s: %w", name, err)
	}
	// A run's own job.toml (written by Prepare) holds every key, zeros included: only a user's
	// file has its written zeros refused.
	if err := checkGiven(md, raw, !writtenByRun(name)); err != nil {
		return Job{}, fmt.Errorf("job %s: %w", name, err)
	}
	if err := j.Validate(); err != nil {
		return Job{}, fmt.Errorf("job %s: %w", name, err)
	}
	return j, nil
}

// writtenByRun reports whether name is a run folder's job.toml (a state.json beside it).
func writtenByRun(name string) bool {
	if filepath.Base(name) != "job.toml" {
		return false
	}
	_, err := os.Stat(filepath.Join(filepath.Dir(name), StateFile))
	return err == nil
}

// sourceLine is " (TEXT)" for line n of b, cut to 80 bytes, so a type error names its key.
func sourceLine(b []byte, n int) string {
	lines := bytes.Split(b, []byte("\n"))
	if n < 1 || n > len(lines) {
		return ""
	}
	l := strings.TrimSpace(string(lines[n-1]))
	if len(l) > 80 {
		l = l[:80] + "..."
	}
	if l == "" {
		return ""
	}
	return " (" + l + ")"
}

// lineOf finds the line where key is set: its last part inside its table's section.
func lineOf(b []byte, key toml.Key) int {
	table := strings.Join(key[:len(key)-1], ".")
	last := regexp.QuoteMeta(key[len(key)-1])
	keyRe := regexp.MustCompile(`^\s*("?)` + last + `("?)\s*=`)
	sect := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			sect = strings.Trim(line, "[] ")
			if sect == strings.Join(key, ".") {
				return n
			}
			continue
		}
		if sect == table && keyRe.MatchString(line) {
			return n
		}
	}
	return 0
}

// ScreenConditions are the conditions the screen is trained on when screen_training.conditions is
// not set: with a condition-shift scenario, its conditions, so that the screen can judge the
// degraded images that the plan asks for (a screen trained on clean images rejects nearly all
// of them on label); none otherwise.
func (j *Job) ScreenConditions() []string { return ScreenConditions(j.Data.Scenario, j.Data.Params) }

// ScreenConditions is Job.ScreenConditions for a scenario name and its parameters (the efficacy
// benchmark trains its shared screen with it).
func ScreenConditions(scenario string, params data.Scenario) []string {
	if !strings.Contains(scenario, data.ShiftScenario) {
		return nil
	}
	if len(params.Conditions) > 0 {
		return params.Conditions
	}
	return data.DefaultScenario().Conditions
}

// Validate checks the fields the loop itself owns and asks each package to check its table.
func (j *Job) Validate() error {
	switch {
	case j.Data.Source == "":
		return errors.New("data.source: empty; want fashion-mnist, fashion-mnist-rgb, mnist, idx:DIR, imagefolder:DIR or manifest:FILE")
	case j.Models.Generator == "" || j.Models.Target == "" || j.Models.Screen == "":
		return errors.New("models: generator, target and screen are all required (zoo:NAME or a file)")
	case j.Loop.Rounds < 0:
		return fmt.Errorf("loop.rounds = %d: want >= 1 (or 0: set-up only, the trained generator and screen)", j.Loop.Rounds)
	case j.Plan.Budget <= 0:
		return fmt.Errorf("plan.budget = %d: want > 0 images per round", j.Plan.Budget)
	case j.Loop.BudgetTotal < 0:
		return fmt.Errorf("loop.budget_total = %d: want > 0 (or 0 for rounds x plan.budget)", j.Loop.BudgetTotal)
	case j.Loop.Patience < 0:
		return fmt.Errorf("loop.patience = %d: want >= 0", j.Loop.Patience)
	case j.Loop.Select != "" && j.Loop.Select != SelectBest && j.Loop.Select != SelectSignificant:
		return fmt.Errorf("loop.select = %q: want %q or %q", j.Loop.Select, SelectBest, SelectSignificant)
	case j.TargetTraining.GenFraction < 0 || j.TargetTraining.GenFraction > 1:
		return fmt.Errorf("target_training.gen_fraction = %v: want a value in [0, 1]", j.TargetTraining.GenFraction)
	case j.TargetTraining.GenMix != "" && j.TargetTraining.GenMix != train.GenMixFixed && j.TargetTraining.GenMix != train.GenMixUnion && j.TargetTraining.GenMix != train.GenMixReplace:
		return fmt.Errorf("target_training.gen_mix = %q: want %q, %q or %q", j.TargetTraining.GenMix, train.GenMixFixed, train.GenMixUnion, train.GenMixReplace)
	}
	if err := j.checkNumbers(); err != nil {
		return err
	}
	if err := j.Plan.Validate(); err != nil {
		return err
	}
	if err := j.Generate.Validate(); err != nil {
		return err
	}
	for _, s := range []struct{ key, v string }{{"screen_training.sampling", j.ScreenTraining.Sampling}, {"target_training.sampling", j.TargetTraining.Sampling}} {
		if s.v != "" && s.v != train.SampleUniform && s.v != train.SampleBalanced {
			return fmt.Errorf("%s = %q: want %q or %q", s.key, s.v, train.SampleUniform, train.SampleBalanced)
		}
	}
	for _, s := range []struct {
		key string
		o   train.ClassifierOptions
	}{{"screen_training", j.ScreenTraining}, {"target_training", j.TargetTraining}} {
		for _, c := range s.o.Conditions {
			if _, err := bindings.ParseCondition(c); err != nil {
				return fmt.Errorf("%s.conditions: %w", s.key, err)
			}
		}
		if s.o.CondProb < 0 || s.o.CondProb > 1 {
			return fmt.Errorf("%s.cond_prob = %v: want a value in [0, 1]", s.key, s.o.CondProb)
		}
		if err := train.CheckLRSchedule(s.o.LRSchedule); err != nil {
			return fmt.Errorf("%s.lr_schedule = %w", s.key, err)
		}
	}
	kind, _, err := parseSource(j.Data.Source)
	if err != nil {
		return err
	}
	if sz := j.Data.ImageSize; sz != nil {
		switch {
		case len(sz) != 2 || sz[0] < 8 || sz[1] < 8 || sz[0] > 4096 || sz[1] > 4096:
			return fmt.Errorf("data.image_size = %v: want [H, W], each from 8 to 4096 pixels", sz)
		case kind != "imagefolder" && kind != "manifest":
			return fmt.Errorf("data.image_size = %v: only imagefolder:DIR and manifest:FILE sources are resized (data.source is %q)", sz, j.Data.Source)
		}
	}
	return nil
}

// PlanConditions are the conditions a run's plans can target: its scenario's, with condition-shift
// (the validation segments the plan reads come from them); none otherwise.
func (j *Job) PlanConditions() []string { return ScreenConditions(j.Data.Scenario, j.Data.Params) }

// parseSource splits "kind:arg".
func parseSource(s string) (kind, arg string, err error) {
	kind, arg, _ = strings.Cut(s, ":")
	switch kind {
	case "fashion-mnist", "fashion-mnist-rgb", "mnist", "idx", "imagefolder", "manifest":
		if (kind == "idx" || kind == "imagefolder" || kind == "manifest") && arg == "" {
			return "", "", fmt.Errorf("data.source = %q: %s needs a path (%s:PATH)", s, kind, kind)
		}
		return kind, arg, nil
	}
	return "", "", fmt.Errorf("data.source = %q: want fashion-mnist, fashion-mnist-rgb, mnist, idx:DIR, imagefolder:DIR or manifest:FILE", s)
}
