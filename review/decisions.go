package review

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gam-native/gam-native/internal/atomicfile"
)

// File names inside a run folder.
const (
	ReviewDir     = "review"
	PendingName   = "pending.jsonl"
	DecisionsName = "decisions.jsonl"
	ClassesName   = "classes.json"
)

// The three decisions a reviewer can make.
const (
	Accept  = "accept"
	Reject  = "reject"
	Relabel = "relabel"
)

// Decision is one line of review/decisions.jsonl. Label and Class are the
// class the image joins the training set with (for a reject, the intended
// class, for the record).
type Decision struct {
	Path     string `json:"path"`
	Decision string `json:"decision"`
	Label    int64  `json:"label"`
	Class    string `json:"class"`
	Reviewer string `json:"reviewer"`
	Time     string `json:"time"`
}

// Validate checks a decision on its own, without the queue.
func (d *Decision) Validate() error {
	switch {
	case !validImagePath(d.Path):
		return fmt.Errorf("decision path %q must be relative, slash-separated and inside review/", d.Path)
	case d.Decision != Accept && d.Decision != Reject && d.Decision != Relabel:
		return fmt.Errorf("decision %q for %s: want %q, %q or %q", d.Decision, d.Path, Accept, Reject, Relabel)
	case d.Label < 0:
		return fmt.Errorf("decision for %s: negative label %d", d.Path, d.Label)
	case strings.TrimSpace(d.Reviewer) == "":
		return fmt.Errorf("decision for %s: no reviewer name", d.Path)
	}
	if _, err := time.Parse(time.RFC3339, d.Time); err != nil {
		return fmt.Errorf("decision for %s: time %q is not RFC3339", d.Path, d.Time)
	}
	return nil
}

// validImagePath is the manifest's rule for paths: relative, slash
// separated, no "..", no backslashes.
func validImagePath(p string) bool {
	return p != "" && p != "." && fs.ValidPath(p) && !strings.Contains(p, `\`)
}

func decisionsPath(runDir string) string {
	return filepath.Join(runDir, ReviewDir, DecisionsName)
}

// LoadDecisions reads review/decisions.jsonl; the latest line per path wins.
// A missing file is no decisions. A last line without its newline is what a
// kill during an append leaves (never acknowledged) and is ignored; any
// other bad line is an error naming its line.
func LoadDecisions(runDir string) (map[string]Decision, error) {
	out := map[string]Decision{}
	list, err := readDecisions(decisionsPath(runDir))
	for _, d := range list {
		out[d.Path] = d
	}
	return out, err
}

func readDecisions(path string) ([]Decision, error) {
	content, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	content = content[:bytes.LastIndexByte(content, '\n')+1]
	var out []Decision
	for n, line := range bytes.Split(content, []byte{'\n'}) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		d, err := parseDecision(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n+1, err)
		}
		out = append(out, d)
	}
	return out, nil
}

func parseDecision(line []byte) (Decision, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var d Decision
	if err := dec.Decode(&d); err != nil {
		return Decision{}, fmt.Errorf("not a decision: %w", err)
	}
	if dec.More() {
		return Decision{}, errors.New("not a decision: more than one value on the line")
	}
	return d, d.Validate()
}

// decisionLog appends to decisions.jsonl. Each append takes an exclusive
// flock, so the server and `review import-ls` may write at once, cuts off a
// torn tail a crash left (else the next line would be glued to it), writes
// the batch in one write and fsyncs before it returns: an acknowledged
// click survives a kill.
type decisionLog struct {
	mu   sync.Mutex
	path string
}

func newDecisionLog(runDir string) *decisionLog {
	return &decisionLog{path: decisionsPath(runDir)}
}

func (l *decisionLog) Append(ds ...Decision) error {
	if len(ds) == 0 {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i := range ds {
		if err := ds[i].Validate(); err != nil {
			return err
		}
		if err := enc.Encode(&ds[i]); err != nil {
			return err
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, statErr := os.Stat(l.path)
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("%s: lock: %w", l.path, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if errors.Is(statErr, fs.ErrNotExist) {
		// A new file's name must survive a crash too.
		if err := atomicfile.SyncDir(filepath.Dir(l.path)); err != nil {
			return err
		}
	}
	size, err := completeSize(f)
	if err != nil {
		return fmt.Errorf("%s: %w", l.path, err)
	}
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("%s: cut torn line: %w", l.path, err)
	}
	if _, err := f.WriteAt(buf.Bytes(), size); err != nil {
		f.Truncate(size)
		return fmt.Errorf("%s: append: %w", l.path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("%s: fsync: %w", l.path, err)
	}
	return nil
}

// completeSize is the file's length up to and including its last newline.
func completeSize(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	const chunk = 4096
	buf := make([]byte, chunk)
	for end := size; end > 0; {
		start := max(end-chunk, 0)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && n < int(end-start) {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// AppendDecisions appends decisions to a run's log durably (one write and
// one fsync for the batch).
func AppendDecisions(runDir string, ds ...Decision) error {
	return newDecisionLog(runDir).Append(ds...)
}

func now() string { return time.Now().UTC().Format(time.RFC3339) }
