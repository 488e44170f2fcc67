#ifndef WEFT_KERNELS_H
#define WEFT_KERNELS_H
/* Small dense kernels the models call where OpenBLAS is a poor fit. */

/* output[r][o] = bias[o] + sum_k input[r][k] * weight[o][k], row-major, for a handful of
 * rows (one audio chunk's frames): no packing, each weight row read once per four input
 * rows. `bias` may be NULL. Uses AVX2 and FMA when the CPU has them. */
void weft_linear_few_rows(const float *input, int rows, const float *weight, const float *bias, int outputs,
                          int inputs, float *output);

/* The same product without SIMD intrinsics: what runs on CPUs without AVX2 and FMA. */
void weft_linear_few_rows_portable(const float *input, int rows, const float *weight, const float *bias, int outputs,
                                   int inputs, float *output);

#endif
