// Engine-wide state: the last error per thread, the device, threads, seeds and version info.
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <cstring>
#include <string>

#include "compat.h"
#include "internal.h"

namespace gam {

static thread_local std::string last_error;
static c10::Device device_now(c10::kCPU);
static bool threads_set = false;

void set_last_error(const std::string &msg) { last_error = msg; }
void clear_last_error() { last_error.clear(); }
c10::Device current_device() { return device_now; }

static void copy_str(char *dst, size_t cap, const std::string &s) {
  std::strncpy(dst, s.c_str(), cap - 1);
  dst[cap - 1] = '\0';
}

}  // namespace gam

GAM_EXPORT uint32_t gam_abi_version(void) { return GAM_ABI_VERSION; }

GAM_EXPORT const char *gam_last_error(void) { return gam::last_error.c_str(); }

GAM_EXPORT int32_t gam_engine_info_get(gam_engine_info *out) {
  return gam::guard([&] {
    gam::need(out, "out");
    std::memset(out, 0, sizeof(*out));
    gam::copy_str(out->torch_version, sizeof(out->torch_version), TORCH_VERSION);
#ifdef GAM_WITH_CUDA
    out->cuda_built = 1;
#endif
    out->cuda_available = torch::cuda::is_available() ? 1 : 0;
    out->cuda_devices = static_cast<int32_t>(torch::cuda::device_count());
    c10::Device d = gam::current_device();
    gam::copy_str(out->device, sizeof(out->device), d.str());
    std::string name = "cpu";
#ifdef GAM_WITH_CUDA
    if (d.is_cuda()) {
      cudaDeviceProp prop;
      if (cudaGetDeviceProperties(&prop, d.index() < 0 ? 0 : d.index()) == cudaSuccess) name = prop.name;
    }
#endif
    gam::copy_str(out->device_name, sizeof(out->device_name), name);
    out->num_threads = at::get_num_threads();
  });
}

GAM_EXPORT int32_t gam_engine_set_threads(int32_t n) {
  return gam::guard([&] {
    if (n < 1) throw gam::Error(GAM_ERR_INVALID, "threads must be >= 1, got " + std::to_string(n));
    at::set_num_threads(n);
    // Adam's state goes denormal while a GAN trains, and denormal math made CPU steps 4x slower.
    at::globalContext().setFlushDenormal(true);
    // The inter-op pool can be sized only once per process, before it is first used.
    if (!gam::threads_set) {
      try {
        at::set_num_interop_threads(n);
      } catch (const c10::Error &) {
      }
      gam::threads_set = true;
    }
  });
}

GAM_EXPORT int32_t gam_engine_set_device(const char *device) {
  return gam::guard([&] {
    std::string d = gam::need(device, "device");
    if (d == "auto") {
      gam::device_now = torch::cuda::is_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
      return;
    }
    c10::Device dev(c10::kCPU);
    try {
      dev = c10::Device(d);
    } catch (const c10::Error &) {
      throw gam::Error(GAM_ERR_INVALID, "device \"" + d + "\": expected auto, cpu, cuda or cuda:N");
    }
    if (dev.is_cuda()) {
      if (!torch::cuda::is_available())
        throw gam::Error(GAM_ERR_INVALID, "device \"" + d + "\": LibTorch sees no CUDA device");
      if (!dev.has_index()) dev = c10::Device(c10::kCUDA, 0);
      if (dev.index() >= static_cast<int>(torch::cuda::device_count()))
        throw gam::Error(GAM_ERR_INVALID, "device \"" + d + "\": only " +
                                              std::to_string(torch::cuda::device_count()) + " CUDA devices");
    } else if (!dev.is_cpu()) {
      throw gam::Error(GAM_ERR_INVALID, "device \"" + d + "\": expected auto, cpu, cuda or cuda:N");
    }
    gam::device_now = dev;
  });
}

GAM_EXPORT int32_t gam_engine_seed(uint64_t seed) {
  return gam::guard([&] { torch::manual_seed(seed); });
}

GAM_EXPORT int32_t gam_engine_memory(int64_t *allocated, int64_t *peak, int32_t reset_peak) {
  return gam::guard([&] {
    gam::need(allocated, "allocated");
    gam::need(peak, "peak");
    c10::Device d = gam::current_device();
    if (!d.is_cuda()) {
      *allocated = 0;
      *peak = 0;
      return;
    }
    gam::compat::cuda_memory(d.index(), allocated, peak, reset_peak != 0);
  });
}
