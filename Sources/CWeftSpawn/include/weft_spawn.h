/* What Swift's Glibc module leaves out of <spawn.h>, <unistd.h> and <malloc.h> (GNU extensions). */
#ifndef WEFT_SPAWN_H
#define WEFT_SPAWN_H

#include <spawn.h>

/* posix_spawn_file_actions_addclosefrom_np: the child closes every descriptor from `from` up. */
int weft_spawn_close_from(posix_spawn_file_actions_t *actions, int from);

/* pipe2(fds, O_CLOEXEC): a pipe whose ends are not inherited by other children. */
int weft_pipe_cloexec(int fds[2]);

/* mallopt(M_MMAP_THRESHOLD, mmap_threshold) then mallopt(M_TRIM_THRESHOLD, trim_threshold):
 * 1 if glibc took both, else 0. */
int weft_malloc_thresholds(int mmap_threshold, int trim_threshold);

#endif
