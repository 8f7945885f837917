package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/gam-native/gam-native/generate"
)

// PeerResult is what peer.py prints.
type PeerResult struct {
	TorchVersion   string       `json:"torch_version"`
	Python         string       `json:"python"`
	Threads        int          `json:"threads"`
	InteropThreads int          `json:"interop_threads"`
	Device         string       `json:"device"`
	Figures        []PeerFigure `json:"figures"`
	Script         string       `json:"script"`
	Interpreter    string       `json:"interpreter"`
}

// PeerFigure is one of the peer's figures.
type PeerFigure struct {
	Name  string             `json:"name"`
	Batch int                `json:"batch"`
	Unit  string             `json:"unit"`
	Extra map[string]float64 `json:"extra,omitempty"`
	Stats
}

// findPeerScript looks for bench/peer.py beside the binary's repository or in the working
// directory and its parents.
func findPeerScript(explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	var cands []string
	if exe, err := os.Executable(); err == nil {
		d := filepath.Dir(exe)
		cands = append(cands, filepath.Join(d, "peer.py"), filepath.Join(d, "..", "bench", "peer.py"))
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		cands = append(cands, filepath.Join(filepath.Dir(file), "peer.py"))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			cands = append(cands, filepath.Join(d, "bench", "peer.py"))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, c := range cands {
		if exists(c) {
			return filepath.Clean(c), nil
		}
	}
	return "", errors.New("bench/peer.py not found (pass --peer-script)")
}

// runPeer writes peer.py's config (same models, batch sizes, thresholds, targets and thread
// count as the engine) and runs it.
func (s *suite) runPeer(ctx context.Context) (*PeerResult, error) {
	script, err := findPeerScript(s.o.PeerScript)
	if err != nil {
		return nil, err
	}
	path, err := writeTempJSON(s.peerConfig())
	if err != nil {
		return nil, err
	}
	defer os.Remove(path)
	s.o.Logf("bench: peer: %s %s (%d threads)", s.o.Python, script, s.res.Engine.Threads)
	cmd := exec.CommandContext(ctx, s.o.Python, script, path)
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	// The peer must not inherit a larger OpenMP/MKL default than the threads it is given.
	cmd.Env = append(os.Environ(), fmt.Sprintf("OMP_NUM_THREADS=%d", s.res.Engine.Threads))
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", s.o.Python, script, err, lastLines(errb.String(), 5))
	}
	var pr PeerResult
	if err := json.Unmarshal(out.Bytes(), &pr); err != nil {
		return nil, fmt.Errorf("peer output: %w: %q", err, lastLines(out.String(), 3))
	}
	pr.Script, pr.Interpreter = script, s.o.Python
	return &pr, nil
}

// peerConfig is peer.py's config: the same models, batch sizes, thresholds, targets and thread
// count as the engine's.
func (s *suite) peerConfig() map[string]any {
	dev := "cpu"
	if s.gpu {
		dev = "cuda"
	}
	cfgD := generate.DefaultConfig()
	var pb []int
	for _, f := range s.res.Figures {
		if f.Name == "pipeline" {
			pb = append(pb, f.Batch)
		}
	}
	return map[string]any{
		"generator": s.res.Models.Generator, "screen": s.res.Models.Screen, "device": dev,
		"threads": s.res.Engine.Threads, "batches": s.o.Batches, "pipeline_batches": pb,
		"warmup": s.o.Warmup, "repeat": s.o.Repeat, "min_time_s": s.o.MinTime.Seconds(),
		"prob_threshold": s.probThr, "conf_raw_thresholds": rawThresholds(s.cal, s.gen.Meta.NumClasses, s.confThr),
		"temperature": cfgD.Temperature, "max_attempts": cfgD.MaxAttempts,
		"targets": targets(s.gen.Meta.NumClasses, s.o.Accepted),
	}
}

// writeTempJSON writes v to a new temporary file and returns its path; the caller removes it.
func writeTempJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp("", "gam-peer-*.json")
	if err != nil {
		return "", err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// poolPeers merges the peer's rounds like poolRounds: each figure's runs pooled.
func poolPeers(ps []*PeerResult) *PeerResult {
	out := *ps[0]
	rounds := make([][]PeerFigure, len(ps))
	for i, p := range ps {
		rounds[i] = p.Figures
	}
	out.Figures = pool(rounds, func(f *PeerFigure) string { return fmt.Sprintf("%s@%d", f.Name, f.Batch) },
		func(f *PeerFigure) *Stats { return &f.Stats }, nil)
	return &out
}

// mergePeer puts the peer's figures beside ours and computes gam-native / peer.
func mergePeer(r *Result, p *PeerResult) {
	for _, pf := range p.Figures {
		names := []string{pf.Name}
		if pf.Name == "pipeline" {
			names = append(names, "pipeline_dirsink")
		}
		for _, name := range names {
			if f := r.Find(name, pf.Batch); f != nil {
				st := pf.Stats
				f.Peer = &st
				if st.Median > 0 {
					f.Ratio = f.Median / st.Median
				}
				if pf.Extra != nil {
					if f.Extra == nil {
						f.Extra = map[string]float64{}
					}
					for k, v := range pf.Extra {
						f.Extra["peer_"+k] = v
					}
				}
			}
		}
	}
}
