// The inference copy of a model: frozen and optimized for the CPU (model.h, infer_module).
//
// Why: the zoo's screen is conv -> ReLU -> max-pool twice. LibTorch 1.13 runs max_pool2d on the
// CPU through max_pool2d_with_indices, which computes the indices too, and that kernel alone was
// about a third of the CPU pipeline's time (docs/performance.md, "Inference copies on the CPU").
// Frozen and converted, the convolutions and poolings run in oneDNN's blocked layout.
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/passes/frozen_conv_add_relu_fusion.h>
#include <torch/csrc/jit/passes/frozen_graph_optimizations.h>
#include <torch/csrc/jit/passes/frozen_linear_transpose.h>
#include <torch/csrc/jit/passes/frozen_ops_to_mkldnn.h>

#include <cstring>

#include "model.h"

namespace gam {

// The contract methods that inference calls: those the frozen copy must keep.
static std::vector<std::string> inference_methods(const gam_model *g) {
  std::vector<std::string> out;
  if (g->meta.role == GAM_ROLE_GENERATOR) {
    out = {"sample", "confidence"};
    if (g->meta.has_encode) out.push_back("encode");
  } else {
    out = {"forward"};
    if (g->meta.has_embed) out.push_back("embed");
  }
  return out;
}

static torch::jit::Module build_inference(const gam_model *g) {
  auto methods = inference_methods(g);
  std::vector<std::string> keep;
  for (const auto &name : methods)
    if (name != "forward") keep.push_back(name);  // forward is always kept
  torch::jit::Module out = torch::jit::freeze_module(g->m, keep);
  for (const auto &name : methods) {
    auto graph = out.get_method(name).graph();
    torch::jit::OptimizeFrozenGraph(graph, true);
    torch::jit::FuseFrozenConvAddRelu(graph);
    torch::jit::ConvertFrozenOpsToMKLDNN(graph);
    torch::jit::FrozenLinearTranspose(graph);
  }
  return out;
}

// A copy holds the parameters as they are. oneDNN's ReLU and max-pool turn NaN into numbers, so
// a model whose weights went non-finite (a diverged generator) would give finite garbage through
// its copy where the model itself gives NaN, which the pipeline rejects: no copy then.
static void check_finite_parameters(const gam_model *g) {
  for (const auto &p : g->m.parameters())
    if (p.is_floating_point() && !at::isfinite(p).all().item<bool>())
      throw Error(GAM_ERR_RUNTIME, "a parameter holds a NaN or an infinity");
  for (const auto &b : g->m.buffers())
    if (b.is_floating_point() && !at::isfinite(b).all().item<bool>())
      throw Error(GAM_ERR_RUNTIME, "a buffer holds a NaN or an infinity");
}

// The copy for the model's current state, or null (infer_note says why). Caller holds infer_mu.
static std::shared_ptr<torch::jit::Module> current_copy(gam_model *g) {
  if (!g->optimize) {
    g->infer_note = "off (gam_model_optimize)";
    return nullptr;
  }
  if (g->m.is_training()) {
    g->infer_note = "the model is in train mode";
    return nullptr;
  }
  if (!current_device().is_cpu()) {
    g->infer_note = "not on the CPU";
    return nullptr;
  }
  const uint64_t v = g->version.load();
  if (g->infer_version != v) {
    g->infer.reset();
    g->infer_version = v;
    try {
      torch::NoGradGuard ng;
      check_finite_parameters(g);
      g->infer = std::make_shared<torch::jit::Module>(build_inference(g));
      g->infer_note.clear();
    } catch (const c10::Error &e) {
      g->infer_note = std::string("not built: ") + e.what_without_backtrace();
    } catch (const std::exception &e) {
      g->infer_note = std::string("not built: ") + e.what();
    }
  }
  return g->infer;
}

std::shared_ptr<torch::jit::Module> infer_module(gam_model *g, const at::Tensor *images) {
  std::shared_ptr<torch::jit::Module> copy;
  {
    std::lock_guard<std::mutex> lk(g->infer_mu);
    copy = current_copy(g);
  }
  // Only when the copy would run (never on a GPU, where this would wait for the device, also
  // inside a CUDA graph's capture): oneDNN's max-pool and ReLU turn NaN into numbers where
  // LibTorch's kernels keep it, so an image holding a NaN could pass the screen as a class.
  // Images that are not all finite go through the model itself, which carries NaN through as
  // its author wrote it (the pipeline rejects it with reason "nan"). One pass over the pixels.
  if (copy && images != nullptr && images->is_floating_point() && !at::isfinite(*images).all().item<bool>())
    copy.reset();
  if (copy) return copy;
  return std::shared_ptr<torch::jit::Module>(std::shared_ptr<torch::jit::Module>{}, &g->m);  // not owned
}

at::Tensor call_infer(gam_model *g, const char *name, std::vector<c10::IValue> args) {
  const bool images = std::strcmp(name, "sample") != 0 && !args.empty() && args[0].isTensor();
  auto mod = infer_module(g, images ? &args[0].toTensor() : nullptr);
  return tensor_result(g, name, mod->get_method(name)(std::move(args)));
}

}  // namespace gam

GAM_EXPORT int32_t gam_model_optimize(gam_model *m, int32_t on, int32_t *active, char *note, int32_t cap) {
  return gam::guard([&] {
    gam::need(m, "model");
    {
      std::lock_guard<std::mutex> lk(m->infer_mu);
      if (on >= 0) m->optimize = on != 0;
    }
    bool act = gam::infer_module(m).get() != &m->m;
    if (active != nullptr) *active = act ? 1 : 0;
    if (note != nullptr && cap > 0) {
      std::lock_guard<std::mutex> lk(m->infer_mu);
      std::strncpy(note, act ? "" : m->infer_note.c_str(), cap - 1);
      note[cap - 1] = '\0';
    }
  });
}
