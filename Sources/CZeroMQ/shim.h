#ifndef WEFT_CZEROMQ_SHIM_H
#define WEFT_CZEROMQ_SHIM_H
#include <zmq.h>
#include <sys/eventfd.h>  /* WakeSignal: cross-thread wake-ups in a zmq_poll set */
#include <sched.h>
#include <sys/types.h>
#include <linux/sched.h>  /* SCHED_BATCH, which glibc's <sched.h> shows only to GNU sources */

/// Sets thread `tid`'s policy to SCHED_BATCH (`batch`) or SCHED_OTHER, at the default
/// static priority; 0 on success, else -1 with errno set.
static inline int weft_set_thread_batch_scheduling(pid_t tid, int batch) {
  struct sched_param param = {0};
  return sched_setscheduler(tid, batch ? SCHED_BATCH : SCHED_OTHER, &param);
}
#endif
