// Declarations of the dlopen loader (gam_dl.c) and of one wrapper per engine function:
// gamdl_<name>(...) calls the resolved symbol. Go calls only these wrappers.
#ifndef GAM_DL_H
#define GAM_DL_H
#include "gam_fns.h"

// Opens the library at path and resolves every symbol. Returns NULL on success, else a message
// (static or malloc'ed into *owned, which the caller frees).
const char *gamdl_open(const char *path, char **owned);
// Closes the library; the wrappers must not be called after.
void gamdl_close(void);
// The kernel set OpenBLAS chose (openblas_get_corename), or NULL when the engine does not use it.
const char *gamdl_blas_core(void);
// With n >= 1 sets OpenBLAS's thread count (process-wide); returns the count, or -1 when the
// engine does not use OpenBLAS.
int gamdl_blas_threads(int n);

#define GAM_DECL_WRAPPER(ret, name, params, args) ret gamdl_##name params;
GAM_FNS(GAM_DECL_WRAPPER)
#undef GAM_DECL_WRAPPER
#endif
