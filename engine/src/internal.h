// Internal glue shared by the engine's translation units: handle layouts, the error wrapper and
// the small LibTorch-version shim. Nothing here crosses the C ABI.
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <stdexcept>
#include <string>

#include "gam.h"

struct gam_tensor {
  at::Tensor t;
  // For an int64 tensor made from host data (or selected or concatenated from such tensors): a
  // bound on its values known without reading the device, so that label checks on a GPU do not
  // wait for the stream on every call.
  bool range_known = false;
  int64_t lo = 0, hi = -1;
};

namespace gam {

// An error with a status code, thrown inside the engine and turned into a status at the boundary.
struct Error : std::runtime_error {
  int32_t code;
  Error(int32_t c, const std::string &m) : std::runtime_error(m), code(c) {}
};

void set_last_error(const std::string &msg);
void clear_last_error();

// The device that new models and tensors go to (set by gam_engine_set_device).
c10::Device current_device();

// Throws Error(GAM_ERR_INVALID) naming `what` when p is null.
template <typename T> T *need(T *p, const char *what) {
  if (p == nullptr) throw Error(GAM_ERR_INVALID, std::string(what) + " is NULL");
  return p;
}
inline const at::Tensor &tensor_of(const gam_tensor *t, const char *what) {
  return need(t, what)->t;
}
inline gam_tensor *wrap(at::Tensor t) {
  auto *h = new gam_tensor;
  h->t = std::move(t);
  return h;
}

// Copies a CPU tensor to the current device. On CUDA it goes through pinned memory (LibTorch's
// caching host allocator reuses the buffers) and does not block the host; on the CPU it is a clone,
// so the result never aliases src (src may be a borrowed Go slice).
at::Tensor upload(const at::Tensor &src);

// The fused screen's verdict [N] int64 and probability [N] float32 of logits [N,K] against
// intended [N] (already checked to lie in [0, K)), with no confidence check and no compaction; on
// a GPU nothing in it waits for the stream (the captured step in step.cpp runs it). In ops.cpp.
void screen_rows(const at::Tensor &logits, const at::Tensor &intended, float prob_threshold, at::Tensor *verdict,
                 at::Tensor *prob);

// Runs body, turning every exception into a status and a thread-local message.
template <typename F> int32_t guard(F &&body) {
  try {
    clear_last_error();
    body();
    return GAM_OK;
  } catch (const Error &e) {
    set_last_error(e.what());
    return e.code;
  } catch (const c10::Error &e) {
    std::string m = e.what_without_backtrace();
    set_last_error(m);
    if (m.find("out of memory") != std::string::npos) return GAM_ERR_OOM;
    return GAM_ERR_RUNTIME;
  } catch (const std::bad_alloc &) {
    set_last_error("out of host memory");
    return GAM_ERR_OOM;
  } catch (const std::exception &e) {
    set_last_error(e.what());
    return GAM_ERR_RUNTIME;
  } catch (...) {
    set_last_error("unknown native exception");
    return GAM_ERR_RUNTIME;
  }
}

}  // namespace gam

// Marks a definition of a gam.h function as exported (the library hides everything else).
#define GAM_EXPORT extern "C" __attribute__((visibility("default")))
