// Run-time loading of libgam_engine.so: one Go binary drives the CPU or the CUDA build of the
// engine, and the Go packages build and vet without LibTorch installed.
#define _GNU_SOURCE
#include "gam_dl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *lib;

#define GAM_PTR(ret, name, params, args) static ret(*p_##name) params;
GAM_FNS(GAM_PTR)
#undef GAM_PTR

const char *gamdl_open(const char *path, char **owned) {
  *owned = NULL;
  if (lib != NULL) return "engine library already open";
  // RTLD_LOCAL keeps LibTorch's symbols out of the Go process's global namespace.
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    const char *e = dlerror();
    *owned = strdup(e ? e : "dlopen failed");
    return *owned;
  }
#define GAM_SYM(ret, name, params, args)                                      \
  *(void **)(&p_##name) = dlsym(h, #name);                                   \
  if (p_##name == NULL) {                                                     \
    size_t n = strlen(path) + 128;                                            \
    *owned = malloc(n);                                                       \
    snprintf(*owned, n, "%s: missing symbol %s (engine built from another gam.h?)", path, #name); \
    dlclose(h);                                                               \
    return *owned;                                                            \
  }
  GAM_FNS(GAM_SYM)
#undef GAM_SYM
  lib = h;
  return NULL;
}

void gamdl_close(void) {
  // LibTorch registers static state and thread pools that do not survive dlclose; keep the
  // library mapped for the life of the process and only forget the handle.
  lib = NULL;
}

#define GAM_WRAP(ret, name, params, args) \
  ret gamdl_##name params { return p_##name args; }
GAM_FNS(GAM_WRAP)
#undef GAM_WRAP

const char *gamdl_blas_core(void) {
  if (lib == NULL) return NULL;
  // Found among the engine's dependencies when LibTorch uses OpenBLAS; absent otherwise.
  char *(*corename)(void) = (char *(*)(void))dlsym(lib, "openblas_get_corename");
  return corename == NULL ? NULL : corename();
}

int gamdl_blas_threads(int n) {
  if (lib == NULL) return -1;
  int (*get)(void) = (int (*)(void))dlsym(lib, "openblas_get_num_threads");
  void (*set)(int) = (void (*)(int))dlsym(lib, "openblas_set_num_threads");
  if (get == NULL || set == NULL) return -1;
  if (n >= 1) set(n);
  return get();
}
