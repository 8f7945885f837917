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
inline gam_tensor *wrap(at::Tensor t) { return new gam_tensor{std::move(t)}; }

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
