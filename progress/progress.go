// Package progress shows long work as a bar on a terminal and as periodic log lines elsewhere
// (batch jobs, CI), so the same code reads well in both.
package progress

import (
	"fmt"
	"io"
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
	if !Quiet && isTTY() {
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
	fmt.Fprintf(Out, "%s: %d/%d in %.1fs %s\n", b.desc, b.done, b.total, time.Since(b.start).Seconds(), b.note)
}

// Logf prints a log line unless Quiet.
func Logf(format string, args ...any) {
	if !Quiet {
		fmt.Fprintf(Out, format+"\n", args...)
	}
}
