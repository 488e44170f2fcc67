/* The deadlines of pending requests, earliest first. */
#ifndef WEFT_CLIENT_DEADLINES_H
#define WEFT_CLIENT_DEADLINES_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t deadline_ms;
  uint64_t id;
} deadline_entry;

/* Requests sent with the same timeout arrive in deadline order, so entries that do
 * not move the latest deadline back go to a FIFO ring (O(1) both ways); the rest to a
 * binary heap. Entries of requests answered in time are not removed when answered:
 * they are skipped when they surface, or dropped by deadlines_compact. */
typedef struct {
  deadline_entry *ring;
  size_t ring_head, ring_count, ring_capacity;
  deadline_entry *heap;
  size_t heap_count, heap_capacity;
} deadline_queue;

/* Adds an entry; returns 0, or -1 if memory ran out. */
int deadlines_push(deadline_queue *queue, uint64_t deadline_ms, uint64_t id);

/* The earliest entry, or NULL when empty. */
const deadline_entry *deadlines_peek(const deadline_queue *queue);

/* Removes the entry deadlines_peek returns. */
void deadlines_pop(deadline_queue *queue);

/* How many entries are held, stale ones included. */
size_t deadlines_count(const deadline_queue *queue);

/* Keeps only the entries for which `is_live` says 1. */
void deadlines_compact(deadline_queue *queue, int (*is_live)(const void *context, const deadline_entry *entry),
                       const void *context);

/* Frees the queue's memory. */
void deadlines_free(deadline_queue *queue);

#endif
