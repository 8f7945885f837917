package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"
)

// Paired ratios. The two targets are ratios: the pipeline over the ceiling (efficiency)
// and the pipeline over the peer. Measured as separate figures, minutes apart, each ratio took
// the machine's load at two different moments: on this shared 2-core box the batch-64 ceiling
// moved 1.9x between rounds of one run and the peer 1.6x between runs, while our pipeline stayed
// within 10% (docs/performance.md, "Rounds and paired ratios"). So each timed run of the pipeline
// figure is paired with one ceiling run and one peer run taken right beside it, in alternating
// order (even runs: ceiling, ours, peer; odd runs: peer, ours, ceiling), and each ratio is the
// median of its pairs' ratios. A slow spell then slows both sides of a pair.

// ceilingOnce times one ceiling_forward run (sample + screen forward, back to back) at the
// ceiling's best batch, in images per second.
func (s *suite) ceilingOnce() (float64, error) {
	n := s.ceilBS
	b, err := s.batch(n)
	if err != nil {
		return 0, err
	}
	call, sync, done := s.timedOp(s.forwardOp(b))
	defer done()
	// One call first: the call after a pipeline run rebuilds what the run's lanes dropped
	// (oneDNN's primitive cache is cleared when a thread count is set) and is not the ceiling.
	st, err := rate(n, 1, 1, s.o.MinTime, call, sync)
	return st.Median, err
}

// peerServer is peer.py in serve mode: one end-to-end run per request.
type peerServer struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
	cfg string
}

// peerRun is one of the peer's answers.
type peerRun struct {
	Accepted int     `json:"accepted"`
	Attempts int     `json:"attempts"`
	Seconds  float64 `json:"seconds"`
	Ready    bool    `json:"ready"`
}

// startPeer starts peer.py in serve mode with the same config as runPeer's.
func (s *suite) startPeer(ctx context.Context) (*peerServer, error) {
	script, err := findPeerScript(s.o.PeerScript)
	if err != nil {
		return nil, err
	}
	cfg := s.peerConfig()
	cfg["serve"] = true
	path, err := writeTempJSON(cfg)
	if err != nil {
		return nil, err
	}
	p := &peerServer{cfg: path}
	p.cmd = exec.CommandContext(ctx, s.o.Python, script, path)
	p.cmd.Env = append(os.Environ(), fmt.Sprintf("OMP_NUM_THREADS=%d", s.res.Engine.Threads))
	p.cmd.Stderr = io.Discard
	if p.in, err = p.cmd.StdinPipe(); err != nil {
		os.Remove(path)
		return nil, err
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	p.out = bufio.NewScanner(stdout)
	if err := p.cmd.Start(); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("%s %s: %w", s.o.Python, script, err)
	}
	if _, err := p.read(); err != nil {
		p.Close()
		return nil, fmt.Errorf("%s %s (serve): %w", s.o.Python, script, err)
	}
	return p, nil
}

func (p *peerServer) read() (peerRun, error) {
	var r peerRun
	if !p.out.Scan() {
		if err := p.out.Err(); err != nil {
			return r, err
		}
		return r, fmt.Errorf("the peer exited")
	}
	if err := json.Unmarshal(p.out.Bytes(), &r); err != nil {
		return r, fmt.Errorf("peer answer %q: %w", p.out.Text(), err)
	}
	return r, nil
}

// Once runs the peer's pipeline once at batch n and returns its accepted images per second.
func (p *peerServer) Once(n int) (float64, error) {
	if _, err := fmt.Fprintf(p.in, "%d\n", n); err != nil {
		return 0, err
	}
	r, err := p.read()
	if err != nil {
		return 0, err
	}
	if r.Seconds <= 0 {
		return 0, fmt.Errorf("peer run of %v s", r.Seconds)
	}
	return float64(r.Accepted) / r.Seconds, nil
}

// Close ends the peer (EOF on its stdin) and waits for it, at most 10 s.
func (p *peerServer) Close() {
	if p == nil {
		return
	}
	p.in.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
	os.Remove(p.cfg)
}

// pairs collects one pipeline figure's paired ratios.
type pairs struct {
	eff, ceil, peer, peerRate []float64
}

// around runs ours (one timed pipeline run, returning its attempts/s and accepted/s) between a
// ceiling run and a peer run (either may be skipped), in the order that timed run r takes. A peer
// that fails is closed and dropped (*peer = nil): the rest of the figure goes on unpaired with it.
func (s *suite) around(r, n int, peer **peerServer, pr *pairs, ours func() (att, acc float64, err error)) error {
	var ceil, peerAcc float64
	first, last := func() (err error) {
		if s.ceilBS > 0 {
			ceil, err = s.ceilingOnce()
		}
		return err
	}, func() error {
		if *peer == nil {
			return nil
		}
		var err error
		if peerAcc, err = (*peer).Once(n); err != nil {
			s.o.Logf("bench: pipeline: the paired peer failed (%v); going on without it", err)
			(*peer).Close()
			*peer, peerAcc = nil, 0
		}
		return nil
	}
	if r%2 == 1 {
		first, last = last, first
	}
	if err := first(); err != nil {
		return err
	}
	att, acc, err := ours()
	if err != nil {
		return err
	}
	if err := last(); err != nil {
		return err
	}
	if ceil > 0 && att > 0 {
		pr.eff, pr.ceil = append(pr.eff, att/ceil), append(pr.ceil, ceil)
	}
	if peerAcc > 0 {
		pr.peer = append(pr.peer, acc/peerAcc)
		pr.peerRate = append(pr.peerRate, peerAcc)
	}
	return nil
}
