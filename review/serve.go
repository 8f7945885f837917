package review

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Serve listens on addr and serves the run folder until ctx ends. It
// refuses a non-loopback addr without a token, and writes the page's URL
// (with the token in the fragment, which browsers never send) to info.
func Serve(ctx context.Context, runDir, addr string, opts Options, info io.Writer) error {
	loopback, err := CheckAddr(addr, opts.Token)
	if err != nil {
		return err
	}
	opts.Loopback = loopback
	s, err := NewServer(runDir, opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	u := url.URL{Scheme: "http", Host: ln.Addr().String(), Path: "/"}
	if opts.Token != "" {
		u.Fragment = "token=" + opts.Token
	}
	fmt.Fprintf(info, "review: serving %s at %s\n", runDir, u.String())
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
