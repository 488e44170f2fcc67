#ifndef WEFT_CPU_FEATURES_H
#define WEFT_CPU_FEATURES_H
/* Whether this CPU (and its OS) can run the AVX2+FMA variants; checked once. */
int weft_cpu_has_avx2_fma(void);
#endif
