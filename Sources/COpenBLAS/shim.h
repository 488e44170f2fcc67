#ifndef WEFT_COPENBLAS_SHIM_H
#define WEFT_COPENBLAS_SHIM_H
/* Found through pkg-config's openblas cflags (Debian keeps it under a multiarch path). */
#include <cblas.h>

/* LAPACK's Cholesky factorisation, which OpenBLAS exports (written in C, so no hidden
   Fortran string-length argument) but Debian ships no header for. Column-major. */
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
#endif
