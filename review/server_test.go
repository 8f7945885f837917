package review

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newTestServer(t *testing.T, dir string, opts Options) *Server {
	t.Helper()
	s, err := NewServer(dir, opts)
	must(t, err)
	return s
}

func do(s http.Handler, method, target, body string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Host = "127.0.0.1:8787"
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

var jsonHeader = map[string]string{"Content-Type": "application/json"}

func TestDecisionsSavedAndReloaded(t *testing.T) {
	dir := makeRun(t, 6)
	p := func(i int) string { return queueRecord(i).Path }
	tests := []struct {
		desc     string
		body     string
		wantCode int
		want     map[string]Decision // checked after a fresh server reloads
	}{
		{"accept one image", `{"paths":["` + p(0) + `"],"decision":"accept","reviewer":"ann"}`, 200,
			map[string]Decision{p(0): {Decision: Accept, Label: 0, Class: "t-shirt/top", Reviewer: "ann"}}},
		{"reject a selection of two", `{"paths":["` + p(1) + `","` + p(2) + `"],"decision":"reject","reviewer":"bob"}`, 200,
			map[string]Decision{p(1): {Decision: Reject, Label: 1, Class: "trouser", Reviewer: "bob"}, p(2): {Decision: Reject, Label: 2, Class: "pullover", Reviewer: "bob"}}},
		{"relabel by class name", `{"paths":["` + p(3) + `"],"decision":"relabel","class":"coat","reviewer":"ann"}`, 200,
			map[string]Decision{p(3): {Decision: Relabel, Label: 4, Class: "coat", Reviewer: "ann"}}},
		{"relabel by label number", `{"paths":["` + p(4) + `"],"decision":"relabel","label":6}`, 200,
			map[string]Decision{p(4): {Decision: Relabel, Label: 6, Class: "shirt", Reviewer: "server-default"}}},
		{"a later decision wins", `{"paths":["` + p(0) + `"],"decision":"reject","reviewer":"cy"}`, 200,
			map[string]Decision{p(0): {Decision: Reject, Label: 0, Class: "t-shirt/top", Reviewer: "cy"}}},
		{"relabel to an unknown class is refused", `{"paths":["` + p(5) + `"],"decision":"relabel","class":"hat","reviewer":"ann"}`, 400, nil},
		{"relabel without a class is refused", `{"paths":["` + p(5) + `"],"decision":"relabel","reviewer":"ann"}`, 400, nil},
		{"an unknown decision is refused", `{"paths":["` + p(5) + `"],"decision":"maybe","reviewer":"ann"}`, 400, nil},
		{"a path outside the queue is refused", `{"paths":["images/c0/nope.png"],"decision":"accept","reviewer":"ann"}`, 400, nil},
		{"unknown fields are refused", `{"paths":["` + p(5) + `"],"decision":"accept","oops":1}`, 400, nil},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			s := newTestServer(t, dir, Options{Reviewer: "server-default", Loopback: true})
			rec := do(s, "POST", "/api/decide", tc.body, jsonHeader)
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.wantCode, rec.Body)
			}
			// A fresh server reads the log back.
			s2 := newTestServer(t, dir, Options{Loopback: true})
			rec = do(s2, "GET", "/api/queue", "", nil)
			var q QueueResponse
			must(t, json.Unmarshal(rec.Body.Bytes(), &q))
			got := map[string]Decision{}
			for _, it := range q.Items {
				if it.Decision != nil {
					got[it.Path] = *it.Decision
				}
			}
			for path, want := range tc.want {
				d, ok := got[path]
				if !ok {
					t.Fatalf("no decision for %s after reload", path)
				}
				if d.Decision != want.Decision || d.Label != want.Label || d.Class != want.Class || d.Reviewer != want.Reviewer {
					t.Errorf("%s: got %+v, want %+v", path, d, want)
				}
			}
		})
	}
}

func TestPathEscapesRefused(t *testing.T) {
	dir := makeRun(t, 3)
	secret := filepath.Join(filepath.Dir(dir), filepath.Base(dir)+"-secret.png")
	must(t, os.WriteFile(secret, []byte("TOP-SECRET"), 0o644))
	t.Cleanup(func() { os.Remove(secret) })
	must(t, os.WriteFile(filepath.Join(dir, "notes.png"), []byte("RUN-LEVEL-SECRET"), 0o644))
	// A queued image that is a symlink out of the run folder.
	link := "images/c0/link.png"
	must(t, os.Symlink(secret, filepath.Join(dir, ReviewDir, filepath.FromSlash(link))))
	f, err := os.OpenFile(filepath.Join(dir, ReviewDir, PendingName), os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	r := queueRecord(0)
	r.Path = link
	line, err := r.MarshalLine()
	must(t, err)
	f.Write(line)
	f.Close()

	s := newTestServer(t, dir, Options{Loopback: true})
	good := "/img/" + queueRecord(1).Path
	tests := []struct {
		desc   string
		target string
	}{
		{"dot-dot segments", "/img/../../" + filepath.Base(secret)},
		{"dot-dot inside the path", "/img/images/../../classes.json"},
		{"encoded dot-dot", "/img/%2e%2e/%2e%2e/" + filepath.Base(secret)},
		{"upper-case encoded dot-dot", "/img/%2E%2E/notes.png"},
		{"encoded slash and dot-dot", "/img/..%2f..%2f" + filepath.Base(secret)},
		{"double-encoded dot-dot", "/img/%252e%252e/notes.png"},
		{"absolute path", "/img//etc/passwd"},
		{"encoded absolute path", "/img/%2fetc%2fpasswd"},
		{"backslash", "/img/..%5c..%5cnotes.png"},
		{"file not in the queue", "/img/../notes.png"},
		{"run file not in the queue", "/img/pending.jsonl"},
		{"symlink out of the folder", "/img/" + link},
		{"static dot-dot", "/static/../server.go"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			rec := do(s, "GET", tc.target, "", nil)
			body := rec.Body.String()
			if rec.Code == http.StatusOK || strings.Contains(body, "SECRET") || strings.Contains(body, "root:") {
				t.Fatalf("GET %s: status %d, body %.80q: not refused", tc.target, rec.Code, body)
			}
			if rec.Code < 400 || rec.Code >= 500 {
				t.Errorf("GET %s: status %d, want a 4xx refusal", tc.target, rec.Code)
			}
		})
	}
	t.Run("a queued image is served", func(t *testing.T) {
		rec := do(s, "GET", good, "", nil)
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" {
			t.Fatalf("GET %s: %d %s", good, rec.Code, rec.Header().Get("Content-Type"))
		}
	})
}

func TestStateChangesNeedToken(t *testing.T) {
	dir := makeRun(t, 2)
	body := `{"paths":["` + queueRecord(0).Path + `"],"decision":"accept","reviewer":"ann"}`
	tests := []struct {
		desc     string
		opts     Options
		method   string
		target   string
		header   map[string]string
		wantCode int
	}{
		{"no token header", Options{Token: "s3cret"}, "POST", "/api/decide", jsonHeader, 401},
		{"wrong token", Options{Token: "s3cret"}, "POST", "/api/decide", map[string]string{"Content-Type": "application/json", TokenHeader: "guess"}, 401},
		{"token in the query is not enough", Options{Token: "s3cret"}, "POST", "/api/decide?token=s3cret", jsonHeader, 401},
		{"GET cannot change state", Options{Token: "s3cret"}, "GET", "/api/decide", map[string]string{TokenHeader: "s3cret"}, 405},
		{"form post (cross-site) refused", Options{}, "POST", "/api/decide", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"cross-origin refused", Options{}, "POST", "/api/decide", map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example"}, 403},
		{"loopback server refuses a foreign Host (DNS rebinding)", Options{Loopback: true}, "POST", "/api/decide", map[string]string{"Content-Type": "application/json", "Host": "evil.example:8787"}, 403},
		{"right token accepted", Options{Token: "s3cret"}, "POST", "/api/decide", map[string]string{"Content-Type": "application/json", TokenHeader: "s3cret"}, 200},
		{"no token set, loopback, same origin accepted", Options{Loopback: true}, "POST", "/api/decide", map[string]string{"Content-Type": "application/json", "Origin": "http://127.0.0.1:8787"}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			before, err := os.ReadFile(filepath.Join(dir, ReviewDir, DecisionsName))
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			s := newTestServer(t, dir, tc.opts)
			req := httptest.NewRequest(tc.method, tc.target, strings.NewReader(body))
			req.Host = "127.0.0.1:8787"
			for k, v := range tc.header {
				if k == "Host" {
					req.Host = v
					continue
				}
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.wantCode, rec.Body)
			}
			after, _ := os.ReadFile(filepath.Join(dir, ReviewDir, DecisionsName))
			if changed := len(after) != len(before); changed != (tc.wantCode == 200) {
				t.Errorf("decisions file changed = %v with status %d", changed, rec.Code)
			}
		})
	}
}

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		desc, addr, token string
		wantErr, loopback bool
	}{
		{"IPv4 loopback without token", "127.0.0.1:8787", "", false, true},
		{"IPv6 loopback without token", "[::1]:0", "", false, true},
		{"localhost without token", "localhost:8787", "", false, true},
		{"all interfaces without token refused", ":8787", "", true, false},
		{"0.0.0.0 without token refused", "0.0.0.0:8787", "", true, false},
		{"LAN address without token refused", "192.168.1.5:8787", "", true, false},
		{"LAN address with token", "192.168.1.5:8787", "t", false, false},
		{"no port refused", "127.0.0.1", "", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			lb, err := CheckAddr(tc.addr, tc.token)
			if (err != nil) != tc.wantErr || (err == nil && lb != tc.loopback) {
				t.Fatalf("CheckAddr(%q, %q) = %v, %v", tc.addr, tc.token, lb, err)
			}
		})
	}
}

func TestPageAndAssetsServed(t *testing.T) {
	s := newTestServer(t, makeRun(t, 1), Options{Loopback: true})
	tests := []struct{ desc, target, want string }{
		{"index page", "/", "gam-native review"},
		{"script", "/static/app.js", "/api/decide"},
		{"style with pixelated images", "/static/style.css", "image-rendering: pixelated"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			rec := do(s, "GET", tc.target, "", nil)
			b, _ := io.ReadAll(rec.Body)
			if rec.Code != 200 || !strings.Contains(string(b), tc.want) {
				t.Fatalf("GET %s: %d, missing %q", tc.target, rec.Code, tc.want)
			}
			if !strings.Contains(rec.Header().Get("Content-Security-Policy"), "default-src 'self'") {
				t.Errorf("no CSP on %s", tc.target)
			}
		})
	}
}
