// The native conditions on the GPU: one thread per output pixel (blur in two separable passes,
// low contrast one block per image because it needs the image mean first). The math is
// condition.cuh's, the same as the CPU path in engine/src/ops.cpp.
#include "condition.cuh"
#include "cuda_util.cuh"

namespace gam {
namespace gpu {
namespace {

using namespace gam::ops;

// One separable pass: along rows (horizontal) or columns. Images with s <= 0 are copied.
__global__ void blur_pass(const float *__restrict__ in, float *__restrict__ out,
                          const float *__restrict__ sev, int64_t total, int C, int H, int W,
                          bool horizontal) {
  const int64_t plane = (int64_t)H * W, img = plane * C;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t n = i / img;
    const float s = sev[n];
    if (!(s > 0.f)) {
      out[i] = in[i];
      continue;
    }
    const int64_t r = i % plane;
    const int y = (int)(r / W), x = (int)(r % W);
    const float *p = in + (i - r);  // the plane's first pixel
    const BlurTaps taps = blur_taps(blur_sigma(s));
    out[i] = horizontal ? blur_line(p + (int64_t)y * W, 1, W, x, taps) : blur_line(p + x, W, H, y, taps);
  }
}

__global__ void shadow_kernel(const float *__restrict__ in, float *__restrict__ out,
                              const float *__restrict__ sev, int64_t total, int C, int H, int W,
                              uint64_t seed) {
  const int64_t plane = (int64_t)H * W, img = plane * C;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t n = i / img;
    const float s = sev[n];
    if (!(s > 0.f)) {
      out[i] = in[i];
      continue;
    }
    float cs, sn;
    shadow_direction(seed, n, &cs, &sn);
    const int64_t r = i % plane;
    out[i] = in[i] * shadow_factor(s, cs, sn, H, W, (int)(r / W), (int)(r % W));
  }
}

__global__ void noise_kernel(const float *__restrict__ in, float *__restrict__ out,
                             const float *__restrict__ sev, int64_t total, int64_t img,
                             uint64_t seed) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t n = i / img;
    const float s = sev[n];
    out[i] = s > 0.f ? noise_pixel(in[i], s, noise_normal(seed, n, i - n * img)) : in[i];
  }
}

// One block per image: the mean (in double, as the CPU path), then the pull towards it.
__global__ void low_contrast_kernel(const float *__restrict__ in, float *__restrict__ out,
                                    const float *__restrict__ sev, int64_t img) {
  __shared__ double smem[32];
  __shared__ float mean;
  const int64_t n = blockIdx.x;
  const float *p = in + n * img;
  float *q = out + n * img;
  const float s = sev[n];
  if (!(s > 0.f)) {
    for (int64_t i = threadIdx.x; i < img; i += blockDim.x) q[i] = p[i];
    return;
  }
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < img; i += blockDim.x) acc += p[i];
  acc = block_sum(acc, smem);
  if (threadIdx.x == 0) mean = (float)(acc / (double)img);
  __syncthreads();
  const float m = mean;
  for (int64_t i = threadIdx.x; i < img; i += blockDim.x) q[i] = low_contrast_pixel(p[i], m, s);
}

}  // namespace

at::Tensor condition(const at::Tensor &x, int32_t cond, const at::Tensor &severity, uint64_t seed) {
  need_cuda(x, "x");
  need_cuda(severity, "severity");
  if (severity.device() != x.device()) fail(GAM_ERR_INVALID, "severity must be on x's device");
  c10::cuda::CUDAGuard guard(x.device());
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  need_int_dim(C, "x's channel count");
  need_int_dim(H, "x's height");
  need_int_dim(W, "x's width");
  at::Tensor out = at::empty_like(x);
  const int64_t img = C * H * W, total = N * img;
  if (total == 0) return out;
  cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  const float *in = x.data_ptr<float>(), *sev = severity.data_ptr<float>();
  float *o = out.data_ptr<float>();
  const unsigned blocks = blocks_for(total);
  switch (cond) {
    case GAM_COND_BLUR: {
      at::Tensor tmp = at::empty_like(x);
      blur_pass<<<blocks, kThreads, 0, stream>>>(in, tmp.data_ptr<float>(), sev, total, (int)C, (int)H, (int)W, true);
      check(cudaGetLastError(), "blur kernel (rows)");
      blur_pass<<<blocks, kThreads, 0, stream>>>(tmp.data_ptr<float>(), o, sev, total, (int)C, (int)H, (int)W, false);
      check(cudaGetLastError(), "blur kernel (columns)");
      break;  // tmp's memory returns to the caching allocator in stream order
    }
    case GAM_COND_SHADOW:
      shadow_kernel<<<blocks, kThreads, 0, stream>>>(in, o, sev, total, (int)C, (int)H, (int)W, seed);
      check(cudaGetLastError(), "shadow kernel");
      break;
    case GAM_COND_LOW_CONTRAST:
      if (N > 2147483647LL) fail(GAM_ERR_INVALID, "x has too many images for one launch");
      low_contrast_kernel<<<(unsigned)N, kThreads, 0, stream>>>(in, o, sev, img);
      check(cudaGetLastError(), "low contrast kernel");
      break;
    case GAM_COND_NOISE:
      noise_kernel<<<blocks, kThreads, 0, stream>>>(in, o, sev, total, img, seed);
      check(cudaGetLastError(), "noise kernel");
      break;
    default:
      fail(GAM_ERR_INVALID, "condition " + std::to_string(cond) + " is unknown");
  }
  return out;
}

}  // namespace gpu
}  // namespace gam
