// Training steps for the three model kinds, with Adam over the TorchScript module's parameters.
#include <memory>

#include "model.h"

struct gam_trainer {
  gam_model *m;
  std::unique_ptr<torch::optim::Adam> opt;    // VAE, classifier, or the GAN's generator
  std::unique_ptr<torch::optim::Adam> opt_d;  // the GAN's discriminator
};

namespace {

std::vector<at::Tensor> params_of(const torch::jit::Module &m) {
  std::vector<at::Tensor> v;
  for (const auto &p : m.parameters()) v.push_back(p);
  if (v.empty()) throw gam::Error(GAM_ERR_CONTRACT, "module has no parameters to train");
  return v;
}

// Train mode for the length of one step; eval mode after, so inference calls see eval.
// Its parameters change, so the model's inference copy is rebuilt on the next inference call.
// Training must not run beside inference on the same model (the pipeline and the trainer take
// turns); the second bump only keeps a copy built in between from being kept.
struct TrainMode {
  gam_model *g;
  explicit TrainMode(gam_model *gg) : g(gg) {
    g->version++;
    g->m.train(true);
  }
  ~TrainMode() {
    g->m.train(false);
    g->version++;  // again after the step: a copy built during it holds half-updated weights
  }
};

float step(torch::optim::Adam &opt, const at::Tensor &loss) {
  opt.zero_grad();
  loss.backward();
  opt.step();
  return loss.detach().item<float>();
}

gam_model *model_of(gam_trainer *tr, const char *kind) {
  gam::need(tr, "trainer");
  gam_model *m = tr->m;
  bool ok = std::string(kind) == "classifier" ? m->meta.role == GAM_ROLE_CLASSIFIER
                                             : (m->meta.role == GAM_ROLE_GENERATOR && std::string(m->meta.kind) == kind);
  if (!ok) throw gam::Error(GAM_ERR_INVALID, std::string("this trainer's model ") + m->path + " is not a " + kind);
  return m;
}

at::Tensor weighted_ce(gam_model *m, const at::Tensor &x, const gam_tensor *yh, const gam_tensor *cw, const gam_tensor *sw) {
  int64_t n = gam::check_images(m, x, "x");
  const at::Tensor &y = gam::check_labels(m, yh, n);
  at::Tensor logits = gam::call_tensor(m, "forward", {x});
  at::Tensor ce = torch::nn::functional::cross_entropy(
      logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  at::Tensor w = torch::ones({n}, ce.options());
  if (cw != nullptr) {
    if (cw->t.dim() != 1 || cw->t.size(0) != m->meta.num_classes)
      throw gam::Error(GAM_ERR_INVALID, "class_weights must be [" + std::to_string(m->meta.num_classes) + "]");
    w = w * cw->t.to(ce.options()).index_select(0, y);
  }
  if (sw != nullptr) {
    if (sw->t.dim() != 1 || sw->t.size(0) != n)
      throw gam::Error(GAM_ERR_INVALID, "sample_weights must be [" + std::to_string(n) + "]");
    w = w * sw->t.to(ce.options());
  }
  return (w * ce).sum() / w.sum().clamp_min(1e-12);
}

at::Tensor soft_ce(gam_model *m, const at::Tensor &x, const gam_tensor *th, const gam_tensor *bh, const gam_tensor *sw) {
  int64_t n = gam::check_images(m, x, "x");
  int64_t k = m->meta.num_classes;
  const at::Tensor &t = gam::tensor_of(th, "targets");
  if (t.dim() != 2 || t.size(0) != n || t.size(1) != k)
    throw gam::Error(GAM_ERR_INVALID, "targets must be [" + std::to_string(n) + ", " + std::to_string(k) + "]");
  at::Tensor logits = gam::call_tensor(m, "forward", {x});
  if (bh != nullptr) {
    if (bh->t.dim() != 1 || bh->t.size(0) != k)
      throw gam::Error(GAM_ERR_INVALID, "logit_bias must be [" + std::to_string(k) + "]");
    logits = logits + bh->t.to(logits.options()).unsqueeze(0);
  }
  at::Tensor ce = -(t.to(logits.options()) * torch::log_softmax(logits, 1)).sum(1);
  if (sw == nullptr) return ce.mean();
  if (sw->t.dim() != 1 || sw->t.size(0) != n)
    throw gam::Error(GAM_ERR_INVALID, "sample_weights must be [" + std::to_string(n) + "]");
  at::Tensor w = sw->t.to(ce.options());
  return (w * ce).sum() / w.sum().clamp_min(1e-12);
}

}  // namespace

GAM_EXPORT int32_t gam_trainer_create(gam_model *m, float lr, float lr_d, gam_trainer **out) {
  return gam::guard([&] {
    gam::need(m, "model");
    gam::need(out, "out");
    *out = nullptr;
    if (!(lr > 0)) throw gam::Error(GAM_ERR_INVALID, "lr must be > 0");
    if (!m->meta.trainable)
      throw gam::Error(GAM_ERR_CONTRACT, "model " + m->path + " has no training members (" +
                                             (std::string(m->meta.kind) == "gan" ? "d_loss/g_loss" : "loss") +
                                             "): it is used as it comes");
    auto tr = std::make_unique<gam_trainer>();
    tr->m = m;
    if (std::string(m->meta.kind) == "gan") {
      if (!(lr_d > 0)) throw gam::Error(GAM_ERR_INVALID, "lr_d must be > 0 for a gan");
      auto gp = params_of(m->m.attr("generator").toModule());
      auto dp = params_of(m->m.attr("discriminator").toModule());
      // betas 0.5/0.999: the usual setting that keeps GAN training from oscillating.
      tr->opt = std::make_unique<torch::optim::Adam>(gp, torch::optim::AdamOptions(lr).betas({0.5, 0.999}));
      tr->opt_d = std::make_unique<torch::optim::Adam>(dp, torch::optim::AdamOptions(lr_d).betas({0.5, 0.999}));
    } else {
      tr->opt = std::make_unique<torch::optim::Adam>(params_of(m->m), torch::optim::AdamOptions(lr));
    }
    *out = tr.release();
  });
}

GAM_EXPORT int32_t gam_trainer_set_lr(gam_trainer *tr, float lr, float lr_d) {
  return gam::guard([&] {
    gam::need(tr, "trainer");
    if (!(lr > 0)) throw gam::Error(GAM_ERR_INVALID, "lr must be > 0, got " + std::to_string(lr));
    auto set = [](torch::optim::Adam &opt, float v) {
      for (auto &g : opt.param_groups()) static_cast<torch::optim::AdamOptions &>(g.options()).lr(v);
    };
    set(*tr->opt, lr);
    if (tr->opt_d) {
      if (!(lr_d > 0)) throw gam::Error(GAM_ERR_INVALID, "lr_d must be > 0, got " + std::to_string(lr_d));
      set(*tr->opt_d, lr_d);
    }
  });
}

GAM_EXPORT int32_t gam_trainer_step_vae(gam_trainer *tr, const gam_tensor *x, const gam_tensor *y,
                                        const gam_tensor *attrs, float *loss) {
  return gam::guard([&] {
    gam_model *m = model_of(tr, "vae");
    gam::need(loss, "loss");
    const at::Tensor &xt = gam::tensor_of(x, "x");
    int64_t n = gam::check_images(m, xt, "x");
    const at::Tensor &yt = gam::check_labels(m, y, n);
    at::Tensor a = gam::attrs_or_zeros(m, attrs, n, xt.device());
    TrainMode tm(m);
    *loss = step(*tr->opt, gam::call_tensor(m, "loss", {xt, yt, a}).mean());
  });
}

GAM_EXPORT int32_t gam_trainer_step_gan(gam_trainer *tr, const gam_tensor *x, const gam_tensor *z, const gam_tensor *y,
                                        const gam_tensor *attrs, float *d_loss, float *g_loss) {
  return gam::guard([&] {
    gam_model *m = model_of(tr, "gan");
    gam::need(d_loss, "d_loss");
    gam::need(g_loss, "g_loss");
    const at::Tensor &xt = gam::tensor_of(x, "x");
    int64_t n = gam::check_images(m, xt, "x");
    const at::Tensor &zt = gam::tensor_of(z, "z");
    if (zt.dim() != 2 || zt.size(0) != n || zt.size(1) != m->meta.latent_dim)
      throw gam::Error(GAM_ERR_INVALID, "z must be [N, latent_dim] with the same N as x");
    const at::Tensor &yt = gam::check_labels(m, y, n);
    at::Tensor a = gam::attrs_or_zeros(m, attrs, n, xt.device());
    TrainMode tm(m);
    *d_loss = step(*tr->opt_d, gam::call_tensor(m, "d_loss", {xt, zt, yt, a}));
    *g_loss = step(*tr->opt, gam::call_tensor(m, "g_loss", {zt, yt, a}));
  });
}

GAM_EXPORT int32_t gam_trainer_step_classifier(gam_trainer *tr, const gam_tensor *x, const gam_tensor *y,
                                               const gam_tensor *class_weights, const gam_tensor *sample_weights,
                                               float *loss) {
  return gam::guard([&] {
    gam_model *m = model_of(tr, "classifier");
    gam::need(loss, "loss");
    TrainMode tm(m);
    *loss = step(*tr->opt, weighted_ce(m, gam::tensor_of(x, "x"), y, class_weights, sample_weights));
  });
}

GAM_EXPORT int32_t gam_trainer_step_classifier_soft(gam_trainer *tr, const gam_tensor *x, const gam_tensor *targets,
                                                    const gam_tensor *logit_bias, const gam_tensor *sample_weights,
                                                    float *loss) {
  return gam::guard([&] {
    gam_model *m = model_of(tr, "classifier");
    gam::need(loss, "loss");
    TrainMode tm(m);
    *loss = step(*tr->opt, soft_ce(m, gam::tensor_of(x, "x"), targets, logit_bias, sample_weights));
  });
}

GAM_EXPORT int32_t gam_model_eval_loss(gam_model *m, const gam_tensor *x, const gam_tensor *y, const gam_tensor *attrs,
                                       gam_tensor **out) {
  return gam::guard([&] {
    gam::need(m, "model");
    gam::need(out, "out");
    *out = nullptr;
    const at::Tensor &xt = gam::tensor_of(x, "x");
    int64_t n = gam::check_images(m, xt, "x");
    const at::Tensor &yt = gam::check_labels(m, y, n);
    torch::NoGradGuard ng;
    if (m->meta.role == GAM_ROLE_CLASSIFIER) {
      at::Tensor logits = gam::call_tensor(m, "forward", {xt});
      *out = gam::wrap(torch::nn::functional::cross_entropy(
          logits, yt, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone)));
      return;
    }
    if (std::string(m->meta.kind) != "vae" || !m->meta.trainable)
      throw gam::Error(GAM_ERR_CONTRACT, "model " + m->path + " has no per-sample `loss`");
    *out = gam::wrap(gam::call_tensor(m, "loss", {xt, yt, gam::attrs_or_zeros(m, attrs, n, xt.device())}));
  });
}

GAM_EXPORT void gam_trainer_destroy(gam_trainer *tr) { delete tr; }
