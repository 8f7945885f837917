// The list of every engine symbol the bindings resolve at load, as an X-macro:
// GAM_FN(return type, name, (parameters), (arguments)). One list drives the function-pointer table,
// the dlsym loop and the call wrappers in gam_dl.c, so adding a function to gam.h is one line here.
#include "gam.h"

#define GAM_FNS(GAM_FN) \
  GAM_FN(uint32_t, gam_abi_version, (void), ()) \
  GAM_FN(const char *, gam_last_error, (void), ()) \
  GAM_FN(int32_t, gam_engine_info_get, (gam_engine_info *o), (o)) \
  GAM_FN(int32_t, gam_engine_set_threads, (int32_t n), (n)) \
  GAM_FN(int32_t, gam_engine_set_device, (const char *d), (d)) \
  GAM_FN(int32_t, gam_engine_seed, (uint64_t s), (s)) \
  GAM_FN(int32_t, gam_engine_memory, (int64_t *a, int64_t *p, int32_t r), (a, p, r)) \
  GAM_FN(int32_t, gam_tensor_from_f32, (const float *d, const int64_t *s, int32_t n, gam_tensor **o), (d, s, n, o)) \
  GAM_FN(int32_t, gam_tensor_from_i64, (const int64_t *d, const int64_t *s, int32_t n, gam_tensor **o), (d, s, n, o)) \
  GAM_FN(int32_t, gam_tensor_randn, (const int64_t *s, int32_t n, float sc, uint64_t seed, gam_tensor **o), (s, n, sc, seed, o)) \
  GAM_FN(int32_t, gam_tensor_shape, (const gam_tensor *t, int64_t *s, int32_t c, int32_t *n), (t, s, c, n)) \
  GAM_FN(int32_t, gam_tensor_copy_f32, (const gam_tensor *t, float *d, int64_t n), (t, d, n)) \
  GAM_FN(int32_t, gam_tensor_copy_i64, (const gam_tensor *t, int64_t *d, int64_t n), (t, d, n)) \
  GAM_FN(int32_t, gam_tensor_select, (const gam_tensor *t, const int64_t *i, int64_t n, gam_tensor **o), (t, i, n, o)) \
  GAM_FN(int32_t, gam_tensor_cat, (const gam_tensor *const *ts, int32_t n, gam_tensor **o), (ts, n, o)) \
  GAM_FN(void, gam_tensor_destroy, (gam_tensor *t), (t)) \
  GAM_FN(int32_t, gam_model_load, (const char *p, int32_t r, gam_model **o), (p, r, o)) \
  GAM_FN(int32_t, gam_model_meta_get, (const gam_model *m, gam_model_meta *o), (m, o)) \
  GAM_FN(int32_t, gam_model_save, (gam_model *m, const char *p), (m, p)) \
  GAM_FN(int32_t, gam_model_set_train, (gam_model *m, int32_t on), (m, on)) \
  GAM_FN(int32_t, gam_model_optimize, (gam_model *m, int32_t on, int32_t *a, char *n, int32_t c), (m, on, a, n, c)) \
  GAM_FN(void, gam_model_destroy, (gam_model *m), (m)) \
  GAM_FN(int32_t, gam_generator_sample, (gam_model *g, const gam_tensor *z, const gam_tensor *y, const gam_tensor *a, gam_tensor **o), (g, z, y, a, o)) \
  GAM_FN(int32_t, gam_generator_sample_async, (gam_model *g, const gam_tensor *z, const gam_tensor *y, const gam_tensor *a, gam_future **o), (g, z, y, a, o)) \
  GAM_FN(int32_t, gam_future_wait, (gam_future *f, gam_tensor **o), (f, o)) \
  GAM_FN(void, gam_future_destroy, (gam_future *f), (f)) \
  GAM_FN(int32_t, gam_step_create, (gam_model *g, gam_model *sc, int64_t b, float pt, int32_t gr, gam_step **o), (g, sc, b, pt, gr, o)) \
  GAM_FN(int32_t, gam_step_run, (gam_step *s, const gam_tensor *z, const gam_tensor *y, const gam_tensor *a, gam_tensor **x, int64_t *v, float *p), (s, z, y, a, x, v, p)) \
  GAM_FN(int32_t, gam_step_stats, (const gam_step *s, int64_t *r, int64_t *e, const char **f), (s, r, e, f)) \
  GAM_FN(void, gam_step_destroy, (gam_step *s), (s)) \
  GAM_FN(int32_t, gam_generator_encode, (gam_model *g, const gam_tensor *x, const gam_tensor *y, const gam_tensor *a, gam_tensor **mu, gam_tensor **lv), (g, x, y, a, mu, lv)) \
  GAM_FN(int32_t, gam_generator_confidence, (gam_model *g, const gam_tensor *x, const gam_tensor *y, const gam_tensor *a, gam_tensor **o), (g, x, y, a, o)) \
  GAM_FN(int32_t, gam_classifier_forward, (gam_model *c, const gam_tensor *x, gam_tensor **o), (c, x, o)) \
  GAM_FN(int32_t, gam_classifier_embed, (gam_model *c, const gam_tensor *x, gam_tensor **o), (c, x, o)) \
  GAM_FN(int32_t, gam_generator_search, (gam_model *g, gam_model *t, const gam_tensor *z, const gam_tensor *y, const gam_tensor *a, int32_t st, float lr, float pull, gam_tensor **o), (g, t, z, y, a, st, lr, pull, o)) \
  GAM_FN(int32_t, gam_trainer_create, (gam_model *m, float lr, float lrd, gam_trainer **o), (m, lr, lrd, o)) \
  GAM_FN(int32_t, gam_trainer_set_lr, (gam_trainer *t, float lr, float lrd), (t, lr, lrd)) \
  GAM_FN(int32_t, gam_trainer_step_vae, (gam_trainer *t, const gam_tensor *x, const gam_tensor *y, const gam_tensor *a, float *l), (t, x, y, a, l)) \
  GAM_FN(int32_t, gam_trainer_step_gan, (gam_trainer *t, const gam_tensor *x, const gam_tensor *z, const gam_tensor *y, const gam_tensor *a, float *dl, float *gl), (t, x, z, y, a, dl, gl)) \
  GAM_FN(int32_t, gam_trainer_step_classifier, (gam_trainer *t, const gam_tensor *x, const gam_tensor *y, const gam_tensor *cw, const gam_tensor *sw, float *l), (t, x, y, cw, sw, l)) \
  GAM_FN(int32_t, gam_trainer_step_classifier_soft, (gam_trainer *t, const gam_tensor *x, const gam_tensor *tg, const gam_tensor *b, const gam_tensor *sw, float *l), (t, x, tg, b, sw, l)) \
  GAM_FN(int32_t, gam_model_eval_loss, (gam_model *m, const gam_tensor *x, const gam_tensor *y, const gam_tensor *a, gam_tensor **o), (m, x, y, a, o)) \
  GAM_FN(void, gam_trainer_destroy, (gam_trainer *t), (t)) \
  GAM_FN(int32_t, gam_ops_condition, (const gam_tensor *x, int32_t c, const gam_tensor *s, uint64_t seed, gam_tensor **o), (x, c, s, seed, o)) \
  GAM_FN(int32_t, gam_ops_image_stats, (const gam_tensor *x, gam_tensor **o), (x, o)) \
  GAM_FN(int32_t, gam_ops_screen, (const gam_tensor *l, const gam_tensor *i, const gam_tensor *c, float pt, float ct, gam_tensor **v, gam_tensor **p, gam_tensor **a), (l, i, c, pt, ct, v, p, a))
