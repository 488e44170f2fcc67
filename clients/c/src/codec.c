/*
 * libweft-client: the header frames. Requests are encoded with their metadata sorted by
 * key, as the Swift and Python clients do, so all three produce the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "weft/v1/header.pb-c.h"

enum { inline_metadata = 16 };

static int compare_keys(const void *left, const void *right) {
  const Weft__V1__RequestHeader__MetadataEntry *const *a = left, *const *b = right;
  return strcmp((*a)->key, (*b)->key);
}

/* Fills `header` from the arguments (pointing into them, not copying), using `entries`,
 * `values` and `pointers` (each `options->metadata_count` long) for the metadata. */
static int build_header(uint64_t request_id, const char *service, const char *method, const weft_call_options *options,
                        Weft__V1__RequestHeader *header, Weft__V1__RequestHeader__MetadataEntry *entries,
                        Weft__V1__MetadataValue *values, Weft__V1__RequestHeader__MetadataEntry **pointers) {
  if (!service || !*service || !method || !*method) return 0;
  weft__v1__request_header__init(header);
  header->request_id = request_id;
  header->service = (char *)service;
  header->method = (char *)method;
  header->timeout_ms = options->timeout_ms;
  header->idempotent = options->idempotent != 0;
  header->personalize = options->personalize != 0;
  if (options->version) header->version = (char *)options->version;
  if (options->user_id) header->user_id = (char *)options->user_id;
  header->priority = options->priority;
  for (size_t index = 0; index < options->metadata_count; index++) {
    const weft_metadata *item = &options->metadata[index];
    if (!item->key || (!item->value && item->value_size)) return 0;
    weft__v1__request_header__metadata_entry__init(&entries[index]);
    weft__v1__metadata_value__init(&values[index]);
    entries[index].key = (char *)item->key;
    entries[index].value = &values[index];
    if (item->binary) {
      values[index].value_case = WEFT__V1__METADATA_VALUE__VALUE_BINARY;
      values[index].binary.data = (uint8_t *)item->value;
      values[index].binary.len = item->value_size;
    } else {
      /* Text values are sent as given; protobuf-c needs them NUL-terminated. */
      values[index].value_case = WEFT__V1__METADATA_VALUE__VALUE_TEXT;
      values[index].text = item->value ? (char *)item->value : "";
    }
    pointers[index] = &entries[index];
  }
  qsort(pointers, options->metadata_count, sizeof *pointers, compare_keys);
  header->n_metadata = options->metadata_count;
  header->metadata = pointers;
  return 1;
}

/* At least the encoded size: every field at its longest tag and length prefix. */
static size_t upper_bound(const Weft__V1__RequestHeader *header) {
  size_t size = 11 + 6 + 2 + 2 + 6;
  size += 6 + strlen(header->service) + 6 + strlen(header->method);
  size += 6 + strlen(header->version) + 6 + strlen(header->user_id);
  for (size_t index = 0; index < header->n_metadata; index++) {
    const Weft__V1__MetadataValue *value = header->metadata[index]->value;
    size_t length = value->value_case == WEFT__V1__METADATA_VALUE__VALUE_BINARY ? value->binary.len : strlen(value->text);
    size += 3 * 6 + strlen(header->metadata[index]->key) + 6 + length;
  }
  return size;
}

/* Encodes into `out` when it is given and large enough; returns the encoded size (with
 * `out` NULL: the size needed), or 0 for invalid arguments or a short buffer. */
static size_t encode(uint64_t request_id, const char *service, const char *method, const weft_call_options *options,
                     uint8_t *out, size_t out_size) {
  weft_call_options defaults;
  if (!options) {
    weft_call_options_init(&defaults);
    options = &defaults;
  }
  size_t count = options->metadata_count;
  if (count && !options->metadata) return 0;
  Weft__V1__RequestHeader__MetadataEntry inline_entries[inline_metadata], *inline_pointers[inline_metadata];
  Weft__V1__MetadataValue inline_values[inline_metadata];
  Weft__V1__RequestHeader__MetadataEntry *entries = inline_entries, **pointers = inline_pointers;
  Weft__V1__MetadataValue *values = inline_values;
  if (count > inline_metadata) {
    entries = malloc(count * sizeof *entries);
    values = malloc(count * sizeof *values);
    pointers = malloc(count * sizeof *pointers);
  }
  size_t size = 0;
  Weft__V1__RequestHeader header;
  if (entries && values && pointers &&
      build_header(request_id, service, method, options, &header, entries, values, pointers)) {
    /* Packing straight into a buffer that surely holds the result spares protobuf-c's
     * sizing pass, which costs as much as packing. */
    if (out && upper_bound(&header) <= out_size) {
      size = weft__v1__request_header__pack(&header, out);
    } else {
      size = weft__v1__request_header__get_packed_size(&header);
      if (out) size = size <= out_size ? weft__v1__request_header__pack(&header, out) : 0;
    }
  }
  if (entries != inline_entries) {
    free(entries);
    free(values);
    free(pointers);
  }
  return size;
}

size_t weft_request_header_size(uint64_t request_id, const char *service, const char *method,
                                const weft_call_options *options) {
  return encode(request_id, service, method, options, NULL, 0);
}

size_t weft_encode_request_header(uint64_t request_id, const char *service, const char *method,
                                  const weft_call_options *options, uint8_t *out, size_t out_size) {
  if (!out) return 0;
  return encode(request_id, service, method, options, out, out_size);
}

size_t weft_encode_call_frame(uint64_t request_id, int frame, uint32_t credit, uint8_t *out, size_t out_size) {
  Weft__V1__RequestHeader header;
  weft__v1__request_header__init(&header);
  header.request_id = request_id;
  header.frame = (Weft__V1__CallFrame)frame;
  header.credit = credit;
  size_t size = weft__v1__request_header__get_packed_size(&header);
  return size <= out_size ? weft__v1__request_header__pack(&header, out) : 0;
}

size_t weft_encode_cancel_header(uint64_t request_id, uint8_t *out, size_t out_size) {
  Weft__V1__RequestHeader header;
  weft__v1__request_header__init(&header);
  header.request_id = request_id;
  header.cancel = 1;
  size_t size = weft__v1__request_header__get_packed_size(&header);
  return size <= out_size ? weft__v1__request_header__pack(&header, out) : 0;
}

/* ------------------------------------------------------------------ replies */

/* Everything a reply owns, in one allocation: the received frames, then the body and
 * metadata arrays, then the strings. */
typedef struct {
  size_t frame_count;
  zmq_msg_t frames[];
} reply_storage;

static size_t align_up(size_t size) { return (size + 15) & ~(size_t)15; }

/* Copies `length` bytes and a NUL to `*cursor`, advancing it; returns the copy. */
static char *place(char **cursor, const void *bytes, size_t length) {
  char *copy = *cursor;
  if (length) memcpy(copy, bytes, length);
  copy[length] = 0;
  *cursor += length + 1;
  return copy;
}

static const char *text_of(const Weft__V1__MetadataValue *value) {
  return value && value->value_case == WEFT__V1__METADATA_VALUE__VALUE_TEXT ? value->text : "";
}

static int is_binary(const Weft__V1__MetadataValue *value) {
  return value && value->value_case == WEFT__V1__METADATA_VALUE__VALUE_BINARY;
}

/* Fills `response` from `header`, moving `frames[2...]` in as the body (`frame_count`
 * may be 0 for a reply made locally). Returns 0 if memory ran out. */
static int fill_reply(const Weft__V1__ResponseHeader *header, zmq_msg_t *frames, size_t frame_count,
                      weft_response *response) {
  size_t body_count = frame_count > 2 ? frame_count - 2 : 0;
  size_t strings = strlen(header->message) + strlen(header->worker_id) + strlen(header->model_version) + 3;
  for (size_t index = 0; index < header->n_metadata; index++) {
    const Weft__V1__MetadataValue *value = header->metadata[index]->value;
    strings += strlen(header->metadata[index]->key) + 1;
    strings += (is_binary(value) ? value->binary.len : strlen(text_of(value))) + 1;
  }
  size_t frames_size = align_up(sizeof(reply_storage) + frame_count * sizeof(zmq_msg_t));
  size_t body_size = align_up(body_count * sizeof(weft_frame));
  size_t metadata_size = align_up(header->n_metadata * sizeof(weft_metadata));
  char *block = malloc(frames_size + body_size + metadata_size + strings);
  if (!block) return 0;
  reply_storage *storage = (reply_storage *)block;
  storage->frame_count = frame_count;
  memset(response, 0, sizeof *response);
  response->internal = storage;
  response->body = body_count ? (weft_frame *)(block + frames_size) : NULL;
  response->body_count = body_count;
  response->metadata = header->n_metadata ? (weft_metadata *)(block + frames_size + body_size) : NULL;
  response->metadata_count = header->n_metadata;
  char *cursor = block + frames_size + body_size + metadata_size;

  response->request_id = header->request_id;
  response->status = (int)header->status;
  response->message = place(&cursor, header->message, strlen(header->message));
  response->end_of_stream = header->end_of_stream;
  response->worker_id = place(&cursor, header->worker_id, strlen(header->worker_id));
  response->model_version = place(&cursor, header->model_version, strlen(header->model_version));
  response->queue_us = header->queue_us;
  response->compute_us = header->compute_us;
  response->total_us = header->total_us;
  response->gateway_queue_us = header->gateway_queue_us;
  response->batch_size = header->batch_size;
  response->personalized = header->personalized;
  response->credit = header->credit;
  response->flow_control = header->flow_control;
  for (size_t index = 0; index < header->n_metadata; index++) {
    const Weft__V1__ResponseHeader__MetadataEntry *entry = header->metadata[index];
    weft_metadata *item = &response->metadata[index];
    item->key = place(&cursor, entry->key, strlen(entry->key));
    item->binary = is_binary(entry->value);
    item->value_size = item->binary ? entry->value->binary.len : strlen(text_of(entry->value));
    item->value = place(&cursor, item->binary ? (const void *)entry->value->binary.data : text_of(entry->value),
                        item->value_size);
  }
  for (size_t index = 0; index < frame_count; index++) {
    zmq_msg_init(&storage->frames[index]);
    zmq_msg_move(&storage->frames[index], &frames[index]);
  }
  for (size_t index = 0; index < body_count; index++) {
    response->body[index].data = zmq_msg_data(&storage->frames[index + 2]);
    response->body[index].size = zmq_msg_size(&storage->frames[index + 2]);
  }
  return 1;
}

int weft_decode_reply(zmq_msg_t *frames, size_t count, const char signature[4], weft_response *response) {
  if (count < 2 || zmq_msg_size(&frames[0]) != 4 || memcmp(zmq_msg_data(&frames[0]), signature, 4) != 0) return 0;
  Weft__V1__ResponseHeader *header =
      weft__v1__response_header__unpack(NULL, zmq_msg_size(&frames[1]), zmq_msg_data(&frames[1]));
  if (!header) return 0;
  int filled = fill_reply(header, frames, count, response);
  weft__v1__response_header__free_unpacked(header, NULL);
  return filled;
}

int weft_local_reply(uint64_t request_id, int status, const char *message, weft_response *response) {
  Weft__V1__ResponseHeader header = WEFT__V1__RESPONSE_HEADER__INIT;
  header.request_id = request_id;
  header.status = (Weft__V1__StatusCode)status;
  header.message = (char *)message;
  header.end_of_stream = 1;
  return fill_reply(&header, NULL, 0, response);
}

void weft_response_clear(weft_response *response) {
  if (!response) return;
  reply_storage *storage = response->internal;
  if (storage) {
    for (size_t index = 0; index < storage->frame_count; index++) zmq_msg_close(&storage->frames[index]);
    free(storage);
  }
  memset(response, 0, sizeof *response);
}

const char *weft_status_name(int status) {
  static const char *const names[] = {
      "OK",      "CANCELLED",        "UNKNOWN",      "INVALID_ARGUMENT",  "DEADLINE_EXCEEDED", "NOT_FOUND",
      "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
      "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  return status >= 0 && status < (int)(sizeof names / sizeof *names) ? names[status] : "UNKNOWN_STATUS";
}
