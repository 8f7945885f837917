package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"

	"github.com/gam-native/gam-native/data"
	"github.com/gam-native/gam-native/internal/testenv"
)

const clusterExamples = "../../examples/cluster"

// readJob parses a Job manifest strictly into the Kubernetes API types: an unknown or misspelt
// field is an error.
func readJob(t *testing.T, name string) *batchv1.Job {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(clusterExamples, name))
	if err != nil {
		t.Fatal(err)
	}
	var j batchv1.Job
	if err := yaml.UnmarshalStrict(b, &j); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if j.APIVersion != "batch/v1" || j.Kind != "Job" {
		t.Fatalf("%s: %s %s, want batch/v1 Job", name, j.APIVersion, j.Kind)
	}
	return &j
}

// TestClusterJobYAML (issue 25): docs/cluster.md's Kubernetes Jobs parse into batch/v1 types; the
// generate Job is Indexed with as many completions as the --num-shards it passes, its pods never
// restart in place, every shard writes to the shared volume the merge Job reads, and the merge
// names every shard.
func TestClusterJobYAML(t *testing.T) {
	gen := readJob(t, "k8s-generate.yaml")
	if gen.Spec.CompletionMode == nil || *gen.Spec.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("generate Job: completionMode %v, want Indexed", gen.Spec.CompletionMode)
	}
	n := int32(0)
	if gen.Spec.Completions != nil {
		n = *gen.Spec.Completions
	}
	pod := gen.Spec.Template.Spec
	if pod.RestartPolicy != "Never" {
		t.Errorf("generate Job: restartPolicy %q, want Never (backoffLimitPerIndex retries a failed index)", pod.RestartPolicy)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("generate Job: %d containers, want 1", len(pod.Containers))
	}
	cmd := strings.Join(append(pod.Containers[0].Command, pod.Containers[0].Args...), " ")
	for _, want := range []string{"gam-native generate", fmt.Sprintf("--num-shards %d", n), "$JOB_COMPLETION_INDEX"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("generate Job's command %q lacks %q", cmd, want)
		}
	}
	merge := readJob(t, "k8s-merge.yaml")
	mcmd := strings.Join(append(merge.Spec.Template.Spec.Containers[0].Command, merge.Spec.Template.Spec.Containers[0].Args...), " ")
	if !strings.Contains(mcmd, "gam-native merge") {
		t.Errorf("merge Job's command %q does not merge", mcmd)
	}
	for i := int32(0); i < n; i++ {
		if !strings.Contains(mcmd, fmt.Sprintf("shard-%d", i)) {
			t.Errorf("merge Job's command %q lacks shard %d of %d", mcmd, i, n)
		}
	}
	claim := func(j *batchv1.Job) string {
		for _, v := range j.Spec.Template.Spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				return v.PersistentVolumeClaim.ClaimName
			}
		}
		return ""
	}
	if c := claim(gen); c == "" || c != claim(merge) {
		t.Errorf("the Jobs' volumes %q and %q: want one shared claim", c, claim(merge))
	}
}

// TestClusterDocShowsTheTestedFiles: docs/cluster.md holds every file of examples/cluster as it
// is, so that the documented Jobs and scripts are the ones the tests above parse and run.
func TestClusterDocShowsTheTestedFiles(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cluster.md")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(clusterExamples, "*"))
	if len(files) < 5 {
		t.Fatalf("examples/cluster has %d files, want the 2 Jobs and 3 scripts", len(files))
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if !strings.Contains(string(doc), strings.TrimRight(string(b), "\n")) {
			t.Errorf("docs/cluster.md does not show %s as it is", filepath.Base(f))
		}
	}
}

// gamBinary is the built CLI (make test builds it first).
func gamBinary(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../build/gam-native")
	if err != nil {
		t.Fatal(err)
	}
	return testenv.NeedFile(t, p, "the gam-native binary (make build/gam-native)")
}

// TestSlurmScriptsRun (issue 25): the sbatch scripts' bodies, run here with the variables Slurm
// sets for a 2-task array, make 2 shards that the merge script joins into the plan's counts.
func TestSlurmScriptsRun(t *testing.T) {
	bin := gamBinary(t)
	e := cliEngine(t)
	tmp := t.TempDir()
	gen, screen := trainedTestModels(t, e)
	e.Close()
	work := filepath.Join(tmp, "work")
	os.MkdirAll(filepath.Join(work, "models"), 0o755)
	for src, dst := range map[string]string{gen: "generator.pt", screen: "screen.pt"} {
		if err := os.Symlink(src, filepath.Join(work, "models", dst)); err != nil {
			t.Fatal(err)
		}
	}
	const perTarget = 5
	plan := tenTargetPlan(t, tmp, perTarget)
	os.Rename(plan, filepath.Join(work, "plan.json"))
	os.WriteFile(filepath.Join(work, "job.toml"), []byte("[generate]\nbatch_size = 16\nprob_threshold = 0.3\n"), 0o644)
	run := func(script string, env ...string) {
		t.Helper()
		abs, _ := filepath.Abs(filepath.Join(clusterExamples, script))
		cmd := exec.Command("bash", abs)
		cmd.Dir = tmp
		cmd.Env = append(os.Environ(), append([]string{"GAM=" + bin, "WORK=" + work, "GAM_GENERATE_FLAGS=--seed 5 -q"}, env...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", script, env, err, out)
		}
	}
	for i := 0; i < 2; i++ {
		run("slurm-generate.sbatch", fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d", i), "SLURM_ARRAY_TASK_COUNT=2", "SLURM_ARRAY_TASK_MIN=0", "SLURM_ARRAY_JOB_ID=1")
	}
	run("slurm-merge.sbatch")
	recs, err := data.ReadManifestRecords(filepath.Join(work, "merged", data.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 10*perTarget {
		t.Errorf("merged %d images, want the plan's %d", len(recs), 10*perTarget)
	}
	for _, f := range []string{"shard-0.prom", "shard-1.prom"} {
		if _, err := os.Stat(filepath.Join(work, "shards", f)); err != nil {
			t.Errorf("the array task's metrics file: %v", err)
		}
	}
}
