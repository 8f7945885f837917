package review

import (
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gam-native/gam-native/data"
)

//go:embed assets
var assets embed.FS

// TokenHeader carries the token on state-changing requests.
const TokenHeader = "X-Review-Token"

// maxBody bounds a decision request: a selection of a few thousand paths.
const maxBody = 4 << 20

// Options configure a review server.
type Options struct {
	// Token, when set, is required (in TokenHeader) on every request that
	// changes state. It must be set when the server listens off loopback.
	Token string
	// Reviewer is the name recorded when a request names none.
	Reviewer string
	// Loopback says the server listens on loopback only; then requests
	// must name a loopback host, which stops DNS-rebinding pages.
	Loopback bool
	// Log receives one line per decision batch; nil is silent.
	Log *log.Logger
}

// Server serves one run folder's review queue.
type Server struct {
	runDir string
	opts   Options
	log    *decisionLog
	mux    *http.ServeMux
}

// NewServer checks the run folder and builds the handler.
func NewServer(runDir string, opts Options) (*Server, error) {
	st, err := os.Stat(filepath.Join(runDir, ReviewDir))
	if err != nil {
		return nil, fmt.Errorf("run folder %s: %w", runDir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a folder", filepath.Join(runDir, ReviewDir))
	}
	if _, err := LoadClasses(runDir); err != nil {
		return nil, err
	}
	s := &Server{runDir: runDir, opts: opts, log: newDecisionLog(runDir), mux: http.NewServeMux()}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, err
	}
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /{$}", s.index)
	s.mux.HandleFunc("GET /api/queue", s.queue)
	s.mux.HandleFunc("POST /api/decide", s.decide)
	s.mux.HandleFunc("GET /img/{path...}", s.image)
	return s, nil
}

// CheckAddr refuses to listen off loopback without a token, and says
// whether addr is loopback.
func CheckAddr(addr, token string) (loopback bool, err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("address %q: %w", addr, err)
	}
	loopback = isLoopbackHost(host)
	if !loopback && token == "" {
		return false, fmt.Errorf("address %q is not loopback: give --token (or GAM_REVIEW_TOKEN) so that only holders of it can change decisions", addr)
	}
	return loopback, nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ServeHTTP screens every request before routing: paths that try to leave
// a folder are refused outright (the mux would only redirect them), and on
// loopback the Host must be loopback.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
	if escapes(r.URL) {
		http.Error(w, "path refused", http.StatusBadRequest)
		return
	}
	if s.opts.Loopback {
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		if !isLoopbackHost(strings.Trim(host, "[]")) {
			http.Error(w, "host refused", http.StatusForbidden)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// escapes reports a request path with "..", backslashes, empty segments
// (an absolute path after a prefix) or NUL, decoded or not.
func escapes(u *url.URL) bool {
	for _, p := range []string{u.Path, u.EscapedPath(), u.RawPath} {
		if p == "" {
			continue
		}
		if dec, err := url.PathUnescape(p); err == nil {
			p = dec
		} else {
			return true
		}
		if strings.ContainsAny(p, "\\\x00") || strings.Contains(p, "//") {
			return true
		}
		if slices.Contains(strings.Split(p, "/"), "..") || slices.Contains(strings.Split(p, "/"), ".") {
			return true
		}
	}
	return false
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	b, err := assets.ReadFile("assets/index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

// Item is one queue entry as the page sees it.
type Item struct {
	Path       string            `json:"path"`
	Label      int64             `json:"label"`
	Class      string            `json:"class"`
	Confidence *float32          `json:"confidence,omitempty"`
	ScreenProb *float32          `json:"screen_prob,omitempty"`
	Target     string            `json:"target,omitempty"`
	Round      int               `json:"round"`
	Generator  string            `json:"generator,omitempty"`
	Conditions map[string]string `json:"conditions,omitempty"`
	Decision   *Decision         `json:"decision,omitempty"`
}

// QueueResponse is GET /api/queue.
type QueueResponse struct {
	Classes       []string       `json:"classes"`
	Items         []Item         `json:"items"`
	Total         int            `json:"total"`
	Reviewed      int            `json:"reviewed"`
	Counts        map[string]int `json:"counts"`
	Reviewer      string         `json:"reviewer"`
	TokenRequired bool           `json:"token_required"`
}

func (s *Server) load() ([]string, []data.Record, map[string]Decision, error) {
	classes, err := LoadClasses(s.runDir)
	if err != nil {
		return nil, nil, nil, err
	}
	recs, err := readQueue(s.runDir)
	if err != nil {
		return nil, nil, nil, err
	}
	ds, err := LoadDecisions(s.runDir)
	return classes, recs, ds, err
}

func (s *Server) queue(w http.ResponseWriter, r *http.Request) {
	classes, recs, ds, err := s.load()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	resp := QueueResponse{Classes: classes, Items: make([]Item, 0, len(recs)), Total: len(recs),
		Counts: map[string]int{Accept: 0, Reject: 0, Relabel: 0}, Reviewer: s.opts.Reviewer, TokenRequired: s.opts.Token != ""}
	for _, rec := range recs {
		it := Item{Path: rec.Path, Label: rec.Label, Class: rec.Class}
		if label, class, err := resolveClass(rec.Label, rec.Class, classes); err == nil {
			it.Label, it.Class = label, class
		}
		if p := rec.Provenance; p != nil {
			conf, sp := p.Confidence, p.ScreenProb
			it.Confidence, it.ScreenProb = &conf, &sp
			it.Target, it.Round, it.Generator, it.Conditions = p.Target, p.Round, p.Generator, p.Conditions
		}
		if d, ok := ds[rec.Path]; ok {
			it.Decision = &d
			resp.Reviewed++
			resp.Counts[d.Decision]++
		}
		resp.Items = append(resp.Items, it)
	}
	writeJSON(w, http.StatusOK, resp)
}

// DecideRequest is POST /api/decide: one decision for a selection.
type DecideRequest struct {
	Paths    []string `json:"paths"`
	Decision string   `json:"decision"`
	// Class (or Label) is the new class of a relabel.
	Class    string `json:"class,omitempty"`
	Label    *int64 `json:"label,omitempty"`
	Reviewer string `json:"reviewer,omitempty"`
}

// DecideResponse lists the decisions written.
type DecideResponse struct {
	Saved []Decision `json:"saved"`
}

func (s *Server) decide(w http.ResponseWriter, r *http.Request) {
	if s.opts.Token != "" {
		got := r.Header.Get(TokenHeader)
		if subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.Token)) != 1 {
			http.Error(w, "missing or wrong token", http.StatusUnauthorized)
			return
		}
	}
	// A JSON content type cannot be sent cross-site without a CORS
	// preflight, which this server never answers: no form-post CSRF.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		http.Error(w, "want Content-Type: application/json", http.StatusUnsupportedMediaType)
		return
	}
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
	}
	var req DecideRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
			http.Error(w, fmt.Sprintf("request body over %d bytes: send fewer paths per request", maxBody), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	classes, recs, _, err := s.load()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	reviewer := cmpOr(strings.TrimSpace(req.Reviewer), s.opts.Reviewer)
	ds, err := buildDecisions(req, recs, classes, reviewer)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := s.log.Append(ds...); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if s.opts.Log != nil {
		s.opts.Log.Printf("%s: %s %d image(s)", reviewer, req.Decision, len(ds))
	}
	writeJSON(w, http.StatusOK, DecideResponse{Saved: ds})
}

// quoted is s quoted for a message, cut to 64 bytes: a request's multi-megabyte value is not
// echoed whole.
func quoted(s string) string {
	if len(s) > 64 {
		return fmt.Sprintf("%q... (%d bytes)", s[:64], len(s))
	}
	return fmt.Sprintf("%q", s)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// buildDecisions turns a request into checked decision lines.
func buildDecisions(req DecideRequest, recs []data.Record, classes []string, reviewer string) ([]Decision, error) {
	if len(req.Paths) == 0 {
		return nil, errors.New("no paths")
	}
	if reviewer == "" {
		return nil, errors.New("no reviewer name: give one in the page (or start the server with --reviewer)")
	}
	byPath := make(map[string]*data.Record, len(recs))
	for i := range recs {
		byPath[recs[i].Path] = &recs[i]
	}
	var newLabel int64
	var newClass string
	switch req.Decision {
	case Accept, Reject:
	case Relabel:
		label := int64(data.NoLabel)
		if req.Label != nil {
			label = *req.Label
		}
		if req.Class == "" && req.Label == nil {
			return nil, errors.New("relabel needs a class")
		}
		var err error
		if newLabel, newClass, err = resolveClass(label, req.Class, classes); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("decision %s: want %q, %q or %q", quoted(req.Decision), Accept, Reject, Relabel)
	}
	t := now()
	out := make([]Decision, 0, len(req.Paths))
	// A path named twice in one request gets one decision: the same line again would only grow
	// decisions.jsonl (a request naming one image 1,000 times wrote 1,000 lines).
	seen := make(map[string]bool, len(req.Paths))
	for _, p := range req.Paths {
		rec, ok := byPath[p]
		if !ok {
			return nil, fmt.Errorf("%s is not in the review queue", quoted(p))
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		d := Decision{Path: p, Decision: req.Decision, Reviewer: reviewer, Time: t}
		if req.Decision == Relabel {
			d.Label, d.Class = newLabel, newClass
		} else {
			label, class, err := resolveClass(rec.Label, rec.Class, classes)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			d.Label, d.Class = label, class
		}
		out = append(out, d)
	}
	return out, nil
}

// image serves review/<path> for a path in the queue, opened through an
// os.Root so that no symlink can lead outside the review folder.
func (s *Server) image(w http.ResponseWriter, r *http.Request) {
	p := r.PathValue("path")
	if !validImagePath(p) || path.Clean(p) != p {
		http.Error(w, "path refused", http.StatusBadRequest)
		return
	}
	recs, err := readQueue(s.runDir)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if !slices.ContainsFunc(recs, func(r data.Record) bool { return r.Path == p }) {
		http.NotFound(w, r)
		return
	}
	ct, ok := imageTypes[strings.ToLower(path.Ext(p))]
	if !ok {
		http.Error(w, "not a raster image", http.StatusForbidden)
		return
	}
	root, err := os.OpenRoot(filepath.Join(s.runDir, ReviewDir))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer root.Close()
	// The root keeps a symlink from leaving review/, but one inside it (images/c0/x.png ->
	// ../../pending.jsonl) would still serve another of the folder's files as an image: no link
	// anywhere on the path is followed.
	if hasSymlink(root, p) {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	f, err := root.Open(filepath.FromSlash(p))
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", ct)
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// hasSymlink reports whether any element of the slash-separated path p under root is a symbolic
// link (or cannot be looked at).
func hasSymlink(root *os.Root, p string) bool {
	parts := strings.Split(p, "/")
	for i := range parts {
		st, err := root.Lstat(filepath.Join(parts[:i+1]...))
		if err != nil || st.Mode()&fs.ModeSymlink != 0 {
			return true
		}
	}
	return false
}

// imageTypes are the types served; no SVG, which can carry script.
var imageTypes = map[string]string{".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}
