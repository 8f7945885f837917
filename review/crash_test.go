package review

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startChild runs this test binary as a review server on dir and returns
// its base URL.
func startChild(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GAM_REVIEW_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	must(t, err)
	cmd.Stderr = os.Stderr
	must(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := regexp.MustCompile(`http://\S+/`).FindString(sc.Text()); m != "" {
				urls <- strings.TrimSuffix(m, "/")
				return
			}
		}
		close(urls)
	}()
	select {
	case u, ok := <-urls:
		if !ok {
			t.Fatal("child server exited before printing its URL")
		}
		return cmd, u
	case <-time.After(20 * time.Second):
		t.Fatal("child server did not start")
	}
	return nil, ""
}

func postDecision(t *testing.T, base, body string) {
	t.Helper()
	resp, err := http.Post(base+"/api/decide", "application/json", strings.NewReader(body))
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST: status %d", resp.StatusCode)
	}
}

func TestKillBetweenClicksLosesNothing(t *testing.T) {
	tests := []struct {
		desc       string
		tornTail   bool // the kill also left half a line behind
		first, sec string
	}{
		{"plain kill between two clicks", false, Accept, Reject},
		{"kill that left a torn line", true, Reject, Accept},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			dir := makeRun(t, 4)
			a, b := queueRecord(0).Path, queueRecord(1).Path
			cmd, base := startChild(t, dir)
			postDecision(t, base, `{"paths":["`+a+`"],"decision":"`+tc.first+`","reviewer":"ann"}`)
			must(t, cmd.Process.Signal(syscall.SIGKILL))
			cmd.Wait()
			if tc.tornTail {
				f, err := os.OpenFile(filepath.Join(dir, ReviewDir, DecisionsName), os.O_APPEND|os.O_WRONLY, 0)
				must(t, err)
				f.WriteString(`{"path":"images/c2/r1_t2_000002.png","decision":"acc`)
				f.Close()
			}
			_, base = startChild(t, dir)
			postDecision(t, base, `{"paths":["`+b+`"],"decision":"`+tc.sec+`","reviewer":"ann"}`)
			ds, err := LoadDecisions(dir)
			must(t, err)
			if len(ds) != 2 || ds[a].Decision != tc.first || ds[b].Decision != tc.sec {
				t.Fatalf("after kill and restart: %+v", ds)
			}
		})
	}
}
