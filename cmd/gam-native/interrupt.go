package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes (docs/job.md "Exit codes"; the commands' --help says them too).
const (
	exitError = 1 // any error: a bad input, a failed stage, a full disk
	// exitShortfall: `generate` wrote its images, but a target got fewer than its count (and
	// --allow-shortfall was not given).
	exitShortfall = 3
	// A command interrupted by SIGINT or SIGTERM exits 128 + the signal's number, as a shell
	// reports a process the signal ended: 130 (SIGINT) or 143 (SIGTERM). What was finished is
	// kept; `run --resume DIR` or the same `generate` again completes the work.
	exitSIGINT  = 128 + int(syscall.SIGINT)
	exitSIGTERM = 128 + int(syscall.SIGTERM)
)

const exitCodesHelp = "Exit codes: 0 done; 1 error; 130 (SIGINT) or 143 (SIGTERM) interrupted: nothing half-done is\n" +
	"recorded as done, and running the same command again (run: --resume DIR) finishes the work."

const exitShortfallHelp = "Exit code 3 (generate): a shortfall, a target got fewer images than its count (the images made\n" +
	"are written); --allow-shortfall makes it 0."

// shortfallError is a `generate` that wrote its images but fell short of a quota.
type shortfallError struct{ targets []string }

func (s *shortfallError) Error() string {
	return fmt.Sprintf("short of the plan's counts (exit %d; --allow-shortfall accepts it): %s", exitShortfall, strings.Join(s.targets, ", "))
}

// interrupted is the cause of a context cancelled by a signal.
type interrupted struct{ sig os.Signal }

func (i *interrupted) Error() string { return fmt.Sprintf("interrupted by %v", i.sig) }

// Is makes an interruption a context.Canceled for errors.Is, whichever error carries it.
func (i *interrupted) Is(target error) bool { return target == context.Canceled }

// signalContext is cancelled, with an *interrupted cause, on the first SIGINT or SIGTERM; a
// second signal is left to the default handler (it ends the process at once).
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			signal.Stop(ch)
			cancel(&interrupted{sig: s})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// withCause adds the signal to an error that ctx's cancellation caused.
func withCause(ctx context.Context, err error) error {
	var in *interrupted
	if err == nil || !errors.Is(err, context.Canceled) || errors.As(err, &in) {
		return err
	}
	if cause := context.Cause(ctx); errors.As(cause, &in) {
		return fmt.Errorf("%w (%w)", err, in)
	}
	return err
}

// exitCode maps a command's error to the process's exit status.
func exitCode(err error) int {
	var in *interrupted
	var sf *shortfallError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &sf):
		return exitShortfall
	case errors.As(err, &in) && in.sig == syscall.SIGTERM:
		return exitSIGTERM
	case errors.As(err, &in), errors.Is(err, context.Canceled):
		return exitSIGINT
	}
	return exitError
}
