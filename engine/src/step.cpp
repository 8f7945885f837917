// gam_step_*: the pipeline's fixed-shape step, sample -> screen forward -> fused screen verdicts, in
// one engine call with one wait for the device. On CUDA the three calls are captured once as a CUDA
// graph and replayed for every full batch: one launch instead of a few hundred kernel launches,
// static inputs and outputs, pinned host buffers reused (docs/performance.md, "GPU: the
// fixed-shape step as a CUDA graph").
#include <cstring>
#include <memory>

#include "internal.h"
#include "model.h"

#ifdef GAM_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#endif

namespace {
// What one run of the step makes, on the models' device.
struct Out {
  at::Tensor x, verdict, prob;
};
}  // namespace

struct gam_step {
  gam_model *g = nullptr, *screen = nullptr;
  int64_t batch = 0;
  float prob_threshold = 0.5f;
  std::string fallback;  // why no graph is replayed ("" when one is, or none was asked for)
  int64_t replays = 0, eager = 0;
  at::Tensor host_v, host_p;  // pinned on CUDA, reused by every run
#ifdef GAM_WITH_CUDA
  bool want_graph = false;
  std::unique_ptr<at::cuda::CUDAGraph> graph;
  at::Tensor z, y, a;  // the graph's static inputs
  Out out;             // and outputs
#endif
};

namespace {

using gam::Error;

// The three calls. Nothing here waits for the device, so it can be captured.
Out body(gam_step *s, const at::Tensor &z, const at::Tensor &y, const at::Tensor &a) {
  Out o;
  o.x = gam::call_infer(s->g, "sample", {z, y, a});
  gam::check_images(s->screen, o.x, "the generator's sample");
  at::Tensor logits = gam::call_infer(s->screen, "forward", {o.x});
  const int64_t k = s->screen->meta.num_classes;
  if (logits.dim() != 2 || logits.size(0) != z.size(0) || logits.size(1) != k || logits.scalar_type() != at::kFloat)
    throw Error(GAM_ERR_CONTRACT, "model " + s->screen->path + ": forward must return [N, " + std::to_string(k) +
                                      "] float32 logits");
  gam::screen_rows(logits, y, s->prob_threshold, &o.verdict, &o.prob);
  return o;
}

// Copies n verdicts and probabilities to the caller: straight from a CPU tensor, or through the
// step's pinned buffers with one wait for the stream.
void to_host(gam_step *s, const Out &o, int64_t n, int64_t *v, float *p) {
  if (n == 0) return;
  if (!o.verdict.is_cuda()) {
    std::memcpy(v, o.verdict.data_ptr<int64_t>(), sizeof(int64_t) * n);
    std::memcpy(p, o.prob.data_ptr<float>(), sizeof(float) * n);
    return;
  }
#ifdef GAM_WITH_CUDA
  if (!s->host_v.defined() || s->host_v.numel() < n) {
    const int64_t m = std::max(n, s->batch);
    s->host_v = at::empty({m}, at::TensorOptions().dtype(at::kLong).pinned_memory(true));
    s->host_p = at::empty({m}, at::TensorOptions().dtype(at::kFloat).pinned_memory(true));
  }
  s->host_v.narrow(0, 0, n).copy_(o.verdict, /*non_blocking=*/true);
  s->host_p.narrow(0, 0, n).copy_(o.prob, /*non_blocking=*/true);
  c10::cuda::getCurrentCUDAStream().synchronize();
  std::memcpy(v, s->host_v.data_ptr<int64_t>(), sizeof(int64_t) * n);
  std::memcpy(p, s->host_p.data_ptr<float>(), sizeof(float) * n);
#endif
}

#ifdef GAM_WITH_CUDA
void cuda_ok(cudaError_t e, const char *what) {
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    throw Error(GAM_ERR_RUNTIME, std::string(what) + ": " + cudaGetErrorString(e));
  }
}

// Warms the calls up on a side stream (cuBLAS/cuDNN handles, TorchScript's profiling runs) and
// captures them on it. On failure the step stays eager and records why.
void capture(gam_step *s, const at::Tensor &z, const at::Tensor &y, const at::Tensor &a) {
  s->z = z.clone();
  s->y = y.clone();
  s->a = a.clone();
  try {
    cuda_ok(cudaDeviceSynchronize(), "before capture");
    c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(false, z.device().index());
    c10::cuda::CUDAStreamGuard sg(side);
    for (int i = 0; i < 3; ++i) body(s, s->z, s->y, s->a);
    side.synchronize();
    auto g = std::make_unique<at::cuda::CUDAGraph>();
    // Thread-local: another thread's allocations or copies do not break this capture.
    g->capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
    Out o;
    try {
      o = body(s, s->z, s->y, s->a);
    } catch (...) {
      try {
        g->capture_end();
      } catch (...) {
      }
      throw;
    }
    g->capture_end();
    cuda_ok(cudaDeviceSynchronize(), "after capture");
    s->out = o;
    s->graph = std::move(g);
  } catch (const c10::Error &e) {
    s->fallback = std::string("capture failed: ") + e.what_without_backtrace();
  } catch (const std::exception &e) {
    s->fallback = std::string("capture failed: ") + e.what();
  }
  if (!s->graph) {
    (void)cudaGetLastError();
    s->want_graph = false;
    s->z = s->y = s->a = at::Tensor();
  }
}
#endif

}  // namespace

GAM_EXPORT int32_t gam_step_create(gam_model *g, gam_model *screen, int64_t batch, float prob_threshold, int32_t graph,
                                   gam_step **out) {
  return gam::guard([&] {
    *gam::need(out, "out") = nullptr;
    gam::need(g, "generator");
    gam::need(screen, "screen");
    if (g->meta.role != GAM_ROLE_GENERATOR) throw Error(GAM_ERR_INVALID, "step: " + g->path + " is not a generator");
    if (screen->meta.role != GAM_ROLE_CLASSIFIER)
      throw Error(GAM_ERR_INVALID, "step: " + screen->path + " is not a classifier");
    if (g->meta.num_classes != screen->meta.num_classes)
      throw Error(GAM_ERR_INVALID, "step: the screen has " + std::to_string(screen->meta.num_classes) +
                                       " classes, the generator " + std::to_string(g->meta.num_classes));
    if (batch < 1) throw Error(GAM_ERR_INVALID, "step: batch must be >= 1, got " + std::to_string(batch));
    if (!(prob_threshold >= 0.f && prob_threshold <= 1.f))
      throw Error(GAM_ERR_INVALID, "step: prob_threshold must lie in [0, 1], got " + std::to_string(prob_threshold));
    auto s = std::make_unique<gam_step>();
    s->g = g;
    s->screen = screen;
    s->batch = batch;
    s->prob_threshold = prob_threshold;
    if (graph) {
#ifdef GAM_WITH_CUDA
      if (gam::current_device().is_cuda())
        s->want_graph = true;
      else
        s->fallback = "CUDA graphs need a CUDA device; the engine's device is " + gam::current_device().str();
#else
      s->fallback = "this engine was built without CUDA (configure with -DGAM_CUDA=ON)";
#endif
    }
    *out = s.release();
  });
}

GAM_EXPORT int32_t gam_step_run(gam_step *s, const gam_tensor *z, const gam_tensor *y, const gam_tensor *attrs,
                                gam_tensor **x, int64_t *verdict, float *prob) {
  return gam::guard([&] {
    gam::need(s, "step");
    *gam::need(x, "x") = nullptr;
    gam::SampleArgs a = gam::sample_args(s->g, z, y, attrs);
    const int64_t n = a.z.size(0);
    if (n > 0) {
      gam::need(verdict, "verdict");
      gam::need(prob, "prob");
    }
    torch::NoGradGuard ng;
    Out o;
#ifdef GAM_WITH_CUDA
    if (s->want_graph && n == s->batch && a.z.is_cuda()) {
      if (!s->graph) capture(s, a.z, a.y, a.attrs);
      if (s->graph) {
        s->z.copy_(a.z, /*non_blocking=*/true);
        s->y.copy_(a.y, /*non_blocking=*/true);
        s->a.copy_(a.attrs, /*non_blocking=*/true);
        s->graph->replay();
        // The graph's outputs are overwritten by the next replay: the images are the caller's copy.
        o = {s->out.x.clone(), s->out.verdict, s->out.prob};
        ++s->replays;
      }
    }
#endif
    if (!o.x.defined()) {
      o = body(s, a.z, a.y, a.attrs);
      ++s->eager;
    }
    to_host(s, o, n, verdict, prob);
    *x = gam::wrap(std::move(o.x));
  });
}

GAM_EXPORT int32_t gam_step_stats(const gam_step *s, int64_t *replays, int64_t *eager, const char **fallback) {
  return gam::guard([&] {
    gam::need(s, "step");
    *gam::need(replays, "replays") = s->replays;
    *gam::need(eager, "eager") = s->eager;
    *gam::need(fallback, "fallback") = s->fallback.c_str();
  });
}

GAM_EXPORT void gam_step_destroy(gam_step *s) { delete s; }
