package review

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 27, item 6: the review server's and the Label Studio import's small faults.

// TestSymlinkInsideReviewNotServed: a queued image that is a link to another file of review/
// (pending.jsonl) is not served, nor is one under a linked folder; os.Root alone allowed both.
func TestSymlinkInsideReviewNotServed(t *testing.T) {
	dir := makeRun(t, 3)
	rd := filepath.Join(dir, ReviewDir)
	must(t, os.Symlink(filepath.Join("..", "..", PendingName), filepath.Join(rd, "images", "c0", "inner.png")))
	must(t, os.Symlink("c0", filepath.Join(rd, "images", "linked")))
	real := queueRecord(0)
	f, err := os.OpenFile(filepath.Join(rd, PendingName), os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	for _, p := range []string{"images/c0/inner.png", "images/linked/" + filepath.Base(real.Path)} {
		r := queueRecord(1)
		r.Path = p
		line, err := r.MarshalLine()
		must(t, err)
		f.Write(line)
	}
	f.Close()
	s := newTestServer(t, dir, Options{Loopback: true})
	for _, tc := range []struct{ desc, path string }{
		{"a link to pending.jsonl", "images/c0/inner.png"},
		{"an image under a linked folder", "images/linked/" + filepath.Base(real.Path)},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			rec := do(s, "GET", "/img/"+tc.path, "", nil)
			if rec.Code == http.StatusOK || strings.Contains(rec.Body.String(), `"path"`) {
				t.Fatalf("GET %s: status %d, body %.80q: served", tc.path, rec.Code, rec.Body.String())
			}
		})
	}
	if rec := do(s, "GET", "/img/"+real.Path, "", nil); rec.Code != http.StatusOK {
		t.Fatalf("the real image: status %d", rec.Code)
	}
}

// TestOversizeDecideBodyIs413: a body over the limit is "too large", not "400 unexpected EOF",
// and writes nothing.
func TestOversizeDecideBodyIs413(t *testing.T) {
	dir := makeRun(t, 2)
	s := newTestServer(t, dir, Options{Loopback: true})
	body := `{"paths":["` + queueRecord(0).Path + `"],"decision":"accept","reviewer":"` + strings.Repeat("x", maxBody+1) + `"}`
	rec := do(s, "POST", "/api/decide", body, jsonHeader)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d (%.100s), want 413", rec.Code, rec.Body.String())
	}
	if rec.Body.Len() > 200 {
		t.Fatalf("the answer is %d bytes: the body is echoed", rec.Body.Len())
	}
	if ds, _ := LoadDecisions(dir); len(ds) != 0 {
		t.Fatalf("%d decisions written", len(ds))
	}
}

// TestLongValuesNotEchoed: a multi-megabyte value in a decide request (a decision, a class, a
// path) is cut in the error, not sent back whole.
func TestLongValuesNotEchoed(t *testing.T) {
	dir := makeRun(t, 2)
	s := newTestServer(t, dir, Options{Loopback: true})
	long := strings.Repeat("y", 3<<20)
	p := queueRecord(0).Path
	for _, tc := range []struct{ desc, body string }{
		{"decision", `{"paths":["` + p + `"],"decision":"` + long + `","reviewer":"ann"}`},
		{"relabel class", `{"paths":["` + p + `"],"decision":"relabel","class":"` + long + `","reviewer":"ann"}`},
		{"path", `{"paths":["` + long + `"],"decision":"accept","reviewer":"ann"}`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			rec := do(s, "POST", "/api/decide", tc.body, jsonHeader)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", rec.Code)
			}
			if rec.Body.Len() > 300 || !strings.Contains(rec.Body.String(), "bytes)") {
				t.Fatalf("the answer is %d bytes (%.120s): want the value cut", rec.Body.Len(), rec.Body.String())
			}
		})
	}
}

// TestRepeatedPathWritesOneLine: one request naming the same image 1,000 times writes one
// decision line.
func TestRepeatedPathWritesOneLine(t *testing.T) {
	dir := makeRun(t, 2)
	s := newTestServer(t, dir, Options{Loopback: true})
	p := `"` + queueRecord(0).Path + `"`
	body := `{"paths":[` + strings.TrimSuffix(strings.Repeat(p+",", 1000), ",") + `,"` + queueRecord(1).Path + `"],"decision":"reject","reviewer":"ann"}`
	rec := do(s, "POST", "/api/decide", body, jsonHeader)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	b, err := os.ReadFile(filepath.Join(dir, ReviewDir, DecisionsName))
	must(t, err)
	if n := bytes.Count(b, []byte("\n")); n != 2 {
		t.Fatalf("decisions.jsonl has %d lines, want 2 (one per image)", n)
	}
}

// TestImportLSRefusesBadTimes: an annotation's updated_at (or created_at) that is not a time is
// an error naming the task and the field, not the current time.
func TestImportLSRefusesBadTimes(t *testing.T) {
	dir := makeRun(t, 2)
	p := queueRecord(0).Path
	for _, tc := range []struct{ desc, stamps, want string }{
		{"bad updated_at", `"created_at":"2025-03-09T21:52:49Z","updated_at":"yesterday"`, `updated_at = "yesterday"`},
		{"bad created_at", `"created_at":"09/03/2025"`, `created_at = "09/03/2025"`},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			export := `[{"id":7,"data":{"image":"x","gam_path":"` + p + `"},"annotations":[{"id":3,` + tc.stamps +
				`,"result":[{"from_name":"choice","to_name":"image","type":"choices","value":{"choices":["` + queueRecord(0).Class + `"]}}],"was_cancelled":false}]}]`
			f := filepath.Join(t.TempDir(), "export.json")
			must(t, os.WriteFile(f, []byte(export), 0o644))
			_, err := ImportLS(dir, f, "ann")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "task 0 (id 7)") {
				t.Fatalf("err = %v, want one naming the task and saying %s", err, tc.want)
			}
			if ds, _ := LoadDecisions(dir); len(ds) != 0 {
				t.Fatalf("a refused import wrote %d decisions", len(ds))
			}
		})
	}
}
