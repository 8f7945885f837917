package main

import (
	"bytes"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gam-native/gam-native/bindings"
	"github.com/gam-native/gam-native/internal/testenv"
	"github.com/gam-native/gam-native/loop"
)

// capture runs the CLI with args and returns what it printed on stdout.
func capture(t *testing.T, args ...string) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	err = newApp().Run(append([]string{"gam-native"}, args...))
	w.Close()
	os.Stdout = old
	return <-done, err
}

func TestInfoSaysWhyThereIsNoGPU(t *testing.T) {
	if _, err := bindings.Open(os.Getenv("GAM_ENGINE")); err != nil {
		testenv.Missing(t, "engine not built: %v", err)
	}
	out, err := capture(t, "info")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"libtorch:", "threads:", "host memory:", "zoo:"} {
		if !strings.Contains(out, want) {
			t.Fatalf("info output lacks %q:\n%s", want, out)
		}
	}
	// Either a GPU line, or "none (REASON)" with a reason that is not empty.
	if !strings.Contains(out, "gpu 0:") && !regexp.MustCompile(`gpus:\s+none \(\S[^)]*\)`).MatchString(out) {
		t.Fatalf("neither a GPU nor the reason there is none:\n%s", out)
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range newApp().Commands {
		if c.Usage == "" {
			t.Errorf("command %s has no usage line", c.Name)
		}
	}
}

func TestPrintDefaultIsTheEmbeddedJob(t *testing.T) {
	out, err := capture(t, "run", "--print-default")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal([]byte(out), loop.DefaultJobTOML) {
		t.Fatal("--print-default differs from the embedded job")
	}
	if _, err := loop.ParseJob("printed", []byte(out)); err != nil {
		t.Fatal(err)
	}
}
