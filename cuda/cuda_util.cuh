// Device-side helpers shared by the .cu files (nvcc only).
#pragma once

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <limits>
#include <string>

#include "launchers.h"

namespace gam {
namespace gpu {

constexpr int kThreads = 256;  // a multiple of 32: block_sum relies on whole warps

// Turns a CUDA status into gam::Error; never aborts.
inline void check(cudaError_t e, const char *what) {
  if (e != cudaSuccess) {
    (void)cudaGetLastError();  // clear a non-sticky error so the next call starts clean
    fail(e == cudaErrorMemoryAllocation ? GAM_ERR_OOM : GAM_ERR_RUNTIME, std::string(what) + ": " + cudaGetErrorString(e));
  }
}

// Blocks for a grid-stride loop over n items.
inline unsigned blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return (unsigned)std::max<int64_t>(1, std::min<int64_t>(b, 65535LL * 16));
}

inline void need_cuda(const at::Tensor &t, const char *name) {
  if (!t.is_cuda()) fail(GAM_ERR_INVALID, std::string(name) + " must be a CUDA tensor here");
  if (!t.is_contiguous()) fail(GAM_ERR_INVALID, std::string(name) + " must be contiguous");
}

inline void need_int_dim(int64_t v, const char *what) {
  if (v > std::numeric_limits<int>::max()) fail(GAM_ERR_INVALID, std::string(what) + " is too large for the CUDA kernels");
}

// Sum of v over the block, valid in thread 0. smem holds 32 doubles; the block is whole warps.
__device__ inline double block_sum(double v, double *smem) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();  // smem may still be read by the previous call
  if (lane == 0) smem[warp] = v;
  __syncthreads();
  const int nw = (blockDim.x + 31) >> 5;
  v = (int)threadIdx.x < nw ? smem[threadIdx.x] : 0.0;
  if (warp == 0)
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}

}  // namespace gpu
}  // namespace gam
