package bindings

/*
#include <stdlib.h>
#include "gam_dl.h"
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// live counts open handles of every kind, so tests and benchmarks can see leaks.
var live atomic.Int64

// LiveHandles is the number of tensor, model, trainer, step and future handles not yet closed.
func LiveHandles() int64 { return live.Load() }

// Tensor is a tensor in engine memory (on the GPU when the engine uses one). Go moves these
// handles between stages; pixels cross to Go only through F32/I64 copies.
type Tensor struct {
	e *Engine
	h *C.gam_tensor
}

func newTensor(e *Engine, h *C.gam_tensor) *Tensor {
	t := &Tensor{e: e, h: h}
	live.Add(1)
	runtime.SetFinalizer(t, func(t *Tensor) {
		if t.h != nil {
			fmt.Fprintln(os.Stderr, "gam-native: leak: a Tensor was garbage-collected without Close")
		}
	})
	return t
}

// Close frees the tensor. Idempotent.
func (t *Tensor) Close() {
	if t == nil || t.h == nil {
		return
	}
	h := t.h
	t.h = nil
	live.Add(-1)
	// Queued, not waited on: the pipeline frees a dozen handles per batch, and a round trip to the
	// engine thread costs more than the free (docs/performance.md, "Freeing a tensor does not wait"). Later engine calls run after it.
	t.e.post(func() { C.gamdl_gam_tensor_destroy(h) })
}

// CloseAll closes every tensor given (nil ones are skipped).
func CloseAll(ts ...*Tensor) {
	for _, t := range ts {
		t.Close()
	}
}

func (t *Tensor) ptr() *C.gam_tensor {
	if t == nil {
		return nil
	}
	return t.h
}

func shapeArg(shape []int64) (*C.int64_t, C.int32_t) {
	if len(shape) == 0 {
		return nil, 0
	}
	return (*C.int64_t)(unsafe.Pointer(&shape[0])), C.int32_t(len(shape))
}

func numel(shape []int64) int64 {
	n := int64(1)
	for _, s := range shape {
		n *= s
	}
	return n
}

// FromF32 copies data (row-major for shape, e.g. NCHW images) into a new engine tensor.
func (e *Engine) FromF32(data []float32, shape ...int64) (*Tensor, error) {
	if int64(len(data)) != numel(shape) {
		return nil, fmt.Errorf("tensor from float32: %d values for shape %v (%d)", len(data), shape, numel(shape))
	}
	var out *C.gam_tensor
	sp, nd := shapeArg(shape)
	var dp *C.float
	if len(data) > 0 {
		dp = (*C.float)(unsafe.Pointer(&data[0]))
	}
	err := e.call("tensor from float32", func() C.int32_t { return C.gamdl_gam_tensor_from_f32(dp, sp, nd, &out) })
	runtime.KeepAlive(data)
	runtime.KeepAlive(shape)
	if err != nil {
		return nil, err
	}
	return newTensor(e, out), nil
}

// FromI64 copies data into a new int64 engine tensor (labels).
func (e *Engine) FromI64(data []int64, shape ...int64) (*Tensor, error) {
	if int64(len(data)) != numel(shape) {
		return nil, fmt.Errorf("tensor from int64: %d values for shape %v (%d)", len(data), shape, numel(shape))
	}
	var out *C.gam_tensor
	sp, nd := shapeArg(shape)
	var dp *C.int64_t
	if len(data) > 0 {
		dp = (*C.int64_t)(unsafe.Pointer(&data[0]))
	}
	err := e.call("tensor from int64", func() C.int32_t { return C.gamdl_gam_tensor_from_i64(dp, sp, nd, &out) })
	runtime.KeepAlive(data)
	runtime.KeepAlive(shape)
	if err != nil {
		return nil, err
	}
	return newTensor(e, out), nil
}

// Randn is a standard normal tensor times scale from its own generator seeded with seed.
func (e *Engine) Randn(scale float32, seed uint64, shape ...int64) (*Tensor, error) {
	var out *C.gam_tensor
	sp, nd := shapeArg(shape)
	err := e.call("randn", func() C.int32_t { return C.gamdl_gam_tensor_randn(sp, nd, C.float(scale), C.uint64_t(seed), &out) })
	runtime.KeepAlive(shape)
	if err != nil {
		return nil, err
	}
	return newTensor(e, out), nil
}

// Shape returns the tensor's shape.
func (t *Tensor) Shape() ([]int64, error) {
	var buf [8]C.int64_t
	var nd C.int32_t
	if err := t.e.call("tensor shape", func() C.int32_t { return C.gamdl_gam_tensor_shape(t.h, &buf[0], 8, &nd) }); err != nil {
		return nil, err
	}
	out := make([]int64, nd)
	for i := range out {
		out[i] = int64(buf[i])
	}
	return out, nil
}

// Len is the size of dim 0 (0 on error).
func (t *Tensor) Len() int {
	s, err := t.Shape()
	if err != nil || len(s) == 0 {
		return 0
	}
	return int(s[0])
}

// F32 copies the tensor to Go as float32.
func (t *Tensor) F32() ([]float32, error) {
	s, err := t.Shape()
	if err != nil {
		return nil, err
	}
	out := make([]float32, numel(s))
	var dp *C.float
	if len(out) > 0 {
		dp = (*C.float)(unsafe.Pointer(&out[0]))
	}
	err = t.e.call("tensor copy float32", func() C.int32_t { return C.gamdl_gam_tensor_copy_f32(t.h, dp, C.int64_t(len(out))) })
	return out, err
}

// I64 copies the tensor to Go as int64.
func (t *Tensor) I64() ([]int64, error) {
	s, err := t.Shape()
	if err != nil {
		return nil, err
	}
	out := make([]int64, numel(s))
	var dp *C.int64_t
	if len(out) > 0 {
		dp = (*C.int64_t)(unsafe.Pointer(&out[0]))
	}
	err = t.e.call("tensor copy int64", func() C.int32_t { return C.gamdl_gam_tensor_copy_i64(t.h, dp, C.int64_t(len(out))) })
	return out, err
}

// Select returns rows idx of t as a new tensor.
func (t *Tensor) Select(idx []int64) (*Tensor, error) {
	var out *C.gam_tensor
	var ip *C.int64_t
	if len(idx) > 0 {
		ip = (*C.int64_t)(unsafe.Pointer(&idx[0]))
	}
	err := t.e.call("tensor select", func() C.int32_t { return C.gamdl_gam_tensor_select(t.h, ip, C.int64_t(len(idx)), &out) })
	runtime.KeepAlive(idx)
	if err != nil {
		return nil, err
	}
	return newTensor(t.e, out), nil
}

// Cat concatenates tensors along dim 0 into a new tensor.
func (e *Engine) Cat(ts ...*Tensor) (*Tensor, error) {
	if len(ts) == 0 {
		return nil, fmt.Errorf("tensor cat: no tensors")
	}
	// The handle array lives in C memory: cgo forbids passing Go memory that holds C pointers
	// only when those are Go pointers, but a C array keeps the rule obvious.
	arr := (*[1 << 20]*C.gam_tensor)(C.malloc(C.size_t(len(ts)) * C.size_t(unsafe.Sizeof(uintptr(0)))))
	defer C.free(unsafe.Pointer(arr))
	for i, t := range ts {
		arr[i] = t.ptr()
	}
	var out *C.gam_tensor
	err := e.call("tensor cat", func() C.int32_t {
		return C.gamdl_gam_tensor_cat((**C.gam_tensor)(unsafe.Pointer(arr)), C.int32_t(len(ts)), &out)
	})
	if err != nil {
		return nil, err
	}
	return newTensor(e, out), nil
}
