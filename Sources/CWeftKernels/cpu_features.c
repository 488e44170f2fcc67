#include "cpu_features.h"

#include <stdatomic.h>

#if defined(__x86_64__)
#include <cpuid.h>

/* AVX2 and FMA in the CPU, and YMM state saved by the OS. */
static int detect(void) {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
  int fma = (ecx >> 12) & 1, osxsave = (ecx >> 27) & 1;
  if (!fma || !osxsave) return 0;
  unsigned low, high;
  __asm__("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
  if ((low & 6) != 6) return 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
  return (ebx >> 5) & 1;
}

/* AVX-512 F, DQ, CD, BW and VL (Skylake-SP's set) with ZMM and mask state saved by the OS. */
static int detect_avx512(void) {
  if (!detect()) return 0;
  unsigned eax, ebx, ecx, edx;
  unsigned low, high;
  __asm__("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
  if ((low & 0xE6) != 0xE6) return 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
  const unsigned needed = (1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31);
  return (ebx & needed) == needed;
}
#endif

#if defined(__x86_64__)
/* `detect()`'s answer, computed on the first call (threads that race here all compute the
 * same value). */
static int remembered(atomic_int *known, int (*detect)(void)) {
  int value = atomic_load_explicit(known, memory_order_relaxed);
  if (value < 0) {
    value = detect();
    atomic_store_explicit(known, value, memory_order_relaxed);
  }
  return value;
}
#endif

int weft_cpu_has_avx2_fma(void) {
#if defined(__x86_64__)
  static atomic_int known = -1;
  return remembered(&known, detect);
#else
  return 0;
#endif
}

int weft_cpu_has_avx512_skylake(void) {
#if defined(__x86_64__)
  static atomic_int known = -1;
  return remembered(&known, detect_avx512);
#else
  return 0;
#endif
}
