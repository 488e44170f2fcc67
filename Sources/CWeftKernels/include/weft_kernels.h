#ifndef WEFT_KERNELS_H
#define WEFT_KERNELS_H
/* Small dense kernels the models call where OpenBLAS is a poor fit or AVX2 must be
 * chosen at run time (Swift code is compiled for baseline x86-64). */

/* output[r][o] = bias[o] + sum_k input[r][k] * weight[o][k], row-major, for a handful of
 * rows (one audio chunk's frames): no packing, each weight row read once per twelve input
 * rows (per four for a few). `bias` may be NULL. Uses AVX2 and FMA when the CPU has them. */
void weft_linear_few_rows(const float *input, int rows, const float *weight, const float *bias, int outputs,
                          int inputs, float *output);

/* The same product without SIMD intrinsics: what runs on CPUs without AVX2 and FMA. */
void weft_linear_few_rows_portable(const float *input, int rows, const float *weight, const float *bias, int outputs,
                                   int inputs, float *output);

/* output[r * output_stride + o] = bias[o] + sum_k input[r * inputs + k] * W(k, o) for o < columns, clamped to
 * [0, 6] when `clamp`, then plus residual[r * output_stride + o] when `residual` is not NULL: a 1x1
 * convolution (or a column range of one: the pointers at its first column, the output stride the whole
 * layer's). W(k, o) = weight_by_input[(o / 16) * panel_stride + k * weight_stride + o % 16]: input-major
 * weights [inputs][outputs] have weight_stride = outputs, panel_stride = 16; panels of 16 columns, each
 * [inputs][16], have weight_stride = 16, panel_stride = 16 * inputs. Rows go in tiles of twelve (with 64
 * inputs or more) and four, each tile's sums in registers over all inputs and every weight vector loaded
 * once per tile; the output is written once, bias, clamp and residual included (sgemm packs both operands
 * on every call and leaves those to more passes). AVX-512 or AVX2 and FMA when the CPU has them. */
void weft_pointwise(const float *input, int rows, int inputs, const float *weight_by_input, int weight_stride,
                    int panel_stride, const float *bias, int columns, const float *residual, float *output,
                    int output_stride, int clamp);

/* The same without AVX2, and (on x86-64) with AVX2 even where AVX-512 is there (without AVX2: the
 * portable loop), for tests. */
void weft_pointwise_avx2(const float *input, int rows, int inputs, const float *weight_by_input, int weight_stride,
                         int panel_stride, const float *bias, int columns, const float *residual, float *output,
                         int output_stride, int clamp);
void weft_pointwise_portable(const float *input, int rows, int inputs, const float *weight_by_input, int weight_stride,
                             int panel_stride, const float *bias, int columns, const float *residual, float *output,
                             int output_stride, int clamp);

/* The shape of a depthwise convolution over a batch of square NHWC images, TensorFlow
 * "SAME" padding: `pad_before` zero pixels before the first, output ceil(size/stride). */
typedef struct {
  int size, channels, kernel, stride, pad_before, output_size;
} weft_depthwise_geometry;

/* Depthwise convolution plus bias, clamped to [0, 6], for output rows [row_begin,
 * row_end) of the batch (row r: image r / output_size, line r % output_size) and channels
 * [channel_begin, channel_end). The batch's rows count image after image (input row
 * `image * size + y`); `input` holds the input rows from `input_first_row` on and `output`
 * the output rows from `output_first_row` on (0 and 0 for whole buffers; a band of one
 * image's rows needs only the input rows its kernel window reaches). `weights` is
 * [kernel * kernel][channels], tap-major. 3x3 and 5x5 kernels go seven output pixels at a
 * time, a kernel row's weights and each input pixel loaded once for the seven; other
 * shapes a pixel at a time. AVX-512 or AVX2 and FMA when the CPU has them. */
void weft_depthwise_relu6(const float *input, int input_first_row, const weft_depthwise_geometry *geometry,
                          const float *weights, const float *bias, float *output, int output_first_row, int row_begin,
                          int row_end, int channel_begin, int channel_end);

/* The same without AVX2, and (on x86-64) with AVX2 even where AVX-512 is there (without
 * AVX2: the portable loop), for tests. */
void weft_depthwise_relu6_avx2(const float *input, int input_first_row, const weft_depthwise_geometry *geometry,
                               const float *weights, const float *bias, float *output, int output_first_row,
                               int row_begin, int row_end, int channel_begin, int channel_end);
void weft_depthwise_relu6_portable(const float *input, int input_first_row, const weft_depthwise_geometry *geometry,
                                   const float *weights, const float *bias, float *output, int output_first_row,
                                   int row_begin, int row_end, int channel_begin, int channel_end);

/* GELU in its exact (erf) form, in place: x * (1 + erf(x / sqrt 2)) / 2, erf to within
 * 5e-7 (Abramowitz & Stegun 7.1.26 with a polynomial exp), eight at a time. AVX2+FMA when
 * the CPU has them: the Swift code around it is compiled for baseline x86-64. */
void weft_gelu(float *x, int count);

/* The same without AVX2, for tests. */
void weft_gelu_portable(float *x, int count);

/* Softmax of each of `rows` rows of `columns` floats, in place, over its first `valid`
 * columns; the rest become 0 (masked positions). exp to about 1 ulp (Cephes' polynomial),
 * eight at a time; AVX2+FMA when the CPU has them. */
void weft_softmax_rows(float *x, int rows, int columns, int valid);

/* The same without AVX2, for tests. */
void weft_softmax_rows_portable(float *x, int rows, int columns, int valid);

/* Layer normalisation of each of `rows` rows of `columns` floats, in place: (x - mean) /
 * sqrt(variance + epsilon) * gamma + beta, the variance over the columns (not Bessel's);
 * sums in vectors; AVX2+FMA when the CPU has them. */
void weft_layer_norm_rows(float *x, int rows, int columns, const float *gamma, const float *beta, float epsilon);

/* The same without AVX2, for tests. */
void weft_layer_norm_rows_portable(float *x, int rows, int columns, const float *gamma, const float *beta, float epsilon);

/* One LSTM cell step over `size` units (a multiple of 8) from the summed pre-activations
 * `gates` = [input | forget | candidate | output], `size` each: updates `cell` and `hidden` in
 * place and returns the sum of ReLU(hidden) times `decoder`. Sigmoid and tanh by the same
 * polynomial exp; AVX2+FMA when the CPU has them. */
float weft_lstm_cell(const float *gates, float *hidden, float *cell, const float *decoder, int size);

/* The same without AVX2, for tests. */
float weft_lstm_cell_portable(const float *gates, float *hidden, float *cell, const float *decoder, int size);

/* Whether this CPU and its OS run AVX2 with FMA, and AVX-512 F, DQ, CD, BW and VL (the set
 * OpenBLAS's SkylakeX kernels use); each checked once. */
int weft_cpu_has_avx2_fma(void);
int weft_cpu_has_avx512_skylake(void);

/* The CPU the calling thread runs on now, or -1. */
int weft_current_cpu(void);

/* Keeps the calling thread off `cpu` (on the process's other CPUs) until
 * weft_thread_allow_all_cpus; 0 on success, -1 if there is no other CPU or the call failed. */
int weft_thread_avoid_cpu(int cpu);

/* Lets the calling thread run on every CPU the process may use again. */
int weft_thread_allow_all_cpus(void);

/* Keeps the calling thread on `cpu` alone (tests that place threads); 0 on success. */
int weft_thread_pin_to_cpu(int cpu);

/* Tells the CPU this thread is busy-waiting (x86 PAUSE): the sibling hyperthread gets the
 * core's resources and the wait leaves the loop without a memory-order mis-speculation. */
static inline void weft_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

#endif
