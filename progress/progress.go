// Package progress shows long work as a bar on a terminal and as periodic log lines elsewhere
// (batch jobs, CI), so the same code reads well in both.
package progress

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Out is where bars and log lines go; tests may redirect it.
var Out io.Writer = os.Stderr

// Quiet silences all progress output (for tests and --quiet).
var Quiet = false

// JSON makes every line a JSON object (log/slog's JSON handler: time, level, msg, and for bars
// task, done, total, note, seconds), for log collectors; bars are never drawn. Set by
// --log-format json.
var JSON = false

// SetFormat sets the log format by name: "text" (the default) or "json".
func SetFormat(name string) error {
	switch name {
	case "", "text":
		JSON = false
	case "json":
		JSON = true
	default:
		return fmt.Errorf("log format %q: want text or json", name)
	}
	return nil
}

// jsonLine writes one slog JSON record to Out.
func jsonLine(msg string, attrs ...slog.Attr) {
	h := slog.NewJSONHandler(Out, nil)
	r := slog.NewRecord(time.Now(), slog.LevelInfo, msg, 0)
	r.AddAttrs(attrs...)
	_ = h.Handle(context.Background(), r)
}

// Bar counts work done out of a total.
type Bar struct {
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	desc  string
	total int64
	done  int64
	last  time.Time
	start time.Time
	note  string
}

// every is how often a non-terminal run logs a line.
const every = 10 * time.Second

func isTTY() bool {
	f, ok := Out.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// New starts a bar over total units described by desc.
func New(total int, desc string) *Bar {
	b := &Bar{desc: desc, total: int64(total), start: time.Now(), last: time.Now()}
	if !Quiet && !JSON && isTTY() {
		b.bar = progressbar.NewOptions64(int64(total),
			progressbar.OptionSetWriter(Out), progressbar.OptionSetDescription(desc),
			progressbar.OptionShowCount(), progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	return b
}

// Add records n more units done; note (may be empty) is shown beside the bar, e.g. the loss.
func (b *Bar) Add(n int, note string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done += int64(n)
	if note != "" {
		b.note = note
	}
	if Quiet {
		return
	}
	if b.bar != nil {
		if note != "" {
			b.bar.Describe(b.desc + " " + note)
		}
		_ = b.bar.Add(n)
		return
	}
	if time.Since(b.last) >= every {
		b.last = time.Now()
		if JSON {
			jsonLine("progress", slog.String("task", b.desc), slog.Int64("done", b.done), slog.Int64("total", b.total), slog.String("note", b.note))
			return
		}
		fmt.Fprintf(Out, "%s: %d/%d %s\n", b.desc, b.done, b.total, b.note)
	}
}

// Done finishes the bar and prints one summary line.
func (b *Bar) Done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if Quiet {
		return
	}
	if b.bar != nil {
		_ = b.bar.Finish()
	}
	if JSON {
		jsonLine("done", slog.String("task", b.desc), slog.Int64("done", b.done), slog.Int64("total", b.total),
			slog.String("note", b.note), slog.Float64("seconds", time.Since(b.start).Seconds()))
		return
	}
	fmt.Fprintf(Out, "%s: %d/%d in %.1fs %s\n", b.desc, b.done, b.total, time.Since(b.start).Seconds(), b.note)
}

// Logf prints a log line unless Quiet (with JSON, a record whose msg is the line).
func Logf(format string, args ...any) {
	if Quiet {
		return
	}
	if JSON {
		jsonLine(fmt.Sprintf(format, args...))
		return
	}
	fmt.Fprintf(Out, format+"\n", args...)
}
