// Shared by the CPU path (g++) and the CUDA kernels (nvcc): the per-element math is written once
// so that the CPU tests cover what the GPU runs and the GPU check can compare the two.
#pragma once

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define GAM_HD __host__ __device__
#else
#define GAM_HD
#endif

namespace gam {
namespace ops {

// Bit test rather than isfinite(): the same answer on host and device whatever the math flags.
GAM_HD inline bool finite(float v) {
#ifdef __CUDA_ARCH__
  uint32_t b = __float_as_uint(v);
#else
  uint32_t b;
  memcpy(&b, &v, sizeof b);
#endif
  return (b & 0x7f800000u) != 0x7f800000u;
}

GAM_HD inline float clamp01(float v) { return v < 0.f ? 0.f : (v > 1.f ? 1.f : v); }

// splitmix64's finalizer: the counter-based generator behind noise and the shadow direction, so
// a value depends only on (seed, image, pixel), never on the device, thread count or launch shape.
GAM_HD inline uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A 24-bit uniform in [0, 1) (exact in float32).
GAM_HD inline float uniform24(uint32_t bits24) { return (float)bits24 * (1.0f / 16777216.0f); }

}  // namespace ops
}  // namespace gam
