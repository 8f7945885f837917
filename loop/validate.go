package loop

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/gam-native/gam-native/internal/dirlock"
	"github.com/gam-native/gam-native/train"
)

// MaxNameLen is the longest job name accepted (it becomes part of the run folder's name).
const MaxNameLen = 128

// quoted is s quoted for a message, cut to 64 bytes: a 10 MB value is not echoed whole.
func quoted(s string) string {
	if len(s) > 64 {
		return fmt.Sprintf("%q... (%d bytes)", s[:64], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// checkNumbers is the range of every numeric key that no package's own Validate covers, so that a
// job is refused at load, before its run folder exists, with the key and the range it wants.
// Zero keeps a training key's default (train.*Options.Defaults); a zero written in the file is
// refused by checkGiven.
func (j *Job) checkNumbers() error {
	if err := checkName(j.Name); err != nil {
		return err
	}
	d, p := j.Data, j.Data.Params
	switch {
	case d.TrainLimit < 0:
		return fmt.Errorf("data.train_limit = %d: want >= 0 (0: all)", d.TrainLimit)
	case d.TestLimit < 0:
		return fmt.Errorf("data.test_limit = %d: want >= 0 (0: all)", d.TestLimit)
	case p.Seed < 0:
		return fmt.Errorf("data.scenario_params.seed = %d: want >= 0", p.Seed)
	case p.ValPerClass < 1:
		return fmt.Errorf("data.scenario_params.val_per_class = %d: want >= 1", p.ValPerClass)
	case !(p.ImbalanceFactor >= 1) || math.IsInf(p.ImbalanceFactor, 0):
		return fmt.Errorf("data.scenario_params.imbalance_factor = %v: want a finite number >= 1", p.ImbalanceFactor)
	case !(p.ScarceFraction > 0 && p.ScarceFraction <= 1):
		return fmt.Errorf("data.scenario_params.scarce_fraction = %v: want a value in (0, 1]", p.ScarceFraction)
	case !(p.ShiftFraction >= 0 && p.ShiftFraction <= 1):
		return fmt.Errorf("data.scenario_params.shift_fraction = %v: want a value in [0, 1]", p.ShiftFraction)
	case !(p.SeverityMin >= 0 && p.SeverityMin <= 1):
		return fmt.Errorf("data.scenario_params.severity_min = %v: want a value in [0, 1]", p.SeverityMin)
	case !(p.SeverityMax >= 0 && p.SeverityMax <= 1):
		return fmt.Errorf("data.scenario_params.severity_max = %v: want a value in [0, 1]", p.SeverityMax)
	case p.SeverityMin > p.SeverityMax:
		return fmt.Errorf("data.scenario_params.severity_min = %v: above severity_max %v", p.SeverityMin, p.SeverityMax)
	}
	g := j.GeneratorTraining
	if err := checkTraining("generator_training", g.Epochs, g.BatchSize, g.LR); err != nil {
		return err
	}
	switch {
	case !finiteAtLeast0(float64(g.LRD)):
		return fmt.Errorf("generator_training.lr_d = %v: want a finite number > 0 (0 or left out: lr)", g.LRD)
	case !(g.CondProb >= 0 && g.CondProb <= 1):
		return fmt.Errorf("generator_training.cond_prob = %v: want a value in [0, 1]", g.CondProb)
	}
	for _, s := range []struct {
		key string
		o   train.ClassifierOptions
	}{{"screen_training", j.ScreenTraining}, {"target_training", j.TargetTraining}} {
		if err := checkTraining(s.key, s.o.Epochs, s.o.BatchSize, s.o.LR); err != nil {
			return err
		}
		switch {
		case !finiteAtLeast0(s.o.MixupAlpha):
			return fmt.Errorf("%s.mixup_alpha = %v: want a finite number >= 0 (0: no mixup)", s.key, s.o.MixupAlpha)
		case !finiteAtLeast0(float64(s.o.GenWeight)):
			return fmt.Errorf("%s.gen_weight = %v: want a finite number > 0 (0 or left out: 1)", s.key, s.o.GenWeight)
		}
	}
	if s := j.Generate; !finiteAtLeast0(float64(s.SearchLR)) || !finiteAtLeast0(float64(s.SearchPull)) {
		return fmt.Errorf("generate.search_lr = %v, search_pull = %v: want finite numbers >= 0", s.SearchLR, s.SearchPull)
	}
	return nil
}

func finiteAtLeast0(v float64) bool { return v >= 0 && !math.IsInf(v, 0) }

// checkTraining: epochs and batch_size >= 1 (0: the default), lr finite and > 0 (0: the default).
func checkTraining(key string, epochs, batch int, lr float32) error {
	switch {
	case epochs < 0:
		return fmt.Errorf("%s.epochs = %d: want >= 1", key, epochs)
	case batch < 0:
		return fmt.Errorf("%s.batch_size = %d: want >= 1", key, batch)
	case !finiteAtLeast0(float64(lr)):
		return fmt.Errorf("%s.lr = %v: want a finite number > 0", key, lr)
	}
	return nil
}

// checkName keeps the run folder OUT/NAME-TIMESTAMP inside out: a plain folder name.
func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("name: empty; want a folder name (the run folder is OUT/NAME-TIMESTAMP)")
	case len(name) > MaxNameLen:
		return fmt.Errorf("name = %s: want at most %d bytes", quoted(name), MaxNameLen)
	case strings.ContainsAny(name, `/\`) || name == "." || name == ".." || strings.HasPrefix(name, "..") || strings.ContainsRune(name, 0):
		return fmt.Errorf("name = %s: want a plain folder name, without \"/\" or a leading \"..\" (the run folder OUT/NAME-TIMESTAMP must stay inside out)", quoted(name))
	}
	return nil
}

// checkGiven refuses what a file wrote that decoding hides: a zero written for a key whose zero
// means "the default" (epochs = 0 would silently train for the default number of epochs), and a
// negative number for an unsigned key (seed = -3 would become 2^64 - 3).
func checkGiven(md toml.MetaData, raw map[string]any, zeros bool) error {
	for _, k := range []struct {
		key  []string
		want string
	}{
		{[]string{"generator_training", "epochs"}, ">= 1"},
		{[]string{"generator_training", "batch_size"}, ">= 1"},
		{[]string{"generator_training", "lr"}, "a finite number > 0"},
		{[]string{"screen_training", "epochs"}, ">= 1"},
		{[]string{"screen_training", "batch_size"}, ">= 1"},
		{[]string{"screen_training", "lr"}, "a finite number > 0"},
		{[]string{"target_training", "epochs"}, ">= 1"},
		{[]string{"target_training", "batch_size"}, ">= 1"},
		{[]string{"target_training", "lr"}, "a finite number > 0"},
		{[]string{"generate", "batch_size"}, ">= 1"},
	} {
		if zeros && md.IsDefined(k.key...) && isZero(lookup(raw, k.key)) {
			return fmt.Errorf("%s = 0: want %s (leave the key out for the default)", strings.Join(k.key, "."), k.want)
		}
	}
	return negativeUnsigned(reflect.TypeOf(Job{}), raw, "")
}

func lookup(raw map[string]any, key []string) any {
	var v any = raw
	for _, k := range key {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func isZero(v any) bool {
	switch x := v.(type) {
	case int64:
		return x == 0
	case float64:
		return x == 0
	}
	return false
}

// negativeUnsigned walks t's toml keys alongside raw and names the first unsigned one written as
// a negative number.
func negativeUnsigned(t reflect.Type, raw map[string]any, prefix string) error {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		v, ok := raw[name]
		if !ok {
			continue
		}
		switch f.Type.Kind() {
		case reflect.Struct:
			if m, ok := v.(map[string]any); ok {
				if err := negativeUnsigned(f.Type, m, prefix+name+"."); err != nil {
					return err
				}
			}
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if n, ok := v.(int64); ok && n < 0 {
				return fmt.Errorf("%s%s = %d: want >= 0", prefix, name, n)
			}
		}
	}
	return nil
}

// checkRunDir: --dir must be new, empty, or a run killed while Prepare was writing it (no
// state.json yet); one that holds a run is refused with a pointer to --resume, and a folder with
// other files in it is not written into.
func checkRunDir(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, StateFile)); err == nil {
		return fmt.Errorf("run folder %s already holds a run: use --resume %s", dir, dir)
	}
	ents, err := os.ReadDir(dir)
	switch {
	case os.IsNotExist(err):
		return nil
	case err != nil:
		return fmt.Errorf("run folder %s: %w", dir, err)
	}
	for _, e := range ents {
		// What Prepare writes before state.json: a run killed while it was being prepared.
		if n := e.Name(); n != dirlock.Name && n != "models" && n != "job.toml" && n != "classes.json" && !strings.HasPrefix(n, ".job") && !strings.HasPrefix(n, ".classes.json") && !strings.HasPrefix(n, ".state.json") {
			return fmt.Errorf("run folder %s: not empty and not a run (it holds %s): want a new or empty folder", dir, quoted(n))
		}
	}
	return nil
}
