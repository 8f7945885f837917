package loop

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/generate"
	"github.com/gam-native/gam-native/hostres"
	"github.com/gam-native/gam-native/plan"
	"github.com/gam-native/gam-native/train"
)

// fakeHostMem is a host with a cgroup limit of limitMiB, usedMiB of it used.
func fakeHostMem(t *testing.T, limitMiB, usedMiB uint64) hostres.Host {
	root := t.TempDir()
	write := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sys/fs/cgroup/memory.max", strconv.FormatUint(limitMiB<<20, 10)+"\n")
	write("sys/fs/cgroup/memory.current", strconv.FormatUint(usedMiB<<20, 10)+"\n")
	write("proc/meminfo", "MemTotal: 67108864 kB\nMemAvailable: 67108864 kB\n")
	return hostres.Host{Root: root}
}

// run and generate size the sample/score batch from the budget when the job leaves it out, with
// the generator's image shape; [plan.memory] keys change the choice; the job's batch wins; a
// stage redone on resume takes the batch it was first given; the choices reach the report's lines.
func TestGenerateBatchFromTheBudget(t *testing.T) {
	e := testEngine(t)
	if err := e.SetDevice("cpu"); err != nil {
		t.Fatal(err)
	}
	g, err := e.LoadModel(filepath.Join(bindings.FindZoo(), "cvae.pt"), bindings.RoleGenerator)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	m := generate.Models{Generator: g}
	oldHost := budgetHost
	defer func() { budgetHost = oldHost }()
	// 1x28x28 * 4 B * 64 maps = 196 KiB a sample
	per := plan.EstimatePerSample(g.Meta.ImageShape, plan.InferMapsPerSample)
	job := func(extra string) Job {
		j, err := ParseJob("budget.toml", []byte(extra))
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	tests := []struct {
		desc       string
		host       hostres.Host
		toml       string
		want       int
		from       string
		bound      string
		wantString string
	}{
		{"the default job on a roomy host: cpu_max_batch", fakeHostMem(t, 4096, 1024), "", 128, plan.BatchFromBudget, "plan.memory.cpu_max_batch", "cgroup"},
		{"cpu_max_batch lowered", fakeHostMem(t, 4096, 1024), "[plan.memory]\ncpu_max_batch = 32\n", 32, plan.BatchFromBudget, "plan.memory.cpu_max_batch", "host"},
		// (64 - 48 MiB) * 0.8 / 196 KiB = 66
		{"a tight cgroup: memory", fakeHostMem(t, 64, 48), "", int(float64(16<<20) * 0.8 / float64(per)), plan.BatchFromBudget, "memory", "memory budget"},
		// (64 - 48 MiB) * 0.4 / 196 KiB = 33
		{"fraction halved", fakeHostMem(t, 64, 48), "[plan.memory]\nfraction = 0.4\n", int(float64(16<<20) * 0.4 / float64(per)), plan.BatchFromBudget, "memory", ""},
		// Over the budget's 128 on a host where 512 fits (on a 16 MiB one it is refused: TestBatchThatCannotFitIsRefused).
		{"the job's batch wins", fakeHostMem(t, 4096, 1024), "[generate]\nbatch_size = 512\n", 512, plan.BatchFromJob, "", "the job's batch_size"},
	}
	for _, tc := range tests {
		budgetHost = tc.host
		cfg, c, err := GenerateBatch(e, job(tc.toml), m)
		if err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		if cfg.BatchSize != tc.want || c.BatchSize != tc.want || c.From != tc.from || c.Bound != tc.bound || c.ImageShape != g.Meta.ImageShape {
			t.Errorf("%s: config batch %d, choice %+v; want %d from %s bound %q", tc.desc, cfg.BatchSize, c, tc.want, tc.from, tc.bound)
		}
		if !strings.Contains(c.String(), tc.wantString) {
			t.Errorf("%s: %q lacks %q", tc.desc, c.String(), tc.wantString)
		}
	}

	// Recorded before the stage runs; a redo (resume) takes the recorded batch even when the
	// budget would now choose another.
	r := &Runner{Job: job(""), E: e, Dir: t.TempDir()}
	budgetHost = fakeHostMem(t, 4096, 1024)
	cfg, c, err := r.sizeGenerate(1, m)
	if err != nil || cfg.BatchSize != 128 || c.BatchSize != 128 {
		t.Fatalf("%+v %+v %v", cfg, c, err)
	}
	budgetHost = fakeHostMem(t, 64, 48)
	if cfg, _, err = r.sizeGenerate(1, m); err != nil || cfg.BatchSize != 128 {
		t.Fatalf("redone stage: batch %d (%v), want the first attempt's 128", cfg.BatchSize, err)
	}
	if err := r.recordGenerate(1, c, &generate.Result{OOMRetries: 2, EngineBatch: 32}); err != nil {
		t.Fatal(err)
	}
	done := r.sizeTraining("setup/generator", "generator_training", new(int), new(*train.OOMStats), g.Meta.ImageShape)
	done()
	bs := r.reportBatches()
	if len(bs) != 2 || bs[0].Key != "setup/generator" || bs[1].Key != "r1/generate" || bs[1].OOMRetries != 2 || bs[1].FinalBatch != 32 {
		t.Fatalf("batches %+v", bs)
	}
	// 64 MiB - 48 MiB, 0.8 of it, over 1x28x28 * 4 B * 192 maps: 22, under the training default
	if bs[0].BatchSize != int(float64(16<<20)*0.8/float64(plan.EstimatePerSample(g.Meta.ImageShape, plan.TrainMapsPerSample))) || bs[0].Bound != "memory" {
		t.Fatalf("training batch %+v", bs[0])
	}
	var out bytes.Buffer
	if err := printBatches(&out, bs); err != nil || !strings.Contains(out.String(), "r1/generate generate: batch 128") ||
		!strings.Contains(out.String(), "out of memory: 2 made again, ended at 32 rows") {
		t.Fatalf("%q %v", out.String(), err)
	}
}
