/*
 * gam.h: the one C ABI of the gam-native engine (C11, no C++ types cross it).
 *
 * Conventions:
 * - Every function that can fail returns an int32_t status: GAM_OK (0) or a GAM_ERR_* code. The
 *   message of the last failure on the calling thread is gam_last_error(); no C++ exception, abort
 *   or CUDA error crosses this boundary.
 * - Handles are opaque. Every *_create / *_load / function with an `out` handle gives the caller
 *   ownership of a new handle, which the caller frees with the matching *_destroy. *_destroy accepts
 *   NULL and does nothing.
 * - Pointers to caller memory (const float* data, char* buffers, ...) are borrowed for the duration
 *   of the call only: the engine copies what it needs and never keeps them.
 * - Tensors are NCHW float32 images in [0, 1], int64 labels, float32 attributes [N, A]. A tensor
 *   handle may live on the GPU; data crosses to the host only through gam_tensor_copy_*.
 * - Threads. A call runs on the calling thread (only gam_generator_sample_async hands its work to
 *   the engine's one worker thread). The Go side calls from several OS threads at once: its engine
 *   thread, and on the CPU one thread per lane (bindings.Engine.Lanes), and the lanes share the
 *   same gam_model handles. What may overlap:
 *   - calls that only read a model may run on one gam_model from any number of threads at once:
 *     gam_generator_sample, _sample_async, _confidence, _encode and _search,
 *     gam_classifier_forward and _embed, gam_model_meta_get, gam_model_eval_loss in eval mode,
 *     and gam_step_run on steps of their own (the inference copy is built once, under the
 *     model's lock);
 *   - calls that change a model (gam_trainer_create and every gam_trainer_step_*, gam_model_set_train,
 *     gam_model_optimize, gam_model_destroy) must not overlap any other call on that model, nor on a
 *     step or trainer made from it; gam_model_save must not overlap a call that changes it;
 *   - a gam_tensor, gam_step or gam_trainer is used by one thread at a time (the caller
 *     serializes; the Go side frees a tensor on the thread that made it);
 *   - gam_future_wait and gam_future_destroy may be called from any thread, and may block;
 *   - gam_last_error is per thread; gam_engine_set_threads sets the calling thread's LibTorch
 *     intra-op count and the count of threads that first use LibTorch after it (the inter-op pool
 *     is sized by the first call only); gam_engine_set_device and gam_engine_seed are
 *     process-wide: call them before other threads run engine calls.
 */
#ifndef GAM_H
#define GAM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change; the Go bindings refuse a library with another value. */
#define GAM_ABI_VERSION 6u

enum {
  GAM_OK = 0,
  GAM_ERR_INVALID = 1,  /* bad argument: null handle, wrong shape or dtype */
  GAM_ERR_IO = 2,       /* file missing or unreadable / unwritable */
  GAM_ERR_CONTRACT = 3, /* a model breaks model contract v1 */
  GAM_ERR_RUNTIME = 4,  /* LibTorch or CUDA failed while running */
  GAM_ERR_OOM = 5       /* out of memory (host or device): the caller may halve the batch */
};

/* Model roles for gam_model_load. */
enum { GAM_ROLE_GENERATOR = 1, GAM_ROLE_CLASSIFIER = 2 };

/* Native conditions (gam_ops_condition); ids match the contract's attr names. */
enum { GAM_COND_BLUR = 0, GAM_COND_SHADOW = 1, GAM_COND_LOW_CONTRAST = 2, GAM_COND_NOISE = 3 };

/* Screening verdicts (gam_ops_screen), in the order they are checked. */
enum {
  GAM_SCREEN_ACCEPT = 0,
  GAM_SCREEN_NAN = 1,        /* a NaN or Inf in the logits or the confidence */
  GAM_SCREEN_LABEL = 2,      /* the screen's argmax is not the intended class */
  GAM_SCREEN_PROB = 3,       /* softmax probability of the intended class under its threshold */
  GAM_SCREEN_CONFIDENCE = 4  /* generation confidence under its threshold */
};

typedef struct gam_model gam_model;     /* a loaded TorchScript model that passed its contract */
typedef struct gam_tensor gam_tensor;   /* a tensor in engine memory (CPU or GPU) */
typedef struct gam_trainer gam_trainer; /* optimizer state for one model */
typedef struct gam_future gam_future;   /* a result being computed on the engine's worker thread */
typedef struct gam_step gam_step;       /* the pipeline's fixed-shape sample -> screen step */

/* ---- engine ---- */

/* GAM_ABI_VERSION of the library. Never fails. */
uint32_t gam_abi_version(void);

/* Message of the last failure on this thread. Owned by the engine; valid until the next gam_*
 * call on the same thread. Never NULL (empty when there was none). */
const char *gam_last_error(void);

typedef struct {
  char torch_version[32];  /* e.g. "1.13.1" */
  int32_t cuda_built;      /* 1 if this library was built with the custom CUDA kernels */
  int32_t cuda_available;  /* 1 if LibTorch sees a CUDA device */
  int32_t cuda_devices;    /* number of CUDA devices LibTorch sees */
  char device[32];         /* the device the engine uses now: "cpu" or "cuda:N" */
  char device_name[128];   /* the GPU's name, or "cpu" */
  int32_t num_threads;     /* LibTorch intra-op threads */
} gam_engine_info;

/* Fills *out (caller-owned). */
int32_t gam_engine_info_get(gam_engine_info *out);
/* Sets the calling thread's LibTorch intra-op thread count, and the count that threads take when
 * they first use LibTorch; the first call also sizes the inter-op pool (only possible before the
 * first op). */
int32_t gam_engine_set_threads(int32_t n);
/* "auto" (cuda:0 if available, else cpu), "cpu", "cuda" or "cuda:N". Models loaded and tensors
 * made after the call live there. */
int32_t gam_engine_set_device(const char *device);
/* Seeds LibTorch's global generators (dropout, training noise). */
int32_t gam_engine_seed(uint64_t seed);
/* CUDA caching allocator: bytes allocated now and the peak since the last reset (0 on CPU). */
int32_t gam_engine_memory(int64_t *allocated, int64_t *peak, int32_t reset_peak);

/* ---- tensors ---- */

/* New tensor on the engine's device holding a copy of data (row-major, shape[0..ndim)). */
int32_t gam_tensor_from_f32(const float *data, const int64_t *shape, int32_t ndim, gam_tensor **out);
int32_t gam_tensor_from_i64(const int64_t *data, const int64_t *shape, int32_t ndim, gam_tensor **out);
/* Standard normal float32 tensor times scale, from its own generator seeded with seed: the same
 * seed gives the same values on every device. */
int32_t gam_tensor_randn(const int64_t *shape, int32_t ndim, float scale, uint64_t seed, gam_tensor **out);
/* Shape into shape[0..cap); *ndim gets the rank (fails if rank > cap). */
int32_t gam_tensor_shape(const gam_tensor *t, int64_t *shape, int32_t cap, int32_t *ndim);
/* Copies the whole tensor (converted to float32 / int64) into caller memory of n elements;
 * fails unless n equals the element count. */
int32_t gam_tensor_copy_f32(const gam_tensor *t, float *dst, int64_t n);
int32_t gam_tensor_copy_i64(const gam_tensor *t, int64_t *dst, int64_t n);
/* Rows idx[0..n) of t (along dim 0) as a new tensor. */
int32_t gam_tensor_select(const gam_tensor *t, const int64_t *idx, int64_t n, gam_tensor **out);
/* Concatenation of ts[0..n) along dim 0 as a new tensor. */
int32_t gam_tensor_cat(const gam_tensor *const *ts, int32_t n, gam_tensor **out);
void gam_tensor_destroy(gam_tensor *t);

/* ---- models (contract v1) ---- */

typedef struct {
  int32_t role;            /* GAM_ROLE_* */
  char contract[32];       /* "gam.generator/v1" or "gam.classifier/v1" */
  char kind[8];            /* generators: "vae" or "gan"; classifiers: "" */
  int32_t num_classes;
  int32_t latent_dim;      /* generators only */
  char attr_names[128];    /* generators: comma-separated, may be empty */
  int32_t image_shape[3];  /* C, H, W */
  int32_t trainable;       /* has the optional training members of its kind */
  int32_t has_embed;       /* classifiers: has embed(x) */
  int32_t has_encode;      /* generators: has encode(x, y, attrs) -> (mu, logvar) */
} gam_model_meta;

/* Loads a TorchScript file and checks it against contract v1 for role (attributes, method names,
 * argument counts, and one probe call that checks output shapes). On failure *out is NULL and the
 * message names the missing or mistyped member and the expected signature. */
int32_t gam_model_load(const char *path, int32_t role, gam_model **out);
int32_t gam_model_meta_get(const gam_model *m, gam_model_meta *out);
/* Saves the model as TorchScript at path (the caller renames it into place). The archive is built
 * in memory, then written with checked calls: a failed write (ENOSPC) returns GAM_ERR_IO naming
 * path and the cause, with the partial file removed (never a std::terminate). */
int32_t gam_model_save(gam_model *m, const char *path);
/* Switches train/eval mode (eval after load). */
int32_t gam_model_set_train(gam_model *m, int32_t on);
/* Inference calls (sample, confidence, encode, forward, embed, the fused step) on the CPU run a
 * copy of the model frozen and optimized for inference (oneDNN convolutions and pooling), built
 * on the first call and again after a training step; the outputs agree to float rounding.
 * on = 1 turns that on (the default), 0 off, -1 leaves it. Builds the copy now if it is due;
 * *active (may be NULL) is 1 when inference runs the copy, and note (cap bytes, may be NULL)
 * says why not: off, train mode, not the CPU, a parameter that is not finite, or the error that
 * freezing raised. Images that hold a NaN or an infinity run the model itself. */
int32_t gam_model_optimize(gam_model *m, int32_t on, int32_t *active, char *note, int32_t cap);
void gam_model_destroy(gam_model *m);

/* sample(z [N,latent], y [N] int64, attrs [N,A]) -> *out [N,C,H,W] in [0,1]. No autograd. */
int32_t gam_generator_sample(gam_model *g, const gam_tensor *z, const gam_tensor *y,
                             const gam_tensor *attrs, gam_tensor **out);
/* confidence(x, y, attrs) -> *out [N] in [0,1]. No autograd. */
int32_t gam_generator_confidence(gam_model *g, const gam_tensor *x, const gam_tensor *y,
                                 const gam_tensor *attrs, gam_tensor **out);
/* forward(x) -> *out logits [N, num_classes]. No autograd. */
int32_t gam_classifier_forward(gam_model *c, const gam_tensor *x, gam_tensor **out);
/* embed(x) -> *out [N, D]; GAM_ERR_CONTRACT if the model has no embed. */
int32_t gam_classifier_embed(gam_model *c, const gam_tensor *x, gam_tensor **out);

/* encode(x, y, attrs) -> *mu, *logvar [N, latent_dim]: the posterior of a VAE-like generator
 * (optional member; GAM_ERR_CONTRACT if the model has none). attrs may be NULL (zeros). */
int32_t gam_generator_encode(gam_model *g, const gam_tensor *x, const gam_tensor *y, const gam_tensor *attrs,
                             gam_tensor **mu, gam_tensor **logvar);

/* gam_generator_sample, started on the engine's one worker thread so that the caller's thread can
 * run other engine calls meanwhile (on the CPU the two overlap). Arguments are checked before it
 * returns; z, y and attrs may be destroyed at once (the work holds its own references), g must live
 * until the future is waited for. On a CUDA device the call runs before returning (the GPU already
 * overlaps). *out is a new future: wait for it with gam_future_wait, free it with gam_future_destroy. */
int32_t gam_generator_sample_async(gam_model *g, const gam_tensor *z, const gam_tensor *y,
                                   const gam_tensor *attrs, gam_future **out);
/* Blocks until f is done and gives its result: *out a new tensor (the caller frees it) and GAM_OK,
 * or the work's error status, its message in gam_last_error() on the calling thread. May be called
 * from any thread, once per future. */
int32_t gam_future_wait(gam_future *f, gam_tensor **out);
/* Frees f, waiting first if it is still running. NULL is a no-op. */
void gam_future_destroy(gam_future *f);

/* Hardness search: `steps` Adam steps of size lr on z that lower the target classifier's margin
 * (intended logit minus the best other) of sample(z, y, attrs), keeping z near its prior with an L2
 * pull of strength `pull`. Returns the moved z as *out (z itself is unchanged). */
int32_t gam_generator_search(gam_model *g, gam_model *target, const gam_tensor *z, const gam_tensor *y,
                             const gam_tensor *attrs, int32_t steps, float lr, float pull,
                             gam_tensor **out);

/* ---- the fixed-shape step: sample -> screen forward -> fused screen, one call ---- */

/* A step for batches of `batch` images: sample(z, y, attrs) of generator g, forward of the screen
 * on those images, and the fused screen's verdict and probability at prob_threshold (no
 * confidence check, no compaction). With graph != 0 on a CUDA device the first batch of exactly
 * `batch` rows warms the three calls up and captures them as one CUDA graph, which later batches of
 * that size replay (static device inputs and outputs; pinned host buffers reused). Other sizes,
 * the CPU, or a capture that fails run the same calls eagerly (gam_step_stats says why). g and
 * screen must outlive the step. */
int32_t gam_step_create(gam_model *g, gam_model *screen, int64_t batch, float prob_threshold, int32_t graph,
                        gam_step **out);
/* Runs the step on z [n, latent_dim], y [n] labels, attrs [n, A] (NULL: zeros). Writes the n
 * verdicts (GAM_SCREEN_*) and n probabilities of the intended class into the caller's buffers after
 * one wait for the device, and gives the images as *x, a new tensor. */
int32_t gam_step_run(gam_step *s, const gam_tensor *z, const gam_tensor *y, const gam_tensor *attrs,
                     gam_tensor **x, int64_t *verdict, float *prob);
/* How the step ran so far: *replays graph replays, *eager eager runs, and *fallback why it does not
 * replay a graph ("" when it does, or none was asked for; owned by the step). */
int32_t gam_step_stats(const gam_step *s, int64_t *replays, int64_t *eager, const char **fallback);
void gam_step_destroy(gam_step *s);

/* ---- training ---- */

/* Adam optimizer(s) over the model's parameters: one for a VAE or classifier, two (generator and
 * discriminator, lr and lr_d) for a GAN. The model must stay alive while the trainer lives. */
int32_t gam_trainer_create(gam_model *m, float lr, float lr_d, gam_trainer **out);
/* Sets the learning rate(s) of the trainer's optimizer(s) for the steps that follow (a schedule);
 * lr_d is the GAN discriminator's and is ignored for other models. */
int32_t gam_trainer_set_lr(gam_trainer *tr, float lr, float lr_d);
/* One step on the mean of loss(x, y, attrs); *loss gets that mean before the step. */
int32_t gam_trainer_step_vae(gam_trainer *tr, const gam_tensor *x, const gam_tensor *y,
                             const gam_tensor *attrs, float *loss);
/* One discriminator step on d_loss(x, z, y, attrs), then one generator step on g_loss(z, y, attrs). */
int32_t gam_trainer_step_gan(gam_trainer *tr, const gam_tensor *x, const gam_tensor *z,
                             const gam_tensor *y, const gam_tensor *attrs, float *d_loss,
                             float *g_loss);
/* One step of cross-entropy of forward(x) against y. class_weights [num_classes] and
 * sample_weights [N] are optional (NULL): the loss is sum(w_i * ce_i) / sum(w_i) with
 * w_i = class_weights[y_i] * sample_weights[i]. */
int32_t gam_trainer_step_classifier(gam_trainer *tr, const gam_tensor *x, const gam_tensor *y,
                                    const gam_tensor *class_weights,
                                    const gam_tensor *sample_weights, float *loss);
/* One step of soft-target cross-entropy: targets [N, num_classes] (rows of class probabilities,
 * e.g. one-hot, a mixup pair or a blend's mixing weights), logit_bias [num_classes] added to
 * forward(x) inside the loss only (balanced softmax / logit adjustment: the log class prior;
 * NULL: none), sample_weights [N] optional (NULL). The loss is
 * sum_i w_i * -sum_k t_ik log softmax(forward(x_i) + b)_k / sum_i w_i. Inference is unchanged:
 * the bias is never part of the model. */
int32_t gam_trainer_step_classifier_soft(gam_trainer *tr, const gam_tensor *x, const gam_tensor *targets,
                                         const gam_tensor *logit_bias, const gam_tensor *sample_weights,
                                         float *loss);
/* Per-sample loss without a step (VAE loss, or classifier cross-entropy): *out [N]. */
int32_t gam_model_eval_loss(gam_model *m, const gam_tensor *x, const gam_tensor *y,
                            const gam_tensor *attrs, gam_tensor **out);
void gam_trainer_destroy(gam_trainer *tr);

/* ---- native ops (cuda/ kernels, with a CPU path computing the same function) ---- */

/* Applies condition (GAM_COND_*) to images x [N,C,H,W] with per-image severity [N] in [0,1].
 * Severity 0 leaves an image unchanged. Noise draws from a generator seeded with seed. */
int32_t gam_ops_condition(const gam_tensor *x, int32_t condition, const gam_tensor *severity,
                          uint64_t seed, gam_tensor **out);
/* Per-image statistics of x [N,C,H,W] as *out [N,4] float32: sharpness (variance of the
 * Laplacian), brightness (mean), contrast (standard deviation), noise (robust high-pass estimate). */
int32_t gam_ops_image_stats(const gam_tensor *x, gam_tensor **out);
/* Fused screening over logits [N,K]: softmax, argmax, intended-label check, probability and
 * confidence thresholds, NaN/Inf check, in one pass. conf [N] may be NULL (no confidence check).
 * *verdict [N] int64 GAM_SCREEN_*, *prob [N] float32 softmax of the intended class, *accepted [M]
 * int64 indices of the accepted rows, in order. */
int32_t gam_ops_screen(const gam_tensor *logits, const gam_tensor *intended, const gam_tensor *conf,
                       float prob_threshold, float conf_threshold, gam_tensor **verdict,
                       gam_tensor **prob, gam_tensor **accepted);

#ifdef __cplusplus
}
#endif

#endif /* GAM_H */
