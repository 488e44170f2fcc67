/* What Swift's Glibc module leaves out of <spawn.h> and <unistd.h> (GNU extensions). */
#ifndef WEFT_SPAWN_H
#define WEFT_SPAWN_H

#include <spawn.h>

/* posix_spawn_file_actions_addclosefrom_np: the child closes every descriptor from `from` up. */
int weft_spawn_close_from(posix_spawn_file_actions_t *actions, int from);

/* pipe2(fds, O_CLOEXEC): a pipe whose ends are not inherited by other children. */
int weft_pipe_cloexec(int fds[2]);

#endif
