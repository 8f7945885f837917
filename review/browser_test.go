package review

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// browser starts headless Chromium (Debian's package) for one test, or
// skips when it is not installed, unless GAM_REQUIRE_BROWSER=1.
func browser(t *testing.T, width, height int) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("GAM_REQUIRE_BROWSER") == "1" {
			t.Fatalf("GAM_REQUIRE_BROWSER=1 but %s is missing (apt-get install chromium)", chromiumPath)
		}
		t.Skipf("%s not installed (apt-get install chromium)", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	return bctx
}

// decidedCount waits until the page shows n decided cards.
func decidedCount(n int) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[bool](fmt.Sprintf(`document.querySelectorAll('.card[data-decision]').length >= %d`, n),
			chromedp.WithPollingTimeout(15*time.Second))(ctx, tg)
		return err
	})
}

func TestBrowserReview(t *testing.T) {
	ctx := browser(t, 1200, 900)
	dir := makeRun(t, 8)
	s, err := NewServer(dir, Options{Loopback: true})
	must(t, err)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)

	queue, err := readQueue(dir)
	must(t, err)
	relabelTo := "bag"
	if queue[3].Class == relabelTo {
		relabelTo = "coat"
	}
	// Focus starts on the most uncertain image and moves to the next
	// undecided one after each decision.
	want := map[string]string{queue[0].Path: Accept, queue[1].Path: Accept, queue[2].Path: Reject, queue[3].Path: Relabel}

	must(t, chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(`body[data-ready="1"] .card`),
		chromedp.SendKeys(`#reviewer`, "tess"),
		chromedp.Blur(`#reviewer`),
		chromedp.KeyEvent("a"), decidedCount(1),
		chromedp.KeyEvent("j"), chromedp.KeyEvent("k"), // move away and back: focus stays on the next undecided
		chromedp.KeyEvent("a"), decidedCount(2),
		chromedp.KeyEvent("r"), decidedCount(3),
		chromedp.KeyEvent("l"),
		chromedp.WaitVisible(`#picker-classes button[data-class="`+relabelTo+`"]`),
		chromedp.Click(`#picker-classes button[data-class="`+relabelTo+`"]`),
		decidedCount(4),
		chromedp.Reload(),
		chromedp.WaitVisible(`body[data-ready="1"] .card`),
	))
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll('.card[data-decision]')].map(c => [c.dataset.path, c.dataset.decision]))`))
	must(t, err)
	progress, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('progress-text').textContent`))
	must(t, err)
	saved, err := LoadDecisions(dir)
	must(t, err)
	accepted, rejected, err := Resolved(dir, nil)
	must(t, err)

	tests := []struct {
		desc string
		ok   bool
	}{
		{"the reloaded page shows four decisions", len(shown) == 4},
		{"the progress reads 4 / 8", progress == "4 / 8 reviewed"},
		{"the log holds four decisions", len(saved) == 4},
		{"Resolved has three accepted or relabeled and one rejected", len(accepted) == 3 && len(rejected) == 1 && rejected[0] == queue[2].Path},
		{"the relabel carries the picked class", saved[queue[3].Path].Class == relabelTo},
		{"the reviewer's name is recorded", saved[queue[0].Path].Reviewer == "tess"},
	}
	for p, d := range want {
		tests = append(tests, struct {
			desc string
			ok   bool
		}{"page and log agree: " + d + " " + p, shown[p] == d && saved[p].Decision == d})
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if !tc.ok {
				t.Fatalf("page %v, progress %q, log %+v, accepted %d, rejected %v", shown, progress, saved, len(accepted), rejected)
			}
		})
	}
}
