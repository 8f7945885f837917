package bindings

/*
#include "gam_dl.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Step is the pipeline's fixed-shape step: sample, the screen's forward and the fused screen's
// verdicts in one engine call with one wait for the device. On a CUDA device with graphs asked
// for, batches of exactly Batch rows replay one captured CUDA graph (gam.h, gam_step_create).
type Step struct {
	e     *Engine
	h     *C.gam_step
	Batch int
}

// StepStats says how a Step has run: graph replays, eager runs, and why it does not replay a
// graph ("" when it does, or none was asked for).
type StepStats struct {
	Replays  int64  `json:"replays"`
	Eager    int64  `json:"eager"`
	Fallback string `json:"fallback,omitempty"`
}

// NewStep makes a step of generator g and screen for batches of batch rows at probThreshold;
// graph asks for a CUDA graph (ignored, with the reason in Stats, where there is no CUDA device).
// g and screen must stay open while the step is.
func (e *Engine) NewStep(g, screen *Model, batch int, probThreshold float32, graph bool) (*Step, error) {
	var h *C.gam_step
	gr := C.int32_t(0)
	if graph {
		gr = 1
	}
	if err := e.call("step create", func() C.int32_t {
		return C.gamdl_gam_step_create(g.h, screen.h, C.int64_t(batch), C.float(probThreshold), gr, &h)
	}); err != nil {
		return nil, err
	}
	live.Add(1)
	return &Step{e: e, h: h, Batch: batch}, nil
}

// Run samples from z, y and attrs (nil: zeros) and screens the images: it returns them (engine
// memory, the caller closes them) with each row's verdict and intended-class probability.
func (s *Step) Run(z, y, attrs *Tensor) (x *Tensor, verdict []int64, prob []float32, err error) {
	shape, err := z.Shape()
	if err != nil {
		return nil, nil, nil, err
	}
	if len(shape) != 2 {
		return nil, nil, nil, fmt.Errorf("step: z must be [N, latent_dim], got %v", shape)
	}
	n := int(shape[0])
	verdict = make([]int64, n)
	prob = make([]float32, n)
	var vp *C.int64_t
	var pp *C.float
	if n > 0 {
		vp = (*C.int64_t)(unsafe.Pointer(&verdict[0]))
		pp = (*C.float)(unsafe.Pointer(&prob[0]))
	}
	var out *C.gam_tensor
	if err := s.e.call("step", func() C.int32_t {
		return C.gamdl_gam_step_run(s.h, z.ptr(), y.ptr(), attrs.ptr(), &out, vp, pp)
	}); err != nil {
		return nil, nil, nil, err
	}
	return newTensor(s.e, out), verdict, prob, nil
}

// Stats reports how the step has run so far.
func (s *Step) Stats() (StepStats, error) {
	var r, e C.int64_t
	var f *C.char
	var st StepStats
	err := s.e.call("step stats", func() C.int32_t {
		rc := C.gamdl_gam_step_stats(s.h, &r, &e, &f)
		if rc == 0 {
			st.Fallback = C.GoString(f) // the step owns f: copy it on the engine thread
		}
		return rc
	})
	st.Replays, st.Eager = int64(r), int64(e)
	return st, err
}

// Close frees the step (and its graph). Idempotent.
func (s *Step) Close() {
	if s == nil || s.h == nil {
		return
	}
	h := s.h
	s.h = nil
	live.Add(-1)
	_ = s.e.do(func() { C.gamdl_gam_step_destroy(h) })
}
