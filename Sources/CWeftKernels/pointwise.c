#include "weft_kernels.h"

#include <stddef.h>

#include "cpu_features.h"

/* Where column o's weight for input 0 is: columns go in panels of 16, `panel_stride` apart
 * (16 for input-major weights, where the panels are just the row's columns). */
#define WEIGHT_ADDRESS(o) (weight_by_input + (size_t)((o) / 16) * panel_stride + (o) % 16)

/* A tile of ROWS rows by VECTORS vectors of output columns [o, o + WIDTH * VECTORS): its
 * sums stay in registers over every input, each weight vector is loaded once for all the
 * tile's rows, and the tile is written once with bias, clamp and residual. A macro so the
 * 512- and 256-bit bodies and their tile shapes share it. */
#define POINTWISE_TILE(VEC, WIDTH, ROWS, VECTORS)                                                          \
  for (; o + (WIDTH) * (VECTORS) <= columns; o += (WIDTH) * (VECTORS)) {                                   \
    VEC sum[ROWS][VECTORS];                                                                                \
    for (int j = 0; j < (VECTORS); j++) {                                                                  \
      const VEC b = *(const VEC *)(bias + o + (WIDTH) * j);                                                \
      for (int i = 0; i < (ROWS); i++) sum[i][j] = b;                                                      \
    }                                                                                                      \
    const float *panel[VECTORS];                                                                           \
    for (int j = 0; j < (VECTORS); j++) panel[j] = WEIGHT_ADDRESS(o + (WIDTH) * j);                        \
    for (int k = 0; k < inputs; k++) {                                                                     \
      VEC weight[VECTORS];                                                                                 \
      for (int j = 0; j < (VECTORS); j++) weight[j] = *(const VEC *)(panel[j] + (size_t)k * weight_stride); \
      for (int i = 0; i < (ROWS); i++) {                                                                   \
        const float x = input[(size_t)(r + i) * inputs + k];                                               \
        for (int j = 0; j < (VECTORS); j++) sum[i][j] += x * weight[j];                                    \
      }                                                                                                    \
    }                                                                                                      \
    for (int i = 0; i < (ROWS); i++) {                                                                     \
      float *line = output + (size_t)(r + i) * output_stride + o;                                          \
      const float *add = residual ? residual + (size_t)(r + i) * output_stride + o : NULL;                 \
      for (int j = 0; j < (VECTORS); j++) {                                                                \
        VEC value = sum[i][j];                                                                             \
        if (clamp) value = __builtin_elementwise_min(__builtin_elementwise_max(value, (VEC){0}), (VEC){0} + 6); \
        if (add) value += *(const VEC *)(add + (WIDTH) * j);                                               \
        *(VEC *)(line + (WIDTH) * j) = value;                                                              \
      }                                                                                                    \
    }                                                                                                      \
  }

/* Columns left over after the vector tiles, one at a time for ROWS rows. */
#define POINTWISE_COLUMNS(ROWS)                                                       \
  for (; o < columns; o++) {                                                          \
    for (int i = 0; i < (ROWS); i++) {                                                \
      float value = bias[o];                                                          \
      for (int k = 0; k < inputs; k++)                                                \
        value += input[(size_t)(r + i) * inputs + k] * WEIGHT_ADDRESS(o)[(size_t)k * weight_stride]; \
      if (clamp) value = value < 0 ? 0 : (value > 6 ? 6 : value);                     \
      if (residual) value += residual[(size_t)(r + i) * output_stride + o];           \
      output[(size_t)(r + i) * output_stride + o] = value;                            \
    }                                                                                 \
  }

/* Rows four at a time, then one; for each, the columns in the tiles TILES names (widest
 * first), then one at a time. */
#define POINTWISE_BODY(TILES)   \
  int r = 0;                    \
  for (; r + 4 <= rows; r += 4) { \
    int o = 0;                  \
    TILES(4)                    \
    POINTWISE_COLUMNS(4)        \
  }                             \
  for (; r < rows; r++) {       \
    int o = 0;                  \
    TILES(1)                    \
    POINTWISE_COLUMNS(1)        \
  }

typedef float v8 __attribute__((vector_size(32), aligned(4)));

#define POINTWISE_PARAMETERS                                                                                  \
  const float *input, int rows, int inputs, const float *weight_by_input, int weight_stride, int panel_stride, \
      const float *bias, int columns, const float *residual, float *output, int output_stride, int clamp

/* 16 ymm registers: a 4 × 2 tile's 8 sums, 2 weight vectors and the broadcast input. */
#define TILES_256(ROWS) POINTWISE_TILE(v8, 8, ROWS, 2) POINTWISE_TILE(v8, 8, ROWS, 1)

void weft_pointwise_portable(POINTWISE_PARAMETERS) { POINTWISE_BODY(TILES_256) }

#if defined(__x86_64__)
typedef float v16 __attribute__((vector_size(64), aligned(4)));

__attribute__((target("avx2,fma"))) static void pointwise_avx2(POINTWISE_PARAMETERS) { POINTWISE_BODY(TILES_256) }

/* 32 zmm registers: a 4 × 4 tile's 16 sums (64 columns), 4 weight vectors, the input;
 * what is left of a lane's columns in one tile of 48, 32 or 16 (a narrower tile loads a
 * weight vector for fewer sums), then 8 (layers of 24 and 40 channels). */
#define TILES_512(ROWS)                                                                       \
  POINTWISE_TILE(v16, 16, ROWS, 4) POINTWISE_TILE(v16, 16, ROWS, 3) POINTWISE_TILE(v16, 16, ROWS, 2) \
  POINTWISE_TILE(v16, 16, ROWS, 1) POINTWISE_TILE(v8, 8, ROWS, 1)

__attribute__((target("avx512f,fma"))) static void pointwise_avx512(POINTWISE_PARAMETERS) { POINTWISE_BODY(TILES_512) }
#endif

#define POINTWISE_ARGUMENTS \
  input, rows, inputs, weight_by_input, weight_stride, panel_stride, bias, columns, residual, output, output_stride, clamp

void weft_pointwise_avx2(POINTWISE_PARAMETERS) {
#if defined(__x86_64__)
  if (weft_cpu_has_avx2_fma()) {
    pointwise_avx2(POINTWISE_ARGUMENTS);
    return;
  }
#endif
  weft_pointwise_portable(POINTWISE_ARGUMENTS);
}

void weft_pointwise(POINTWISE_PARAMETERS) {
#if defined(__x86_64__)
  static int has_avx512 = -1; /* a benign race: every thread computes the same value */
  if (has_avx512 < 0) has_avx512 = weft_cpu_has_avx512_skylake();
  if (has_avx512) {
    pointwise_avx512(POINTWISE_ARGUMENTS);
    return;
  }
#endif
  weft_pointwise_avx2(POINTWISE_ARGUMENTS);
}
