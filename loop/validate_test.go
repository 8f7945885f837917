package loop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutOfRangeValuesAreRefusedAtLoad is issue 27's items 4 and 5 for the job file: one row per
// value, each refused by LoadJob (so before Prepare makes the run folder), with the key and the
// range it wants in the message. It needs no engine.
func TestOutOfRangeValuesAreRefusedAtLoad(t *testing.T) {
	cases := []struct {
		desc, edit string
		want       []string
	}{
		{"negative generator epochs", "[generator_training]\nepochs = -1\n", []string{"generator_training.epochs = -1", ">= 1"}},
		{"negative target epochs", "[target_training]\nepochs = -1\n", []string{"target_training.epochs = -1", ">= 1"}},
		{"zero screen epochs written", "[screen_training]\nepochs = 0\n", []string{"screen_training.epochs = 0", ">= 1"}},
		{"negative lr", "[target_training]\nlr = -0.001\n", []string{"target_training.lr", "finite number > 0"}},
		{"nan lr", "[screen_training]\nlr = nan\n", []string{"screen_training.lr = NaN", "finite number > 0"}},
		{"infinite lr", "[generator_training]\nlr = inf\n", []string{"line 3 (lr = inf)", "out of range"}},
		{"zero lr written", "[target_training]\nlr = 0.0\n", []string{"target_training.lr = 0", "> 0"}},
		{"negative discriminator lr", "[generator_training]\nlr_d = -1.0\n", []string{"generator_training.lr_d", "> 0"}},
		{"negative batch size", "[target_training]\nbatch_size = -4\n", []string{"target_training.batch_size = -4", ">= 1"}},
		{"zero generator batch written", "[generator_training]\nbatch_size = 0\n", []string{"generator_training.batch_size = 0", ">= 1"}},
		{"zero generate batch written", "[generate]\nbatch_size = 0\n", []string{"generate.batch_size = 0", ">= 1"}},
		{"negative generate batch", "[generate]\nbatch_size = -1\n", []string{"generate.batch_size = -1", ">= 1"}},
		{"negative seed", "seed = -3\n", []string{"seed = -3", ">= 0"}},
		{"negative bootstrap seed", "[plan.bootstrap]\nseed = -1\n", []string{"plan.bootstrap.seed = -1", ">= 0"}},
		{"negative training seed", "[target_training]\nseed = -2\n", []string{"target_training.seed = -2", ">= 0"}},
		{"negative scenario seed", "[data.scenario_params]\nseed = -1\n", []string{"data.scenario_params.seed = -1", ">= 0"}},
		{"negative train limit", "[data]\ntrain_limit = -5\n", []string{"data.train_limit = -5", ">= 0"}},
		{"negative test limit", "[data]\ntest_limit = -1\n", []string{"data.test_limit = -1", ">= 0"}},
		{"no validation images", "[data.scenario_params]\nval_per_class = 0\n", []string{"data.scenario_params.val_per_class = 0", ">= 1"}},
		{"imbalance factor below 1", "[data.scenario_params]\nimbalance_factor = 0.5\n", []string{"data.scenario_params.imbalance_factor = 0.5", ">= 1"}},
		{"scarce fraction of 0", "[data.scenario_params]\nscarce_fraction = 0.0\n", []string{"data.scenario_params.scarce_fraction = 0", "(0, 1]"}},
		{"shift fraction above 1", "[data.scenario_params]\nshift_fraction = 1.5\n", []string{"data.scenario_params.shift_fraction = 1.5", "[0, 1]"}},
		{"severity above 1", "[data.scenario_params]\nseverity_max = 2.0\n", []string{"data.scenario_params.severity_max = 2", "[0, 1]"}},
		{"severity range reversed", "[data.scenario_params]\nseverity_min = 0.8\nseverity_max = 0.4\n", []string{"data.scenario_params.severity_min = 0.8", "severity_max 0.4"}},
		{"condition probability above 1", "[generator_training]\ncond_prob = 2.0\n", []string{"generator_training.cond_prob = 2", "[0, 1]"}},
		{"negative mixup", "[target_training]\nmixup_alpha = -1.0\n", []string{"target_training.mixup_alpha = -1", ">= 0"}},
		{"negative generated weight", "[target_training]\ngen_weight = -1.0\n", []string{"target_training.gen_weight = -1", "> 0"}},
		{"plan budget above the maximum", "[plan]\nbudget = 9223372036854775807\n", []string{"plan.budget: 9223372036854775807", "[0, 1000000]"}},
		{"negative rounds (0 is set-up only)", "[loop]\nrounds = -1\n", []string{"loop.rounds = -1", ">= 1", "set-up only"}},
		{"name escaping out", "name = \"../../escape\"\n", []string{"name = \"../../escape\"", "inside out"}},
		{"name with a folder", "name = \"a/b\"\n", []string{"name = \"a/b\"", "plain folder name"}},
		{"empty name", "name = \"\"\n", []string{"name: empty"}},
		{"huge name", "name = \"" + strings.Repeat("x", 10<<20) + "\"\n", []string{"name = \"xxx", "(10485760 bytes)", "at most 128 bytes"}},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			out := t.TempDir()
			p := writeJob(t, "out = \""+out+"\"\n"+c.edit)
			_, err := LoadJob(p)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not say %q", err, w)
				}
			}
			if len(err.Error()) > 1000 {
				t.Fatalf("error is %d bytes long: a value is echoed whole", len(err.Error()))
			}
			if ents, _ := os.ReadDir(out); len(ents) > 0 {
				t.Fatalf("out holds %s after a refused job", ents[0].Name())
			}
		})
	}
	// The default values pass, so each row fails for its own key.
	if _, err := LoadJob(writeJob(t, "")); err != nil {
		t.Fatalf("the default job is refused: %v", err)
	}
}

// TestRunDirMustBeEmptyOrARun: --dir on a folder that holds other files is refused before
// anything is written into it (and before the engine is used: Prepare gets none here).
func TestRunDirMustBeEmptyOrARun(t *testing.T) {
	job := DefaultJob()
	for _, c := range []struct {
		desc  string
		files []string
		want  string
	}{
		{"a folder with a user's file", []string{"notes.txt"}, "not empty and not a run"},
		{"a folder holding a run", []string{StateFile}, "--resume"},
	} {
		t.Run(c.desc, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range c.files {
				if err := os.WriteFile(filepath.Join(dir, f), []byte("{}"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Prepare(nil, job, dir)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("Prepare on %v: %v; want an error naming %s and saying %q", c.files, err, dir, c.want)
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != len(c.files) {
				t.Fatalf("the folder holds %d entries after the refusal, had %d", len(ents), len(c.files))
			}
		})
	}
	// A run killed while Prepare was writing it (no state.json yet) is not refused.
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "models"), 0o755)
	os.WriteFile(filepath.Join(dir, "job.toml"), nil, 0o644)
	if err := checkRunDir(dir); err != nil {
		t.Fatalf("a half-prepared run folder is refused: %v", err)
	}
	if err := checkRunDir(filepath.Join(dir, "new")); err != nil {
		t.Fatalf("a new folder is refused: %v", err)
	}
}

// TestEmptyManifestIsNamed: an empty training manifest is said to be empty, not blamed on the
// test split (issue 27, item 6). LoadSplits fails before the engine is needed.
func TestEmptyManifestIsNamed(t *testing.T) {
	dir := t.TempDir()
	train, test := filepath.Join(dir, "m.jsonl"), filepath.Join(dir, "m.test.jsonl")
	os.WriteFile(train, nil, 0o644)
	os.WriteFile(test, []byte(`{"path":"a.png","class":"coat"}`+"\n"), 0o644)
	j := DefaultJob()
	j.Data.Source = "manifest:" + train
	_, err := LoadSplits(nil, &j)
	if err == nil || !strings.Contains(err.Error(), "training manifest "+train+" has no records") {
		t.Fatalf("empty training manifest: %v; want it named as empty", err)
	}
	if strings.Contains(err.Error(), "test") && !strings.Contains(err.Error(), train) {
		t.Fatalf("the error blames the test split: %v", err)
	}
}
