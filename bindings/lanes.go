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

// NewLanes starts n lanes: more engine threads on e's library, each running LibTorch's intra-op
// work on threads threads of its own (usually 1), for data-parallel work on the CPU, one lane per
// core, each doing whole batches. On this project's 2-core machines two one-thread lanes ran the
// pipeline's model work about 2x as fast as one engine thread with two intra-op threads: the
// models are small, and splitting each call over two threads costs more than it saves
// (bench/NOTES.md, "Lanes").
//
// A lane is an *Engine: tensors made on it are freed on it, and Model.On(lane) runs a model's
// calls there. While any lane is open OpenBLAS, whose thread count is process-wide, runs each
// product on the calling thread; the last lane to close restores its count. Close every lane;
// a handle made on a lane may outlive it (its calls then run on e's thread). e's own thread
// count is unchanged.
func (e *Engine) NewLanes(n, threads int) ([]*Engine, error) {
	if e.parent != nil {
		return nil, errors.New("lanes: a lane cannot start lanes")
	}
	if n < 1 || threads < 1 {
		return nil, fmt.Errorf("lanes: want at least one lane of at least one thread, got %d of %d", n, threads)
	}
	info, err := e.Info()
	if err != nil {
		return nil, err
	}
	var lanes []*Engine
	fail := func(err error) ([]*Engine, error) {
		for _, l := range lanes {
			l.Close()
		}
		return nil, err
	}
	for i := 0; i < n; i++ {
		l := &Engine{Path: e.Path, calls: make(chan func(), postDepth), parent: e, open: true}
		go l.laneLoop()
		e.laneOpened()
		lanes = append(lanes, l)
		// LibTorch gives a thread its intra-op count from a process-wide value the first time the
		// thread asks for it (Info does), and SetThreads sets the calling thread's count and that
		// process-wide value; so first Info, then SetThreads on the lane, then e's count back as
		// the process-wide value (it leaves e's own thread as it was).
		if _, err := l.Info(); err != nil {
			return fail(err)
		}
		if err := l.SetThreads(threads); err != nil {
			return fail(err)
		}
	}
	if err := e.SetThreads(info.Threads); err != nil {
		return fail(err)
	}
	return lanes, nil
}

func (e *Engine) laneLoop() {
	runtime.LockOSThread()
	for f := range e.calls {
		f()
	}
}

// laneOpened and laneClosed count e's open lanes: OpenBLAS runs one thread per product from the
// first lane opened until the last is closed.
func (e *Engine) laneOpened() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lanes++
	if e.lanes == 1 {
		e.blasThreads = int(C.gamdl_blas_threads(-1))
		C.gamdl_blas_threads(1)
	}
}

func (e *Engine) laneClosed() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lanes--
	if e.lanes == 0 && e.blasThreads > 0 {
		C.gamdl_blas_threads(C.int(e.blasThreads))
	}
}

// BLASThreads is OpenBLAS's thread count now, or 0 when LibTorch does not use OpenBLAS.
func BLASThreads() int { return max(int(C.gamdl_blas_threads(-1)), 0) }

// On returns m bound to engine (a lane of m's engine): the same loaded model, its calls run on
// that engine's thread. Closing the view does nothing; close m when every view is done.
func (m *Model) On(engine *Engine) *Model {
	return &Model{e: engine, h: m.h, Path: m.Path, Meta: m.Meta, view: true}
}
