// The fused screen on the GPU: one thread per row runs screen.cuh's single pass (the same function
// as the CPU path) and writes the verdict, the probability and an accept flag; an inclusive scan of
// the flags (at::cumsum) gives each accepted row its slot, so the compacted indices come out in
// ascending order. One device-to-host copy reads the count and any out-of-range intended label.
// screen_rows is the same pass without the compaction and the read-back (the pipeline's captured
// step, engine/src/step.cpp, derives the accepted rows from the verdicts on the host).
#include "cuda_util.cuh"
#include "screen.cuh"

namespace gam {
namespace gpu {
namespace {

using namespace gam::ops;

__global__ void screen_kernel(const float *__restrict__ logits, const int64_t *__restrict__ intended,
                              const float *__restrict__ conf, int64_t N, int64_t K, float prob_threshold,
                              float conf_threshold, int64_t *__restrict__ verdict,
                              float *__restrict__ prob, int64_t *__restrict__ flag,
                              unsigned long long *__restrict__ first_bad) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < N;
       i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t want = intended[i];
    if (first_bad != nullptr && (want < 0 || want >= K)) atomicMin(first_bad, (unsigned long long)i);
    int64_t v;
    float p;
    screen_row(logits + i * K, K, want, conf != nullptr, conf != nullptr ? conf[i] : 0.f,
               prob_threshold, conf_threshold, &v, &p);
    verdict[i] = v;
    prob[i] = p;
    if (flag != nullptr) flag[i] = v == GAM_SCREEN_ACCEPT ? 1 : 0;
  }
}

// pos is the inclusive scan of flag: accepted row i goes to slot pos[i] - 1.
__global__ void compact_kernel(const int64_t *__restrict__ flag, const int64_t *__restrict__ pos, int64_t N,
                               int64_t *__restrict__ accepted) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < N;
       i += (int64_t)gridDim.x * blockDim.x)
    if (flag[i]) accepted[pos[i] - 1] = i;
}

}  // namespace

void screen(const at::Tensor &logits, const at::Tensor &intended, const at::Tensor &conf,
            float prob_threshold, float conf_threshold, at::Tensor *verdict, at::Tensor *prob,
            at::Tensor *accepted) {
  need_cuda(logits, "logits");
  need_cuda(intended, "intended");
  const bool has_conf = conf.defined();
  if (has_conf) need_cuda(conf, "conf");
  if (intended.device() != logits.device() || (has_conf && conf.device() != logits.device()))
    fail(GAM_ERR_INVALID, "intended and conf must be on logits' device");
  c10::cuda::CUDAGuard guard(logits.device());
  const int64_t N = logits.size(0), K = logits.size(1);
  const auto lopt = logits.options().dtype(at::kLong);
  *verdict = at::empty({N}, lopt);
  *prob = at::empty({N}, logits.options());
  if (N == 0) {
    *accepted = at::empty({0}, lopt);
    return;
  }
  at::Tensor flag = at::empty({N}, lopt);
  // first_bad starts at N ("none"); the kernel lowers it to the first row with a bad label.
  at::Tensor first_bad = at::full({1}, N, lopt);
  cudaStream_t stream = at::cuda::getCurrentCUDAStream();
  screen_kernel<<<blocks_for(N), kThreads, 0, stream>>>(
      logits.data_ptr<float>(), intended.data_ptr<int64_t>(), has_conf ? conf.data_ptr<float>() : nullptr,
      N, K, prob_threshold, conf_threshold, verdict->data_ptr<int64_t>(), prob->data_ptr<float>(),
      flag.data_ptr<int64_t>(), reinterpret_cast<unsigned long long *>(first_bad.data_ptr<int64_t>()));
  check(cudaGetLastError(), "screen kernel");
  at::Tensor pos = at::cumsum(flag, 0);
  at::Tensor head = at::cat({pos.narrow(0, N - 1, 1), first_bad}).to(at::kCPU);  // the one sync
  const int64_t M = head[0].item<int64_t>(), bad = head[1].item<int64_t>();
  if (bad < N) {
    const int64_t v = intended[bad].item<int64_t>();
    fail(GAM_ERR_INVALID, "intended[" + std::to_string(bad) + "] = " + std::to_string(v) + " is outside [0, " +
                    std::to_string(K) + ")");
  }
  *accepted = at::empty({M}, lopt);
  if (M > 0) {
    compact_kernel<<<blocks_for(N), kThreads, 0, stream>>>(flag.data_ptr<int64_t>(), pos.data_ptr<int64_t>(),
                                                           N, accepted->data_ptr<int64_t>());
    check(cudaGetLastError(), "screen compaction kernel");
  }
}

void screen_rows(const at::Tensor &logits, const at::Tensor &intended, float prob_threshold,
                 at::Tensor *verdict, at::Tensor *prob) {
  need_cuda(logits, "logits");
  need_cuda(intended, "intended");
  c10::cuda::CUDAGuard guard(logits.device());
  const int64_t N = logits.size(0), K = logits.size(1);
  *verdict = at::empty({N}, logits.options().dtype(at::kLong));
  *prob = at::empty({N}, logits.options());
  if (N == 0) return;
  // No flags, no scan, no read-back: nothing here waits for the stream, so it can be captured.
  screen_kernel<<<blocks_for(N), kThreads, 0, at::cuda::getCurrentCUDAStream()>>>(
      logits.data_ptr<float>(), intended.data_ptr<int64_t>(), nullptr, N, K, prob_threshold, 0.f,
      verdict->data_ptr<int64_t>(), prob->data_ptr<float>(), nullptr, nullptr);
  check(cudaGetLastError(), "screen kernel");
}

}  // namespace gpu
}  // namespace gam
