// The one place where LibTorch 1.13 (Debian, CPU) and 2.x (the GPU machine's wheel) differ for
// the engine. Everything else uses API that both have.
#pragma once

#include <torch/torch.h>

#ifdef GAM_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <cuda_runtime.h>
#endif

namespace gam::compat {

// Bytes the CUDA caching allocator holds now and at its peak for device idx.
inline void cuda_memory(int idx, int64_t *allocated, int64_t *peak, bool reset) {
#ifdef GAM_WITH_CUDA
  auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(idx);
  *allocated = stats.allocated_bytes[0].current;
  *peak = stats.allocated_bytes[0].peak;
  if (reset) c10::cuda::CUDACachingAllocator::resetPeakStats(idx);
#else
  (void)idx;
  (void)reset;
  *allocated = 0;
  *peak = 0;
#endif
}

}  // namespace gam::compat
