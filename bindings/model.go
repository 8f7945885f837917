package bindings

/*
#include <stdlib.h>
#include "gam_dl.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"unsafe"

	"github.com/gam-native/gam-native/internal/atomicfile"
)

// Role is what a model is for under contract v1.
type Role int

const (
	RoleGenerator  Role = C.GAM_ROLE_GENERATOR
	RoleClassifier Role = C.GAM_ROLE_CLASSIFIER
)

func (r Role) String() string {
	switch r {
	case RoleGenerator:
		return "generator"
	case RoleClassifier:
		return "classifier"
	}
	return fmt.Sprintf("role(%d)", int(r))
}

// Meta is a model's contract-v1 metadata, read at load.
type Meta struct {
	Role       Role     `json:"-"`
	Contract   string   `json:"gam_contract"`
	Kind       string   `json:"kind,omitempty"`
	NumClasses int      `json:"num_classes"`
	LatentDim  int      `json:"latent_dim,omitempty"`
	AttrNames  []string `json:"attr_names"`
	ImageShape [3]int   `json:"image_shape"`
	Trainable  bool     `json:"trainable"`
	HasEmbed   bool     `json:"has_embed,omitempty"`
	HasEncode  bool     `json:"has_encode,omitempty"`
}

// Pixels is C*H*W.
func (m Meta) Pixels() int { return m.ImageShape[0] * m.ImageShape[1] * m.ImageShape[2] }

// Model is a loaded TorchScript model that passed its contract check.
type Model struct {
	e    *Engine
	h    *C.gam_model
	Path string
	Meta Meta
	view bool // made by On: Close leaves the model to its owner
}

// LoadModel loads path and checks it against contract v1 for role. The error names the file and
// the broken member.
func (e *Engine) LoadModel(path string, role Role) (*Model, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	var h *C.gam_model
	if err := e.call("load "+role.String()+" "+path, func() C.int32_t { return C.gamdl_gam_model_load(cp, C.int32_t(role), &h) }); err != nil {
		return nil, err
	}
	m := &Model{e: e, h: h, Path: path}
	live.Add(1)
	var cm C.gam_model_meta
	if err := e.call("model meta", func() C.int32_t { return C.gamdl_gam_model_meta_get(h, &cm) }); err != nil {
		m.Close()
		return nil, err
	}
	m.Meta = Meta{
		Role:       Role(cm.role),
		Contract:   C.GoString(&cm.contract[0]),
		Kind:       C.GoString(&cm.kind[0]),
		NumClasses: int(cm.num_classes),
		LatentDim:  int(cm.latent_dim),
		ImageShape: [3]int{int(cm.image_shape[0]), int(cm.image_shape[1]), int(cm.image_shape[2])},
		Trainable:  cm.trainable != 0,
		HasEmbed:   cm.has_embed != 0,
		HasEncode:  cm.has_encode != 0,
		AttrNames:  []string{},
	}
	if s := C.GoString(&cm.attr_names[0]); s != "" {
		m.Meta.AttrNames = strings.Split(s, ",")
	}
	runtime.SetFinalizer(m, func(m *Model) {
		if m.h != nil {
			fmt.Fprintln(os.Stderr, "gam-native: leak: a Model was garbage-collected without Close:", m.Path)
		}
	})
	return m, nil
}

// Close frees the model. Idempotent.
func (m *Model) Close() {
	if m == nil || m.h == nil || m.view {
		return
	}
	h := m.h
	m.h = nil
	live.Add(-1)
	_ = m.e.do(func() { C.gamdl_gam_model_destroy(h) })
}

// Save writes the model as TorchScript to path atomically (internal/atomicfile: a temporary file
// in the same folder, fsync, rename, fsync of the folder).
func (m *Model) Save(path string) error {
	var engineErr error
	err := atomicfile.WriteWith(path, func(tmp string) error {
		ct := C.CString(tmp)
		defer C.free(unsafe.Pointer(ct))
		engineErr = m.e.call("save model "+path, func() C.int32_t { return C.gamdl_gam_model_save(m.h, ct) })
		return engineErr
	})
	if err != nil && engineErr == nil {
		return fmt.Errorf("save model: %w", err)
	}
	return err
}

// Optimize turns the model's inference copy on or off (gam_model_optimize: on the CPU, inference
// calls run a copy frozen and optimized for inference, the default) and says whether inference
// runs it now, and if not why.
func (m *Model) Optimize(on bool) (active bool, why string, err error) {
	v := C.int32_t(0)
	if on {
		v = 1
	}
	return m.optimize(v)
}

// InferenceCopy builds the model's inference copy now if it is due (on the calling engine's
// thread), leaving Optimize's setting as it is, and says whether inference runs it.
func (m *Model) InferenceCopy() (active bool, why string, err error) { return m.optimize(-1) }

func (m *Model) optimize(v C.int32_t) (active bool, why string, err error) {
	var a C.int32_t
	var note [256]C.char
	err = m.e.call("optimize "+m.Path, func() C.int32_t { return C.gamdl_gam_model_optimize(m.h, v, &a, &note[0], C.int32_t(len(note))) })
	return a != 0, C.GoString(&note[0]), err
}

// SetTrain switches train/eval mode.
func (m *Model) SetTrain(on bool) error {
	v := C.int32_t(0)
	if on {
		v = 1
	}
	return m.e.call("set train mode", func() C.int32_t { return C.gamdl_gam_model_set_train(m.h, v) })
}

type tensorOp func(out **C.gam_tensor) C.int32_t

func (m *Model) run(op string, f tensorOp) (*Tensor, error) {
	var out *C.gam_tensor
	if err := m.e.call(op, func() C.int32_t { return f(&out) }); err != nil {
		return nil, err
	}
	return newTensor(m.e, out), nil
}

// Sample runs sample(z, y, attrs) -> images [N,C,H,W] in [0,1].
func (m *Model) Sample(z, y, attrs *Tensor) (*Tensor, error) {
	return m.run("sample", func(o **C.gam_tensor) C.int32_t {
		return C.gamdl_gam_generator_sample(m.h, z.ptr(), y.ptr(), attrs.ptr(), o)
	})
}

// Future is a sample call running on the engine's worker thread (Model.SampleAsync).
type Future struct {
	e *Engine
	h *C.gam_future
}

// SampleAsync starts sample(z, y, attrs) on the engine's worker thread and returns at once, so
// that other engine calls run meanwhile; Wait gives the images. z, y and attrs may be closed at
// once; m must stay open until Wait returns. On a CUDA device it has run by the time it returns.
func (m *Model) SampleAsync(z, y, attrs *Tensor) (*Future, error) {
	var out *C.gam_future
	if err := m.e.call("sample", func() C.int32_t {
		return C.gamdl_gam_generator_sample_async(m.h, z.ptr(), y.ptr(), attrs.ptr(), &out)
	}); err != nil {
		return nil, err
	}
	f := &Future{e: m.e, h: out}
	live.Add(1)
	runtime.SetFinalizer(f, func(f *Future) {
		if f.h != nil {
			fmt.Fprintln(os.Stderr, "gam-native: leak: a Future was garbage-collected without Wait or Close")
		}
	})
	return f, nil
}

// Wait blocks the calling goroutine (not the engine thread) until the sample is done, and frees
// the future. It must be called once; Close after it does nothing.
func (f *Future) Wait() (*Tensor, error) {
	if f == nil || f.h == nil {
		return nil, errors.New("sample: future already waited for")
	}
	h := f.h
	f.h = nil
	// gam_last_error is per OS thread: read it on the thread that waited.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var out *C.gam_tensor
	err := statusError("sample", C.gamdl_gam_future_wait(h, &out))
	C.gamdl_gam_future_destroy(h)
	live.Add(-1)
	if err != nil {
		return nil, err
	}
	return newTensor(f.e, out), nil
}

// Close frees a future that will not be waited for (its work finishes first; its images are
// dropped). Idempotent, and a no-op after Wait; gam_future_destroy may run on any thread.
func (f *Future) Close() {
	if f == nil || f.h == nil {
		return
	}
	h := f.h
	f.h = nil
	C.gamdl_gam_future_destroy(h)
	live.Add(-1)
}

// Confidence runs confidence(x, y, attrs) -> [N] in [0,1].
func (m *Model) Confidence(x, y, attrs *Tensor) (*Tensor, error) {
	return m.run("confidence", func(o **C.gam_tensor) C.int32_t {
		return C.gamdl_gam_generator_confidence(m.h, x.ptr(), y.ptr(), attrs.ptr(), o)
	})
}

// Encode runs a generator's optional encode(x, y, attrs) -> posterior mean and log-variance, each
// [N, latent_dim] (Meta.HasEncode says whether it has one). attrs may be nil (zeros).
func (m *Model) Encode(x, y, attrs *Tensor) (mu, logvar *Tensor, err error) {
	var a, b *C.gam_tensor
	if err := m.e.call("encode", func() C.int32_t {
		return C.gamdl_gam_generator_encode(m.h, x.ptr(), y.ptr(), attrs.ptr(), &a, &b)
	}); err != nil {
		return nil, nil, err
	}
	return newTensor(m.e, a), newTensor(m.e, b), nil
}

// Forward runs a classifier's forward(x) -> logits [N,K].
func (m *Model) Forward(x *Tensor) (*Tensor, error) {
	return m.run("forward", func(o **C.gam_tensor) C.int32_t { return C.gamdl_gam_classifier_forward(m.h, x.ptr(), o) })
}

// Embed runs a classifier's embed(x) -> [N,D].
func (m *Model) Embed(x *Tensor) (*Tensor, error) {
	return m.run("embed", func(o **C.gam_tensor) C.int32_t { return C.gamdl_gam_classifier_embed(m.h, x.ptr(), o) })
}

// EvalLoss returns the per-sample loss without a step ([N]).
func (m *Model) EvalLoss(x, y, attrs *Tensor) (*Tensor, error) {
	return m.run("eval loss", func(o **C.gam_tensor) C.int32_t {
		return C.gamdl_gam_model_eval_loss(m.h, x.ptr(), y.ptr(), attrs.ptr(), o)
	})
}

// Search moves z by steps Adam steps that lower target's margin for y on sample(z, y, attrs).
func (m *Model) Search(target *Model, z, y, attrs *Tensor, steps int, lr, pull float32) (*Tensor, error) {
	return m.run("latent search", func(o **C.gam_tensor) C.int32_t {
		return C.gamdl_gam_generator_search(m.h, target.h, z.ptr(), y.ptr(), attrs.ptr(), C.int32_t(steps), C.float(lr), C.float(pull), o)
	})
}
