package loop

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestBadJobsAreRefusedBeforeWriting(t *testing.T) {
	e := testEngine(t)
	fixtures := os.Getenv("GAM_FIXTURES")
	if fixtures == "" {
		fixtures = filepath.Join(filepath.Dir(filepath.Dir(filepathZoo(t))), "fixtures")
	}
	cases := []struct {
		desc, edit string
		want       []string
	}{
		{"missing data path", "[data]\nsource = \"imagefolder:/nonexistent/folder\"\n", []string{"/nonexistent/folder"}},
		{"unknown scenario", "[data]\nscenario = \"long-tale\"\n", []string{"unknown scenario \"long-tale\""}},
		{"model path that does not exist", "[models]\ngenerator = \"/nope/gen.pt\"\n", []string{"models.generator", "/nope/gen.pt"}},
		{"model breaking the contract", "[models]\ngenerator = \"" + filepath.Join(fixtures, "no_sample.pt") + "\"\n", []string{"models.generator", "missing method `sample`"}},
		{"budget of zero", "[plan]\nbudget = 0\n", []string{"plan.budget"}},
		{"negative total budget", "[loop]\nbudget_total = -5\n", []string{"loop.budget_total"}},
		{"threshold above 1", "[generate]\nprob_threshold = 1.5\n", []string{"generate.prob_threshold"}},
		{"threshold below 0", "[generate]\nconf_threshold = -0.1\n", []string{"generate.conf_threshold"}},
		{"unknown key, with its line", "seed = 1\n[loop]\nrounds = 2\nroundz = 3\n", []string{"line 4", "unknown key \"loop.roundz\""}},
		{"wrong type, with its line", "[loop]\nrounds = \"three\"\n", []string{"line 2"}},
		{"unknown data source", "[data]\nsource = \"cifar\"\n", []string{"data.source"}},
		{"unknown screen condition", "[screen_training]\nconditions = [\"fog\"]\n", []string{"screen_training.conditions", "fog"}},
		{"unknown gen_mix", "[target_training]\ngen_mix = \"blend\"\n", []string{"target_training.gen_mix"}},
		{"unknown latent source", "[generate]\nlatent = \"posterior\"\n", []string{"generate.latent"}},
		{"unknown lr schedule", "[target_training]\nlr_schedule = \"step\"\n", []string{"target_training.lr_schedule", "cosine"}},
		{"unknown generate step", "[generate]\nstep = \"cudagraph\"\n", []string{"generate.step"}},
		{"unknown plan focus", "[plan]\nfocus = \"segment\"\n", []string{"plan.focus"}},
		{"negative harm_z", "[plan.feedback]\nharm_z = -1\n", []string{"feedback.harm_z"}},
		{"transfer latents from a generator without encode", "[models]\ngenerator = \"zoo:cgan\"\n[generate]\nlatent = \"transfer\"\n",
			[]string{"generate.latent", "zoo:cgan", "encode"}},
		{"real latents from a generator without encode", "[models]\ngenerator = \"zoo:cgan\"\n[generate]\nlatent = \"real\"\n",
			[]string{"generate.latent", "zoo:cgan", "encode"}},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			out := t.TempDir()
			dir := filepath.Join(out, "run")
			p := writeJob(t, c.edit)
			job, err := LoadJob(p)
			if err == nil {
				_, err = Prepare(e, job, dir)
			}
			if err == nil {
				t.Fatal("bad job accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not say %q", err, w)
				}
			}
			if _, serr := os.Stat(dir); !os.IsNotExist(serr) {
				t.Fatalf("run folder was created for a bad job")
			}
		})
	}
}

func filepathZoo(t *testing.T) string {
	p, err := ResolveModel("zoo:cvae")
	if err != nil {
		t.Skip(err)
	}
	return filepath.Dir(p) + "/cvae.pt"
}

func TestDefaultJobParses(t *testing.T) {
	j := DefaultJob()
	if j.Data.Scenario != "long-tail" || j.Data.Params.ImbalanceFactor != 100 || j.Loop.Rounds < 1 || j.Models.Generator != "zoo:cvae" {
		t.Fatalf("default job: %+v", j)
	}
	if _, err := ParseJob("default", DefaultJobTOML); err != nil {
		t.Fatal(err)
	}
}

// The full example in docs/job.md parses: a key renamed in the code breaks this test, not a user.
func TestDocumentedJobExampleParses(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "job.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```toml\n(.*?)```").FindAllSubmatch(b, -1)
	if len(m) == 0 {
		t.Fatal("docs/job.md has no toml example")
	}
	for i, block := range m {
		if _, err := ParseJob(fmt.Sprintf("docs/job.md example %d", i+1), block[1]); err != nil {
			t.Error(err)
		}
	}
}
