// Image statistics on the GPU: one block per image, pixel sums in double reduced over the block,
// the per-pixel math and the final formulas from image_stats.cuh (shared with the CPU path).
#include "cuda_util.cuh"
#include "image_stats.cuh"

namespace gam {
namespace gpu {
namespace {

using namespace gam::ops;

__global__ void image_stats_kernel(const float *__restrict__ x, float *__restrict__ out, int C, int H,
                                   int W) {
  __shared__ double smem[32];
  const int64_t plane = (int64_t)H * W, img = plane * C;
  const float *p = x + blockIdx.x * img;
  double sum = 0.0, sum2 = 0.0, abs_mask = 0.0, lap_var = 0.0;
  for (int64_t i = threadIdx.x; i < img; i += blockDim.x) {
    const double v = p[i];
    sum += v;
    sum2 += v * v;
  }
  if (H >= 3 && W >= 3) {
    const int iw = W - 2;
    const int64_t interior = (int64_t)(H - 2) * iw;
    for (int c = 0; c < C; ++c) {
      const float *q = p + c * plane;
      double ls = 0.0, ls2 = 0.0;
      for (int64_t i = threadIdx.x; i < interior; i += blockDim.x) {
        const int y = 1 + (int)(i / iw), xx = 1 + (int)(i % iw);
        const double l = laplacian_at(q, W, y, xx);
        ls += l;
        ls2 += l * l;
        abs_mask += fabs((double)immerkaer_at(q, W, y, xx));
      }
      ls = block_sum(ls, smem);
      ls2 = block_sum(ls2, smem);
      if (threadIdx.x == 0) lap_var += variance_of(ls, ls2, (double)interior);
    }
  }
  sum = block_sum(sum, smem);
  sum2 = block_sum(sum2, smem);
  abs_mask = block_sum(abs_mask, smem);
  if (threadIdx.x == 0) {
    StatSums s{sum, sum2, lap_var, abs_mask};
    stats_finish(s, C, H, W, out + blockIdx.x * (int64_t)kNumStats);
  }
}

}  // namespace

at::Tensor image_stats(const at::Tensor &x) {
  need_cuda(x, "x");
  c10::cuda::CUDAGuard guard(x.device());
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  need_int_dim(C, "x's channel count");
  need_int_dim(H, "x's height");
  need_int_dim(W, "x's width");
  if (N > 2147483647LL) fail(GAM_ERR_INVALID, "x has too many images for one launch");
  at::Tensor out = at::empty({N, (int64_t)kNumStats}, x.options());
  if (N == 0) return out;
  cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  image_stats_kernel<<<(unsigned)N, kThreads, 0, stream>>>(x.data_ptr<float>(), out.data_ptr<float>(),
                                                           (int)C, (int)H, (int)W);
  check(cudaGetLastError(), "image stats kernel");
  return out;
}

}  // namespace gpu
}  // namespace gam
