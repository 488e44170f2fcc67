#define _GNU_SOURCE
#include <sched.h>
#include <unistd.h>

#include "weft_kernels.h"

/* The CPUs the process may use (its main thread's mask, read when a thread first avoids
 * one), restored by weft_thread_allow_all_cpus. Per thread: each lane thread keeps its own. */
static __thread cpu_set_t allowed;
static __thread int saved;

int weft_current_cpu(void) { return sched_getcpu(); }

int weft_thread_avoid_cpu(int cpu) {
  if (!saved) {
    if (sched_getaffinity(getpid(), sizeof allowed, &allowed) != 0) return -1;
    saved = 1;
  }
  if (cpu < 0 || cpu >= CPU_SETSIZE) return -1;
  cpu_set_t others = allowed;
  CPU_CLR(cpu, &others);
  if (CPU_COUNT(&others) == 0) return -1;
  return sched_setaffinity(0, sizeof others, &others);
}

int weft_thread_allow_all_cpus(void) {
  if (!saved) return 0;
  return sched_setaffinity(0, sizeof allowed, &allowed);
}

int weft_thread_pin_to_cpu(int cpu) {
  if (cpu < 0 || cpu >= CPU_SETSIZE) return -1;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  return sched_setaffinity(0, sizeof one, &one);
}
