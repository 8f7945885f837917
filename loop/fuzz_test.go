package loop

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/BurntSushi/toml"
)

// jobSeeds are the repository's job files: the embedded default, examples/, the tests' tiny job
// and docs' TOML blocks.
func jobSeeds(f *testing.F) [][]byte {
	seeds := [][]byte{DefaultJobTOML, []byte(tinyJob), []byte(""), []byte("[loop]\nrounds = 0\n"), []byte("seed = 1\n[loop]\nrounds = 2\nroundz = 3\n")}
	for _, glob := range []string{"../examples/*.toml"} {
		ps, _ := filepath.Glob(glob)
		for _, p := range ps {
			if b, err := os.ReadFile(p); err == nil {
				seeds = append(seeds, b)
			}
		}
	}
	block := regexp.MustCompile("(?s)```toml\n(.*?)```")
	for _, p := range []string{"../docs/job.md", "../docs/planning.md"} {
		b, _ := os.ReadFile(p)
		for _, m := range block.FindAllSubmatch(b, -1) {
			seeds = append(seeds, m[1])
		}
	}
	return seeds
}

func encodeJob(t *testing.T, j Job) []byte {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(j); err != nil {
		t.Fatalf("a parsed job does not encode: %v", err)
	}
	return buf.Bytes()
}

// FuzzParseJob (issue 22, item 7): any job file either parses to a job that validates or is an
// error, never a panic; and a parsed job survives a run's save and resume: written as Prepare
// writes job.toml and read back as Resume reads it, it is the same job.
func FuzzParseJob(f *testing.F) {
	for _, s := range jobSeeds(f) {
		f.Add(s)
	}
	// A run folder's job.toml (a state.json beside it) is read as Resume reads it.
	run := f.TempDir()
	if err := os.WriteFile(filepath.Join(run, StateFile), []byte("{}"), 0o644); err != nil {
		f.Fatal(err)
	}
	runJob := filepath.Join(run, "job.toml")
	f.Fuzz(func(t *testing.T, b []byte) {
		j, err := ParseJob("fuzz.toml", b)
		if err != nil {
			return
		}
		if err := j.Validate(); err != nil {
			t.Fatalf("ParseJob accepted a job that Validate refuses: %v", err)
		}
		saved := encodeJob(t, j)
		again, err := ParseJob(runJob, saved)
		if err != nil {
			t.Fatalf("the job as a run saves it does not parse back: %v\n%s", err, saved)
		}
		if resaved := encodeJob(t, again); !bytes.Equal(saved, resaved) {
			t.Fatalf("the job changed through save and resume:\n%s\n---\n%s", saved, resaved)
		}
	})
}
