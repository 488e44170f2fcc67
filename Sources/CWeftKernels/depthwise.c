#include "weft_kernels.h"

#include <stddef.h>

#include "cpu_features.h"

typedef float v8 __attribute__((vector_size(32), aligned(4)));

/* A macro, not a function: a function returning a 32-byte vector has a different ABI with
 * and without AVX, which compilers warn about even when it is inlined. */
#define LOAD8(pointer) (*(const v8 *)(pointer))

#define DEPTHWISE_PARAMETERS                                                                                   \
  const float *input, int input_first_row, const weft_depthwise_geometry *geometry, const float *weights,        \
      const float *bias, float *output, int output_first_row, int row_begin, int row_end, int channel_begin,    \
      int channel_end
#define DEPTHWISE_ARGUMENTS                                                                                    \
  input, input_first_row, geometry, weights, bias, output, output_first_row, row_begin, row_end, channel_begin,  \
      channel_end

/* One output pixel, channels [c, c_end): eight at a time, then one at a time. Its image's
 * line y is `input`'s row `image_row + y` (negative for an input that starts past the
 * image's first line). */
static inline __attribute__((always_inline)) void depthwise_pixel(const float *input, ptrdiff_t image_row,
                                                                  const weft_depthwise_geometry *g,
                                                                  const float *weights, const float *bias, float *target,
                                                                  int top, int ky_begin, int ky_end, int left, int c, int c_end) {
  const int channels = g->channels, size = g->size, kernel = g->kernel;
  const v8 zero = {0, 0, 0, 0, 0, 0, 0, 0}, six = {6, 6, 6, 6, 6, 6, 6, 6};
  int kx_begin = left < 0 ? -left : 0, kx_end = kernel < size - left ? kernel : size - left;
  for (; c + 8 <= c_end; c += 8) {
    v8 sum = LOAD8(bias + c);
    for (int ky = ky_begin; ky < ky_end; ky++) {
      const float *line = input + ((image_row + top + ky) * size + left) * channels + c;
      const float *taps = weights + (size_t)ky * kernel * channels + c;
      for (int kx = kx_begin; kx < kx_end; kx++) sum += LOAD8(line + (size_t)kx * channels) * LOAD8(taps + (size_t)kx * channels);
    }
    *(v8 *)(target + c) = __builtin_elementwise_min(__builtin_elementwise_max(sum, zero), six);
  }
  for (; c < c_end; c++) {
    float sum = bias[c];
    for (int ky = ky_begin; ky < ky_end; ky++)
      for (int kx = kx_begin; kx < kx_end; kx++)
        sum += input[((image_row + top + ky) * size + left + kx) * channels + c] * weights[(size_t)(ky * kernel + kx) * channels + c];
    target[c] = sum < 0 ? 0 : (sum > 6 ? 6 : sum);
  }
}

/* The portable loop, pixel by pixel (baseline x86-64: `sum += pixel * weight` on eight
 * channels is two SSE multiplies and adds). The vector builds below run it for kernels
 * other than 3×3 and 5×5, where it becomes one fused multiply-add, and inline the pixel
 * loop for channels past their last whole vector. */
static inline __attribute__((always_inline)) void depthwise_body(DEPTHWISE_PARAMETERS) {
  const weft_depthwise_geometry *g = geometry;
  const int channels = g->channels, out = g->output_size, size = g->size, kernel = g->kernel;
  for (int row = row_begin; row < row_end; row++) {
    int image = row / out, oy = row % out;
    int top = oy * g->stride - g->pad_before;
    int ky_begin = top < 0 ? -top : 0, ky_end = kernel < size - top ? kernel : size - top;
    const ptrdiff_t image_row = (ptrdiff_t)image * size - input_first_row;
    float *row_output = output + ((ptrdiff_t)row - output_first_row) * out * channels;
    for (int ox = 0; ox < out; ox++) {
      depthwise_pixel(input, image_row, g, weights, bias, row_output + (size_t)ox * channels, top, ky_begin, ky_end,
                      ox * g->stride - g->pad_before, channel_begin, channel_end);
    }
  }
}

#if defined(__x86_64__)
typedef float v16 __attribute__((vector_size(64), aligned(4)));

/* Output pixels a strip covers: EfficientNet's maps are 7·2ⁿ wide. */
#define STRIP 7
#define STRIP_MAX_KERNEL 5

/* STRIP neighbouring output pixels of one row at once, WIDTH channels at a time (a vector
 * type VEC): a kernel row's weights are loaded once for the strip, and each input pixel once
 * for every output it reaches, so a 5×5 kernel at stride 1 loads 16 vectors for 35
 * multiply-adds where a pixel at a time loads 50. Columns in the padding are skipped, so the
 * edge pixels take the same path. Called with constant `kernel` and `stride`, for which the
 * compiler unrolls the strip and keeps its sums in registers; channels past the last whole
 * vector take the per-pixel loop. A macro so the 256- and 512-bit builds share it. */
#define DEFINE_DEPTHWISE_STRIPS(NAME, VEC, WIDTH, TARGET)                                                          \
  __attribute__((target(TARGET))) static inline __attribute__((always_inline)) void NAME(                         \
      DEPTHWISE_PARAMETERS, const int kernel, const int stride) {                                                 \
    const weft_depthwise_geometry *g = geometry;                                                                  \
    const int channels = g->channels, out = g->output_size, size = g->size;                                       \
    const int vector_end = channel_begin + (channel_end - channel_begin) / (WIDTH) * (WIDTH);                     \
    const VEC zero = (VEC){0} * 0, six = zero + 6;                                                                \
    for (int row = row_begin; row < row_end; row++) {                                                             \
      const int image = row / out, oy = row % out, top = oy * stride - g->pad_before;                             \
      const int ky_begin = top < 0 ? -top : 0, ky_end = kernel < size - top ? kernel : size - top;                \
      const ptrdiff_t image_row = (ptrdiff_t)image * size - input_first_row;                                      \
      float *row_output = output + ((ptrdiff_t)row - output_first_row) * out * channels;                          \
      for (int ox = 0; ox < out; ox += STRIP) {                                                                   \
        /* The strip reads input columns left + i, i < span; those in [first, last) are in the image. */         \
        const int left = ox * stride - g->pad_before, span = (STRIP - 1) * stride + kernel;                      \
        const int first = left < 0 ? -left : 0, last = size - left, pixels = out - ox < STRIP ? out - ox : STRIP; \
        for (int c = channel_begin; c < vector_end; c += (WIDTH)) {                                               \
          VEC sum[STRIP];                                                                                         \
          _Pragma("clang loop unroll(full)") for (int j = 0; j < STRIP; j++) sum[j] = *(const VEC *)(bias + c);   \
          for (int ky = ky_begin; ky < ky_end; ky++) {                                                            \
            const float *line = input + (image_row + top + ky) * size * channels + c;                             \
            const float *taps = weights + (size_t)ky * kernel * channels + c;                                     \
            VEC w[STRIP_MAX_KERNEL];                                                                              \
            _Pragma("clang loop unroll(full)") for (int kx = 0; kx < kernel; kx++)                               \
                w[kx] = *(const VEC *)(taps + (size_t)kx * channels);                                             \
            _Pragma("clang loop unroll(full)") for (int i = 0; i < span; i++) {                                   \
              if (i < first || i >= last) continue;                                                               \
              const VEC x = *(const VEC *)(line + (ptrdiff_t)(left + i) * channels);                              \
              _Pragma("clang loop unroll(full)") for (int j = 0; j < STRIP; j++) {                                \
                const int kx = i - j * stride;                                                                    \
                if (kx >= 0 && kx < kernel) sum[j] += x * w[kx];                                                  \
              }                                                                                                   \
            }                                                                                                     \
          }                                                                                                       \
          for (int j = 0; j < pixels; j++) {                                                                      \
            const VEC clamped = __builtin_elementwise_min(__builtin_elementwise_max(sum[j], zero), six);          \
            *(VEC *)(row_output + (size_t)(ox + j) * channels + c) = clamped;                                     \
          }                                                                                                       \
        }                                                                                                         \
        if (vector_end < channel_end)                                                                             \
          for (int j = 0; j < pixels; j++)                                                                        \
            depthwise_pixel(input, image_row, g, weights, bias, row_output + (size_t)(ox + j) * channels, top, ky_begin, \
                            ky_end, (ox + j) * stride - g->pad_before, vector_end, channel_end);                  \
      }                                                                                                           \
    }                                                                                                             \
  }

/* The strips for the kernels EfficientNet uses (3×3 and 5×5, stride 1 or 2), each with its
 * constants; any other shape takes the per-pixel loop. */
#define DEPTHWISE_DISPATCH(STRIPS)                                                                  \
  const int kernel = geometry->kernel, stride = geometry->stride;                                   \
  if (kernel == 3 && stride == 1) return STRIPS(DEPTHWISE_ARGUMENTS, 3, 1); \
  if (kernel == 3 && stride == 2) return STRIPS(DEPTHWISE_ARGUMENTS, 3, 2); \
  if (kernel == 5 && stride == 1) return STRIPS(DEPTHWISE_ARGUMENTS, 5, 1); \
  if (kernel == 5 && stride == 2) return STRIPS(DEPTHWISE_ARGUMENTS, 5, 2); \
  depthwise_body(DEPTHWISE_ARGUMENTS);

DEFINE_DEPTHWISE_STRIPS(depthwise_strips_avx2, v8, 8, "avx2,fma")
DEFINE_DEPTHWISE_STRIPS(depthwise_strips_avx512, v16, 16, "avx512f,fma")

__attribute__((target("avx2,fma"))) static void depthwise_avx2(DEPTHWISE_PARAMETERS) {
  DEPTHWISE_DISPATCH(depthwise_strips_avx2)
}

__attribute__((target("avx512f,fma"))) static void depthwise_avx512(DEPTHWISE_PARAMETERS) {
  DEPTHWISE_DISPATCH(depthwise_strips_avx512)
}
#endif

void weft_depthwise_relu6_portable(DEPTHWISE_PARAMETERS) { depthwise_body(DEPTHWISE_ARGUMENTS); }

void weft_depthwise_relu6_avx2(DEPTHWISE_PARAMETERS) {
#if defined(__x86_64__)
  if (weft_cpu_has_avx2_fma()) {
    depthwise_avx2(DEPTHWISE_ARGUMENTS);
    return;
  }
#endif
  weft_depthwise_relu6_portable(DEPTHWISE_ARGUMENTS);
}

void weft_depthwise_relu6(DEPTHWISE_PARAMETERS) {
#if defined(__x86_64__)
  if (weft_cpu_has_avx512_skylake()) {
    depthwise_avx512(DEPTHWISE_ARGUMENTS);
    return;
  }
#endif
  weft_depthwise_relu6_avx2(DEPTHWISE_ARGUMENTS);
}
