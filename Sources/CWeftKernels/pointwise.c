#include "weft_kernels.h"

#include <stddef.h>
#include <stdint.h>

#include "cpu_features.h"

/* Where column o's weight for input 0 is: columns go in panels of 16, `panel_stride` apart
 * (16 for input-major weights, where the panels are just the row's columns). */
#define WEIGHT_ADDRESS(o) (weight_by_input + (size_t)((o) / 16) * panel_stride + (o) % 16)

/* How many inputs ahead the first tile of rows asks for its weights. That tile reads them
 * from memory (the text encoder streams 42 MB of them at batch 1), and with the hardware's
 * prefetch alone its batch 1 passes were 6-11% slower (docs/BENCHMARKS.md, twenty-second
 * session); later tiles find the weights in cache, where the hint only takes load slots
 * (vision, which has no tile that few rows, was no faster with it on every tile). Past a
 * panel's end the hint reaches the next panel, which the next tile reads: an address,
 * never dereferenced, so past the weights it is harmless. */
#define PREFETCH_INPUTS 16
#define PREFETCH_WEIGHTS(pointer, k) \
  __builtin_prefetch((const void *)((uintptr_t)(pointer) + ((size_t)(k) + PREFETCH_INPUTS) * weight_stride * sizeof(float)))

/* A tile of ROWS rows by VECTORS vectors of output columns [o, o + WIDTH * VECTORS): its
 * sums stay in registers over every input, each weight vector is loaded once for all the
 * tile's rows, and the tile is written once with bias, clamp and residual. X(i, k) reads
 * the tile's row i, input k; rows past `count` (a short tile) are not written. A macro so
 * the 512- and 256-bit bodies and their tile shapes share it. */
#define POINTWISE_TILE(VEC, WIDTH, ROWS, VECTORS, X)                                                       \
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
      _Pragma("clang loop unroll(full)")                                                                   \
      for (int j = 0; j < (VECTORS); j++) weight[j] = *(const VEC *)(panel[j] + (size_t)k * weight_stride); \
      if (r == 0) {                                                                                        \
        _Pragma("clang loop unroll(full)")                                                                 \
        for (int j = 0; j < (VECTORS); j++) PREFETCH_WEIGHTS(panel[j], k);                                 \
      }                                                                                                    \
      _Pragma("clang loop unroll(full)")                                                                   \
      for (int i = 0; i < (ROWS); i++) {                                                                   \
        const float x = X(i, k);                                                                           \
        _Pragma("clang loop unroll(full)")                                                                 \
        for (int j = 0; j < (VECTORS); j++) sum[i][j] += x * weight[j];                                    \
      }                                                                                                    \
    }                                                                                                      \
    for (int i = 0; i < (ROWS) && i < count; i++) {                                                        \
      float *target = output + (size_t)(r + i) * output_stride + o;                                        \
      const float *add = residual ? residual + (size_t)(r + i) * output_stride + o : NULL;                 \
      for (int j = 0; j < (VECTORS); j++) {                                                                \
        VEC value = sum[i][j];                                                                             \
        if (clamp) value = __builtin_elementwise_min(__builtin_elementwise_max(value, (VEC){0}), (VEC){0} + 6); \
        if (add) value += *(const VEC *)(add + (WIDTH) * j);                                               \
        *(VEC *)(target + (WIDTH) * j) = value;                                                            \
      }                                                                                                    \
    }                                                                                                      \
  }

/* Columns left over after the vector tiles, one at a time for the tile's rows. */
#define POINTWISE_COLUMNS(X)                                                          \
  for (; o < columns; o++) {                                                          \
    for (int i = 0; i < count; i++) {                                                 \
      float value = bias[o];                                                          \
      for (int k = 0; k < inputs; k++) value += X(i, k) * WEIGHT_ADDRESS(o)[(size_t)k * weight_stride]; \
      if (clamp) value = value < 0 ? 0 : (value > 6 ? 6 : value);                     \
      if (residual) value += residual[(size_t)(r + i) * output_stride + o];           \
      output[(size_t)(r + i) * output_stride + o] = value;                            \
    }                                                                                 \
  }

/* Input k of a whole tile's row i; of a short tile's, where rows past `count` read the
 * last row again (with the row pointers in `line`: indexing from one pointer was 10-20%
 * faster for the layers with 16-32 inputs, so whole tiles keep it). */
#define WHOLE_ROW_INPUT(i, k) input[(size_t)(r + (i)) * inputs + (k)]
#define SHORT_ROW_INPUT(i, k) line[i][k]

/* One tile of ROWS rows from row r across the columns: the tiles TILES names (widest
 * first), then one column at a time; `count` of them real if `short_tile`. */
#define POINTWISE_ROWS(TILES, ROWS, short_tile)                                               \
  if (short_tile) {                                                                           \
    const float *line[ROWS];                                                                  \
    for (int i = 0; i < (ROWS); i++) line[i] = input + (size_t)(r + (i < count ? i : count - 1)) * inputs; \
    int o = 0;                                                                                \
    TILES(ROWS, SHORT_ROW_INPUT)                                                              \
    POINTWISE_COLUMNS(SHORT_ROW_INPUT)                                                        \
  } else {                                                                                    \
    int o = 0;                                                                                \
    TILES(ROWS, WHOLE_ROW_INPUT)                                                              \
    POINTWISE_COLUMNS(WHOLE_ROW_INPUT)                                                        \
  }

/* A tile of exactly `count` rows, five to twelve, with the tiles TILES_TWELVE names: a
 * tile of twelve given eleven rows would multiply-add a twelfth for nothing, and at batch
 * 1 the products run near the multiply-add units' peak (docs/BENCHMARKS.md, twenty-second
 * session). */
#define EXACT_ROWS(TILES_TWELVE, N) \
  case N: {                         \
    POINTWISE_ROWS(TILES_TWELVE, N, 0) \
  } break;

/* With 64 inputs or more, rows twelve at a time while more than four are left (the last
 * tile may have five to eleven, a short text's tokens, and still reads the weights once):
 * twelve rows by two vectors of columns load two weight vectors and twelve inputs for 24
 * multiply-adds, where four by four load eight for 16 (an 11-row product 1.26-1.33x faster
 * on one core; with 16-27 inputs the tile's setup and stores cost more than that,
 * docs/BENCHMARKS.md, nineteenth session). Then four at a time (two or three left go as
 * one short tile of four), then one. */
#define POINTWISE_BODY(TILES_TWELVE, TILES)                                       \
  int r = 0;                                                                      \
  for (; inputs >= 64 && rows - r > 4; r += 12) {                                 \
    const int count = rows - r < 12 ? rows - r : 12;                              \
    switch (count) {                                                              \
      EXACT_ROWS(TILES_TWELVE, 12)                                                \
      EXACT_ROWS(TILES_TWELVE, 11)                                                \
      EXACT_ROWS(TILES_TWELVE, 10)                                                \
      EXACT_ROWS(TILES_TWELVE, 9)                                                 \
      EXACT_ROWS(TILES_TWELVE, 8)                                                 \
      EXACT_ROWS(TILES_TWELVE, 7)                                                 \
      EXACT_ROWS(TILES_TWELVE, 6)                                                 \
      EXACT_ROWS(TILES_TWELVE, 5)                                                 \
    }                                                                             \
  }                                                                               \
  for (; r + 4 <= rows; r += 4) {                                                 \
    const int count = 4;                                                          \
    POINTWISE_ROWS(TILES, 4, 0)                                                   \
  }                                                                               \
  if (rows - r > 1) {                                                             \
    const int count = rows - r;                                                   \
    POINTWISE_ROWS(TILES, 4, 1)                                                   \
    r = rows;                                                                     \
  }                                                                               \
  for (; r < rows; r++) {                                                         \
    const int count = 1;                                                          \
    POINTWISE_ROWS(TILES, 1, 0)                                                   \
  }

typedef float v8 __attribute__((vector_size(32), aligned(4)));

#define POINTWISE_PARAMETERS                                                                                  \
  const float *input, int rows, int inputs, const float *weight_by_input, int weight_stride, int panel_stride, \
      const float *bias, int columns, const float *residual, float *output, int output_stride, int clamp

/* 16 ymm registers: a 4 × 2 tile's 8 sums, 2 weight vectors and the broadcast input; a
 * 12 × 1 tile's 12 sums. */
#define TILES_256(ROWS, X) POINTWISE_TILE(v8, 8, ROWS, 2, X) POINTWISE_TILE(v8, 8, ROWS, 1, X)
#define TILES_256_TWELVE(ROWS, X) POINTWISE_TILE(v8, 8, ROWS, 1, X)

void weft_pointwise_portable(POINTWISE_PARAMETERS) { POINTWISE_BODY(TILES_256_TWELVE, TILES_256) }

#if defined(__x86_64__)
typedef float v16 __attribute__((vector_size(64), aligned(4)));

__attribute__((target("avx2,fma"))) static void pointwise_avx2(POINTWISE_PARAMETERS) {
  POINTWISE_BODY(TILES_256_TWELVE, TILES_256)
}

/* 32 zmm registers: a 4 × 4 tile's 16 sums (64 columns), 4 weight vectors, the input;
 * what is left of a lane's columns in one tile of 48, 32 or 16 (a narrower tile loads a
 * weight vector for fewer sums), then 8 (layers of 24 and 40 channels). Twelve rows: 24
 * sums by two vectors (32 columns), then one, then 8. */
#define TILES_512(ROWS, X)                                                                          \
  POINTWISE_TILE(v16, 16, ROWS, 4, X) POINTWISE_TILE(v16, 16, ROWS, 3, X) POINTWISE_TILE(v16, 16, ROWS, 2, X) \
  POINTWISE_TILE(v16, 16, ROWS, 1, X) POINTWISE_TILE(v8, 8, ROWS, 1, X)
#define TILES_512_TWELVE(ROWS, X) \
  POINTWISE_TILE(v16, 16, ROWS, 2, X) POINTWISE_TILE(v16, 16, ROWS, 1, X) POINTWISE_TILE(v8, 8, ROWS, 1, X)

__attribute__((target("avx512f,fma"))) static void pointwise_avx512(POINTWISE_PARAMETERS) {
  POINTWISE_BODY(TILES_512_TWELVE, TILES_512)
}
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
  if (weft_cpu_has_avx512_skylake()) {
    pointwise_avx512(POINTWISE_ARGUMENTS);
    return;
  }
#endif
  weft_pointwise_avx2(POINTWISE_ARGUMENTS);
}
