#define _GNU_SOURCE
#include "weft_kernels.h"

#include <sched.h>
#include <unistd.h>
#include <sys/syscall.h>

int weft_current_thread_id(void) { return (int)syscall(SYS_gettid); }

int weft_current_cpu(void) { return sched_getcpu(); }

int weft_keep_thread_off_cpu(int thread_id, int cpu) {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return 0;
  /* The calling thread's mask, not the helper's: the caller is never restricted here, so this is
   * what the process may use, where the helper's own mask may already lack a CPU. */
  if (cpu < 0 || cpu >= CPU_SETSIZE) return 0;
  CPU_CLR(cpu, &allowed);
  if (CPU_COUNT(&allowed) == 0) return 0;
  return sched_setaffinity(thread_id, sizeof allowed, &allowed) == 0;
}
