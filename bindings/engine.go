// Package bindings is the only Go package that imports "C": it loads the engine library at run
// time, turns its C ABI into Go types and errors, and runs every engine call on one goroutine
// locked to its OS thread (CUDA's current device and stream, and LibTorch's grad mode, are per
// thread).
package bindings

/*
#cgo CFLAGS: -I${SRCDIR}/../engine/include -O2
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "gam_dl.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"unsafe"

	"github.com/gam-native/gam-native/hostres"
)

// ABIVersion is the gam.h these bindings were compiled against (GAM_ABI_VERSION); a library with
// another version is refused at load.
const ABIVersion = uint32(C.GAM_ABI_VERSION)

// Status codes of the C ABI (GAM_ERR_*), as Error.Code holds them.
const (
	StatusInvalid  = int(C.GAM_ERR_INVALID)
	StatusIO       = int(C.GAM_ERR_IO)
	StatusContract = int(C.GAM_ERR_CONTRACT)
	StatusRuntime  = int(C.GAM_ERR_RUNTIME)
	StatusOOM      = int(C.GAM_ERR_OOM)
)

// Error is a failed engine call: the status code and the engine's message.
type Error struct {
	Op      string
	Code    int
	Message string
}

func (e *Error) Error() string { return e.Op + ": " + e.Message }

// IsOOM reports whether err is an engine out-of-memory error (the caller may halve its batch).
func IsOOM(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == StatusOOM
}

// IsContract reports whether err is a model refused for breaking contract v1.
func IsContract(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == StatusContract
}

// Engine is the loaded engine library and the OS thread that all its calls run on.
type Engine struct {
	Path  string
	calls chan func()
	once  sync.Once
	mu    sync.Mutex
	open  bool
	// parent is the engine a lane belongs to (Lanes); nil for the engine itself.
	parent *Engine
	// unloaded is closed once the engine thread has closed the library (the engine itself only):
	// Close waits for it, so that an Open after a Close finds the library closed, not closing.
	unloaded chan struct{}
	// The engine's lanes (Lanes), how many callers hold them, and OpenBLAS's thread count before
	// the first of those.
	laneMu      sync.Mutex
	lanePool    []*Engine
	laneUsers   int
	blasThreads int
}

var loaded struct {
	sync.Mutex
	e *Engine
}

// DefaultPaths lists where Open looks for the engine when no path is given: beside the binary,
// in ../lib beside it, then in build/ of the working directory and its parents.
func DefaultPaths() []string {
	const name = "libgam_engine.so"
	var out []string
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		d := filepath.Dir(exe)
		out = append(out, filepath.Join(d, name), filepath.Join(d, "..", "lib", name), filepath.Join(d, "..", "build", name))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			out = append(out, filepath.Join(d, "build", name))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return out
}

// FindLibrary returns path when it is not empty, else the first of DefaultPaths that exists.
func FindLibrary(path string) (string, error) {
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("engine library %s: %w", path, err)
		}
		return path, nil
	}
	for _, p := range DefaultPaths() {
		if _, err := os.Stat(p); err == nil {
			return filepath.Clean(p), nil
		}
	}
	return "", fmt.Errorf("engine library libgam_engine.so not found (looked beside the binary, in ../lib and in build/; run `make` or pass --engine / GAM_ENGINE)")
}

// Open loads the engine library (path, or the default places when empty), checks its ABI
// version, starts the engine thread and sets LibTorch's thread count from the cgroup CPU quota.
// A process holds one engine: a second Open returns the same one while it is open.
func Open(path string) (*Engine, error) {
	loaded.Lock()
	defer loaded.Unlock()
	if loaded.e != nil {
		return loaded.e, nil
	}
	p, err := FindLibrary(path)
	if err != nil {
		return nil, err
	}
	// libgomp spin-waits at every parallel-region barrier by default; on a shared or oversubscribed
	// machine that burned the other thread's time slice and made small calls 33x slower (docs/performance.md, "OMP_WAIT_POLICY=PASSIVE").
	// It reads the variable when the library loads, so set it before dlopen unless the user chose.
	if _, set := os.LookupEnv("OMP_WAIT_POLICY"); !set {
		os.Setenv("OMP_WAIT_POLICY", "PASSIVE")
	}
	chooseBLASCore()
	e := &Engine{Path: p, calls: make(chan func(), postDepth), unloaded: make(chan struct{})}
	ready := make(chan error)
	go e.loop(p, ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	e.open = true
	if err := e.SetThreads(hostres.CPUQuota()); err != nil {
		e.Close()
		return nil, err
	}
	loaded.e = e
	return e, nil
}

func (e *Engine) loop(path string, ready chan<- error) {
	runtime.LockOSThread()
	cp := C.CString(path)
	var owned *C.char
	msg := C.gamdl_open(cp, &owned)
	C.free(unsafe.Pointer(cp))
	if msg != nil {
		err := fmt.Errorf("loading engine %s: %s", path, C.GoString(msg))
		C.free(unsafe.Pointer(owned))
		ready <- err
		return
	}
	if v := uint32(C.gamdl_gam_abi_version()); v != ABIVersion {
		C.gamdl_close()
		ready <- fmt.Errorf("engine %s has ABI version %d, these bindings need %d: rebuild with `make`", path, v, ABIVersion)
		return
	}
	ready <- nil
	for f := range e.calls {
		f()
	}
	C.gamdl_close()
	close(e.unloaded)
}

// do runs f on the engine thread and waits for it.
func (e *Engine) do(f func()) error {
	done := make(chan struct{})
	// Queued under the lock, as post does, so that Close cannot close the queue between the check
	// and the send (a send on a closed channel panics); the engine thread runs what was queued
	// before the close, so done is always closed.
	e.mu.Lock()
	if !e.open {
		e.mu.Unlock()
		return errors.New("engine is closed")
	}
	e.calls <- func() { f(); close(done) }
	e.mu.Unlock()
	<-done
	return nil
}

// postDepth is how many posted calls (post) may wait for the engine thread before a caller blocks.
const postDepth = 256

// post queues f on the engine thread and returns without waiting for it: for calls that return
// nothing and whose effect no one waits on (freeing a handle). Calls run in the order they were
// queued, so any later call sees f done. A closed engine drops f.
func (e *Engine) post(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.open {
		e.calls <- f
	}
}

// call runs f on the engine thread and turns a non-zero status into an *Error for op.
func (e *Engine) call(op string, f func() C.int32_t) error {
	var err error
	if derr := e.do(func() {
		err = statusError(op, f())
	}); derr != nil {
		return derr
	}
	return err
}

// statusError is nil for GAM_OK, else the error of op with the engine's last message, which is
// per OS thread: call it on the thread that made the call.
func statusError(op string, st C.int32_t) error {
	if st == 0 {
		return nil
	}
	return &Error{Op: op, Code: int(st), Message: C.GoString(C.gamdl_gam_last_error())}
}

// Close stops the engine thread and its lanes. Idempotent. Handles must be closed before. A lane
// belongs to its engine: closing one does nothing (it closes with the engine).
func (e *Engine) Close() error {
	if e.parent != nil {
		return nil
	}
	// OpenBLAS's count back if a run still holds lanes: the library outlives this engine.
	e.laneMu.Lock()
	if e.laneUsers > 0 && e.blasThreads > 0 {
		C.gamdl_blas_threads(C.int(e.blasThreads))
	}
	e.laneUsers = 0
	e.laneMu.Unlock()
	e.shutdown()
	return nil
}

// shutdown stops e's thread (and, for an engine, its lanes). Idempotent.
func (e *Engine) shutdown() {
	e.once.Do(func() {
		e.mu.Lock()
		e.open = false
		close(e.calls)
		e.mu.Unlock()
		if e.parent != nil {
			return
		}
		e.closeLanes()
		if e.unloaded != nil {
			<-e.unloaded
		}
		loaded.Lock()
		if loaded.e == e {
			loaded.e = nil
		}
		loaded.Unlock()
	})
}

// Info is the engine's description of itself.
type Info struct {
	TorchVersion  string `json:"torch_version"`
	CUDABuilt     bool   `json:"cuda_built"`
	CUDAAvailable bool   `json:"cuda_available"`
	CUDADevices   int    `json:"cuda_devices"`
	Device        string `json:"device"`
	DeviceName    string `json:"device_name"`
	Threads       int    `json:"threads"`
	Library       string `json:"library"`
	// BLASCore is the kernel set OpenBLAS chose ("" when LibTorch does not use OpenBLAS).
	BLASCore string `json:"blas_core,omitempty"`
}

// Info asks the engine for its versions and devices.
func (e *Engine) Info() (Info, error) {
	var ci C.gam_engine_info
	err := e.call("engine info", func() C.int32_t { return C.gamdl_gam_engine_info_get(&ci) })
	if err != nil {
		return Info{}, err
	}
	return Info{
		TorchVersion:  C.GoString(&ci.torch_version[0]),
		CUDABuilt:     ci.cuda_built != 0,
		CUDAAvailable: ci.cuda_available != 0,
		CUDADevices:   int(ci.cuda_devices),
		Device:        C.GoString(&ci.device[0]),
		DeviceName:    C.GoString(&ci.device_name[0]),
		Threads:       int(ci.num_threads),
		Library:       e.Path,
		BLASCore:      blasCoreName(),
	}, nil
}

// SetThreads sets LibTorch's thread count.
func (e *Engine) SetThreads(n int) error {
	return e.call("set threads", func() C.int32_t { return C.gamdl_gam_engine_set_threads(C.int32_t(n)) })
}

// SetDevice chooses "auto", "cpu", "cuda" or "cuda:N" for models and tensors made after it.
func (e *Engine) SetDevice(dev string) error {
	cs := C.CString(dev)
	defer C.free(unsafe.Pointer(cs))
	return e.call("set device "+dev, func() C.int32_t { return C.gamdl_gam_engine_set_device(cs) })
}

// Seed seeds LibTorch's global generators.
func (e *Engine) Seed(seed uint64) error {
	return e.call("seed", func() C.int32_t { return C.gamdl_gam_engine_seed(C.uint64_t(seed)) })
}

// Memory returns the CUDA allocator's bytes allocated now and its peak (zeros on CPU).
func (e *Engine) Memory(resetPeak bool) (allocated, peak int64, err error) {
	var a, p C.int64_t
	r := C.int32_t(0)
	if resetPeak {
		r = 1
	}
	err = e.call("memory", func() C.int32_t { return C.gamdl_gam_engine_memory(&a, &p, r) })
	return int64(a), int64(p), err
}

// blasCoreName is OpenBLAS's name for the kernels it chose, or "" without OpenBLAS.
func blasCoreName() string {
	if c := C.gamdl_blas_core(); c != nil {
		return C.GoString(c)
	}
	return ""
}
