#ifndef WEFT_COPENBLAS_SHIM_H
#define WEFT_COPENBLAS_SHIM_H
/* Found through pkg-config's openblas cflags (Debian keeps it under a multiarch path). */
#include <cblas.h>
#endif
