package bindings

/*
#include "gam_dl.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
)

// Lanes returns n lanes of e for data-parallel work on the CPU, one lane per core, each doing
// whole batches: more engine threads on e's library, each running LibTorch's intra-op work on one
// thread of its own. The models are small: on this project's 2-core machines two one-thread lanes
// did an attempt's model work 1.7-2.2x as fast as one engine thread with two intra-op threads,
// which cost more to split each call than they saved (docs/performance.md, "Lanes on the CPU").
//
// A lane is an *Engine: tensors made on it are freed on it, and Model.On(lane) runs a model's calls
// there. Lanes are started on first use and kept until e closes, so that a lane's thread state
// (LibTorch's thread count, which is set per thread and empties oneDNN's kernel cache when it is)
// is built once per process; against lanes made per run that measured even (docs/performance.md, "Lanes on the CPU").
//
// Call release when done. From the first acquisition to the last release OpenBLAS, whose thread
// count is process-wide, runs each product on the calling thread; the last release restores its
// count. e's own intra-op count is unchanged.
func (e *Engine) Lanes(n int) (lanes []*Engine, release func(), err error) {
	if e.parent != nil {
		return nil, nil, errors.New("lanes: a lane cannot start lanes")
	}
	if n < 1 {
		return nil, nil, fmt.Errorf("lanes: want at least one lane, got %d", n)
	}
	e.laneMu.Lock()
	defer e.laneMu.Unlock()
	if len(e.lanePool) < n {
		info, err := e.Info()
		if err != nil {
			return nil, nil, err
		}
		for len(e.lanePool) < n {
			l := &Engine{Path: e.Path, calls: make(chan func(), postDepth), parent: e, open: true}
			go l.laneLoop()
			// LibTorch gives a thread its intra-op count from a process-wide value the first time
			// the thread asks for it (Info does), and SetThreads sets the calling thread's count and
			// that process-wide value; so first Info, then SetThreads on the lane, then e's count
			// back as the process-wide value (it leaves e's own thread as it was).
			if _, err = l.Info(); err == nil {
				err = l.SetThreads(1)
			}
			if err != nil {
				l.shutdown()
				return nil, nil, err
			}
			e.lanePool = append(e.lanePool, l)
		}
		if err := e.SetThreads(info.Threads); err != nil {
			return nil, nil, err
		}
	}
	e.laneUsers++
	if e.laneUsers == 1 {
		e.blasThreads = int(C.gamdl_blas_threads(-1))
		C.gamdl_blas_threads(1)
	}
	var once bool
	release = func() {
		e.laneMu.Lock()
		defer e.laneMu.Unlock()
		if once {
			return
		}
		once = true
		e.laneUsers--
		if e.laneUsers == 0 && e.blasThreads > 0 {
			C.gamdl_blas_threads(C.int(e.blasThreads))
		}
	}
	return append([]*Engine(nil), e.lanePool[:n]...), release, nil
}

func (e *Engine) laneLoop() {
	runtime.LockOSThread()
	for f := range e.calls {
		f()
	}
}

// closeLanes stops e's lanes (Close of e).
func (e *Engine) closeLanes() {
	e.laneMu.Lock()
	pool := e.lanePool
	e.lanePool = nil
	e.laneMu.Unlock()
	for _, l := range pool {
		l.shutdown()
	}
}

// BLASThreads is OpenBLAS's thread count now, or 0 when LibTorch does not use OpenBLAS.
func BLASThreads() int { return max(int(C.gamdl_blas_threads(-1)), 0) }

// On returns m bound to engine (a lane of m's engine): the same loaded model, its calls run on
// that engine's thread. Closing the view does nothing; close m when every view is done.
func (m *Model) On(engine *Engine) *Model {
	return &Model{e: engine, h: m.h, Path: m.Path, Meta: m.Meta, view: true}
}
