/* libweft-client: the pending requests' deadlines (see deadlines.h). */
#include "deadlines.h"

#include <stdlib.h>
#include <string.h>

static deadline_entry *ring_at(const deadline_queue *queue, size_t offset) {
  return &queue->ring[(queue->ring_head + offset) & (queue->ring_capacity - 1)];
}

static int grow_ring(deadline_queue *queue) {
  size_t capacity = queue->ring_capacity ? 2 * queue->ring_capacity : 1024;
  deadline_entry *grown = malloc(capacity * sizeof *grown);
  if (!grown) return -1;
  for (size_t offset = 0; offset < queue->ring_count; offset++) grown[offset] = *ring_at(queue, offset);
  free(queue->ring);
  queue->ring = grown;
  queue->ring_head = 0;
  queue->ring_capacity = capacity;
  return 0;
}

static void sift_down(deadline_entry *heap, size_t count, size_t index) {
  for (;;) {
    size_t smallest = index, left = 2 * index + 1, right = left + 1;
    if (left < count && heap[left].deadline_ms < heap[smallest].deadline_ms) smallest = left;
    if (right < count && heap[right].deadline_ms < heap[smallest].deadline_ms) smallest = right;
    if (smallest == index) return;
    deadline_entry held = heap[index];
    heap[index] = heap[smallest];
    heap[smallest] = held;
    index = smallest;
  }
}

static int heap_push(deadline_queue *queue, deadline_entry entry) {
  if (queue->heap_count == queue->heap_capacity) {
    size_t capacity = queue->heap_capacity ? 2 * queue->heap_capacity : 256;
    deadline_entry *grown = realloc(queue->heap, capacity * sizeof *grown);
    if (!grown) return -1;
    queue->heap = grown;
    queue->heap_capacity = capacity;
  }
  size_t index = queue->heap_count++;
  while (index > 0 && queue->heap[(index - 1) / 2].deadline_ms > entry.deadline_ms) {
    queue->heap[index] = queue->heap[(index - 1) / 2];
    index = (index - 1) / 2;
  }
  queue->heap[index] = entry;
  return 0;
}

int deadlines_push(deadline_queue *queue, uint64_t deadline_ms, uint64_t id) {
  deadline_entry entry = {deadline_ms, id};
  if (queue->ring_count && ring_at(queue, queue->ring_count - 1)->deadline_ms > deadline_ms) {
    return heap_push(queue, entry);
  }
  if (queue->ring_count == queue->ring_capacity && grow_ring(queue) != 0) return -1;
  *ring_at(queue, queue->ring_count++) = entry;
  return 0;
}

const deadline_entry *deadlines_peek(const deadline_queue *queue) {
  const deadline_entry *first = queue->ring_count ? ring_at(queue, 0) : NULL;
  if (queue->heap_count && (!first || queue->heap[0].deadline_ms < first->deadline_ms)) return &queue->heap[0];
  return first;
}

void deadlines_pop(deadline_queue *queue) {
  const deadline_entry *first = deadlines_peek(queue);
  if (!first) return;
  if (first == &queue->heap[0] && queue->heap_count) {
    queue->heap[0] = queue->heap[--queue->heap_count];
    sift_down(queue->heap, queue->heap_count, 0);
  } else {
    queue->ring_head = (queue->ring_head + 1) & (queue->ring_capacity - 1);
    queue->ring_count--;
  }
}

size_t deadlines_count(const deadline_queue *queue) { return queue->ring_count + queue->heap_count; }

void deadlines_compact(deadline_queue *queue, int (*is_live)(const void *context, const deadline_entry *entry),
                       const void *context) {
  size_t kept = 0;
  for (size_t offset = 0; offset < queue->ring_count; offset++) {
    deadline_entry entry = *ring_at(queue, offset);
    if (is_live(context, &entry)) *ring_at(queue, kept++) = entry;
  }
  queue->ring_count = kept;
  kept = 0;
  for (size_t index = 0; index < queue->heap_count; index++) {
    if (is_live(context, &queue->heap[index])) queue->heap[kept++] = queue->heap[index];
  }
  queue->heap_count = kept;
  for (size_t index = kept / 2; index-- > 0;) sift_down(queue->heap, kept, index);
}

void deadlines_free(deadline_queue *queue) {
  free(queue->ring);
  free(queue->heap);
  memset(queue, 0, sizeof *queue);
}
