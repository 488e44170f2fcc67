/*
 * libweft-client: the connection, the pending-request table, deadlines and the
 * reply path. Framing is docs/PROTOCOL.md's: [ "WFC\x01" ][ RequestHeader ][ body ]*.
 */
#include "weft/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "deadlines.h"
#include "internal.h"

static const char signature[4] = {'W', 'F', 'C', 1};
enum { max_reply_frames = 66, default_timeout_ms = 30000, inline_header_size = 512 };

/* A request awaiting its final reply, in the slot its id maps to. Ids are sequential,
 * so a slot still taken when its id comes round again means WEFT_MAX_IN_FLIGHT
 * requests are pending. */
typedef struct {
  uint64_t id; /* 0: free */
  uint64_t deadline_ms;
} pending_slot;

typedef struct stashed_reply {
  weft_response response;
  struct stashed_reply *next;
} stashed_reply;

struct weft_client {
  void *context;
  void *socket;
  uint64_t next_id;
  pending_slot *slots;
  size_t pending;
  deadline_queue deadlines;
  stashed_reply *stash_head, *stash_tail;
  zmq_msg_t frames[max_reply_frames]; /* where replies are received, reused */
  int receive_timeout_ms;
  char error[256];
};

/* ------------------------------------------------------------------ errors, time */

static void set_error(weft_client *client, const char *what) {
  snprintf(client->error, sizeof client->error, "%s: %s", what, zmq_strerror(zmq_errno()));
}

const char *weft_client_error(const weft_client *client) { return client ? client->error : ""; }

static uint64_t now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

void weft_call_options_init(weft_call_options *options) {
  memset(options, 0, sizeof *options);
  options->timeout_ms = default_timeout_ms;
  options->idempotent = 1;
}

/* ------------------------------------------------------------------ lifecycle */

weft_client *weft_client_open(const char *const *endpoints, size_t endpoint_count, char *error, size_t error_size) {
  return weft_client_open_curve(endpoints, endpoint_count, NULL, error, error_size);
}

/* Reads the first 40 characters of a key file into `key` (41 bytes, NUL-terminated). */
static int read_key(const char *path, char *key, char *error, size_t error_size) {
  FILE *file = fopen(path, "r");
  size_t count = file ? fread(key, 1, 40, file) : 0;
  if (file) fclose(file);
  key[count] = 0;
  if (count != 40) {
    if (error && error_size) snprintf(error, error_size, "%s does not hold a 40-character Z85 key", path);
    return 0;
  }
  return 1;
}

int weft_curve_from_files(weft_curve *curve, const char *gateway_key_path, const char *secret_key_path, char *error,
                          size_t error_size) {
  if (!read_key(gateway_key_path, curve->server_key, error, error_size)) return 0;
  if (!read_key(secret_key_path, curve->secret_key, error, error_size)) return 0;
  if (zmq_curve_public(curve->public_key, curve->secret_key) != 0) {
    if (error && error_size) snprintf(error, error_size, "%s: not a CURVE secret key (%s)", secret_key_path, zmq_strerror(zmq_errno()));
    return 0;
  }
  return 1;
}

weft_client *weft_client_open_curve(const char *const *endpoints, size_t endpoint_count, const weft_curve *curve, char *error,
                                    size_t error_size) {
  const char *failure = NULL;
  weft_client *client = calloc(1, sizeof *client);
  if (client) client->slots = calloc(WEFT_MAX_IN_FLIGHT, sizeof *client->slots);
  if (!client || !client->slots) {
    failure = "out of memory";
  } else if (endpoint_count == 0) {
    failure = "no gateway endpoint given";
  } else if (!(client->context = zmq_ctx_new()) || !(client->socket = zmq_socket(client->context, ZMQ_DEALER))) {
    failure = "cannot create a ZeroMQ socket";
  } else {
    int linger = 100;
    zmq_setsockopt(client->socket, ZMQ_LINGER, &linger, sizeof linger);
    /* The keys are Z85 text: libzmq takes them as 41 bytes, the NUL included. */
    if (curve && (zmq_setsockopt(client->socket, ZMQ_CURVE_SERVERKEY, curve->server_key, 41) != 0 ||
                  zmq_setsockopt(client->socket, ZMQ_CURVE_PUBLICKEY, curve->public_key, 41) != 0 ||
                  zmq_setsockopt(client->socket, ZMQ_CURVE_SECRETKEY, curve->secret_key, 41) != 0)) {
      snprintf(client->error, sizeof client->error, "cannot set the CURVE keys: %s", zmq_strerror(zmq_errno()));
      failure = client->error;
    }
    for (size_t index = 0; index < endpoint_count && !failure; index++) {
      if (zmq_connect(client->socket, endpoints[index]) != 0) {
        snprintf(client->error, sizeof client->error, "cannot connect to %s: %s", endpoints[index],
                 zmq_strerror(zmq_errno()));
        failure = client->error;
      }
    }
  }
  if (failure) {
    if (error && error_size) snprintf(error, error_size, "%s", failure);
    weft_client_close(client);
    return NULL;
  }
  client->next_id = 1;
  client->receive_timeout_ms = -1;
  return client;
}

void weft_client_close(weft_client *client) {
  if (!client) return;
  while (client->stash_head) {
    stashed_reply *next = client->stash_head->next;
    weft_response_clear(&client->stash_head->response);
    free(client->stash_head);
    client->stash_head = next;
  }
  if (client->socket) zmq_close(client->socket);
  if (client->context) zmq_ctx_term(client->context);
  free(client->slots);
  deadlines_free(&client->deadlines);
  free(client);
}

/* ------------------------------------------------------------------ pending table */

static pending_slot *slot_for(const weft_client *client, uint64_t id) {
  return &client->slots[id & (WEFT_MAX_IN_FLIGHT - 1)];
}

static int is_pending(const weft_client *client, uint64_t id) { return id != 0 && slot_for(client, id)->id == id; }

static void finish(weft_client *client, uint64_t id) {
  pending_slot *slot = slot_for(client, id);
  if (slot->id != id) return;
  slot->id = 0;
  client->pending--;
}

size_t weft_pending(const weft_client *client) { return client->pending; }

int weft_cancel(weft_client *client, uint64_t request_id) {
  if (!is_pending(client, request_id)) return 0;
  finish(client, request_id);
  return 1;
}

static int is_live(const void *context, const deadline_entry *entry) {
  const pending_slot *slot = slot_for(context, entry->id);
  return slot->id == entry->id && slot->deadline_ms == entry->deadline_ms;
}

/* Adds a deadline, first dropping stale entries once they outnumber live ones, so the
 * queue stays bounded by the requests in flight. */
static int track_deadline(weft_client *client, uint64_t deadline_ms, uint64_t id) {
  if (deadlines_count(&client->deadlines) > 2 * client->pending + 1024) {
    deadlines_compact(&client->deadlines, is_live, client);
  }
  return deadlines_push(&client->deadlines, deadline_ms, id);
}

/* The earliest moment a pending request gives up (its deadline plus the grace), or 0. */
static uint64_t next_expiry(weft_client *client) {
  const deadline_entry *first;
  while ((first = deadlines_peek(&client->deadlines))) {
    if (is_live(client, first)) return first->deadline_ms + WEFT_DEADLINE_GRACE_MS;
    deadlines_pop(&client->deadlines);
  }
  return 0;
}

/* ------------------------------------------------------------------ sending */

int weft_send(weft_client *client, const char *service, const char *method, const weft_frame *body, size_t body_count,
              const weft_call_options *options, uint64_t *request_id) {
  weft_call_options defaults;
  if (!options) {
    weft_call_options_init(&defaults);
    options = &defaults;
  }
  if (body_count && !body) {
    snprintf(client->error, sizeof client->error, "body frames missing");
    return WEFT_INVALID_ARGUMENT;
  }
  uint64_t id = client->next_id++;
  if (slot_for(client, id)->id != 0) {
    snprintf(client->error, sizeof client->error, "%d requests already in flight", WEFT_MAX_IN_FLIGHT);
    return WEFT_RESOURCE_EXHAUSTED;
  }

  uint8_t inline_header[inline_header_size];
  uint8_t *header = inline_header;
  size_t header_size = weft_encode_request_header(id, service, method, options, inline_header, sizeof inline_header);
  if (header_size == 0) {
    size_t needed = weft_request_header_size(id, service, method, options);
    if (needed == 0) {
      snprintf(client->error, sizeof client->error, "a request needs a service and a method");
      return WEFT_INVALID_ARGUMENT;
    }
    if (!(header = malloc(needed))) return WEFT_RESOURCE_EXHAUSTED;
    header_size = weft_encode_request_header(id, service, method, options, header, needed);
  }

  uint32_t timeout = options->timeout_ms ? options->timeout_ms : default_timeout_ms;
  uint64_t deadline = now_ms() + timeout;
  int status = WEFT_OK;
  /* Only the first frame can meet a full queue; the rest of a message always follows it. */
  while (zmq_send(client->socket, signature, sizeof signature, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
    uint64_t now = now_ms();
    if (zmq_errno() != EAGAIN && zmq_errno() != EINTR) {
      set_error(client, "send failed");
      status = WEFT_INTERNAL;
      break;
    }
    if (now >= deadline) {
      snprintf(client->error, sizeof client->error, "no gateway took the request before its deadline");
      status = WEFT_DEADLINE_EXCEEDED;
      break;
    }
    zmq_pollitem_t item = {client->socket, 0, ZMQ_POLLOUT, 0};
    zmq_poll(&item, 1, (long)(deadline - now));
  }
  if (status == WEFT_OK) {
    zmq_send(client->socket, header, header_size, body_count ? ZMQ_SNDMORE : 0);
    for (size_t index = 0; index < body_count; index++) {
      zmq_send(client->socket, body[index].data, body[index].size, index + 1 < body_count ? ZMQ_SNDMORE : 0);
    }
    pending_slot *slot = slot_for(client, id);
    slot->id = id;
    slot->deadline_ms = deadline;
    client->pending++;
    if (track_deadline(client, deadline, id) != 0) {
      finish(client, id);
      status = WEFT_RESOURCE_EXHAUSTED;
    }
    if (request_id) *request_id = id;
  }
  if (header != inline_header) free(header);
  return status;
}

/* ------------------------------------------------------------------ receiving */

/* Sets how long a receive blocks (ms, -1: no limit), skipping the call when unchanged. */
static void set_receive_timeout(weft_client *client, int timeout_ms) {
  if (client->receive_timeout_ms == timeout_ms) return;
  zmq_setsockopt(client->socket, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
  client->receive_timeout_ms = timeout_ms;
}

/* Receives one message, waiting up to `wait_ms` for it (0: only if one is queued; -1:
 * no limit). Blocking in the receive itself, rather than polling first, saves a
 * system call per reply. Returns 1 with `*response` filled for a reply to a pending
 * request, 0 for nothing in time or a message skipped, -1 on error. */
static int receive_one(weft_client *client, weft_response *response, int wait_ms) {
  set_receive_timeout(client, wait_ms);
  size_t count = 0;
  int more = 1, overflow = 0;
  while (more) {
    zmq_msg_t *frame = &client->frames[count < max_reply_frames ? count : max_reply_frames - 1];
    if (count >= max_reply_frames) { /* too many frames: drain, and skip the message */
      zmq_msg_close(frame);
      overflow = 1;
    }
    zmq_msg_init(frame);
    if (zmq_msg_recv(frame, client->socket, count || wait_ms != 0 ? 0 : ZMQ_DONTWAIT) < 0) {
      int error = zmq_errno();
      zmq_msg_close(frame);
      for (size_t index = 0; index < count && index < max_reply_frames; index++) zmq_msg_close(&client->frames[index]);
      if (count == 0 && (error == EAGAIN || error == EINTR)) return 0;
      set_error(client, "receive failed");
      return -1;
    }
    more = zmq_msg_more(frame);
    if (count < max_reply_frames) count++;
  }
  int decoded = !overflow && weft_decode_reply(client->frames, count, signature, response);
  for (size_t index = 0; index < count; index++) zmq_msg_close(&client->frames[index]);
  if (!decoded) return 0; /* malformed: skipped */
  if (!is_pending(client, response->request_id)) {
    weft_response_clear(response); /* cancelled, or already answered locally */
    return 0;
  }
  if (response->end_of_stream) finish(client, response->request_id);
  return 1;
}

/* The next reply from the socket or the deadline table, waiting up to `timeout_ms`. */
static int next_reply(weft_client *client, int timeout_ms, weft_response *response) {
  uint64_t limit = timeout_ms < 0 ? UINT64_MAX : now_ms() + (uint64_t)timeout_ms;
  for (;;) {
    uint64_t now = now_ms();
    uint64_t expiry = next_expiry(client);
    if (expiry && expiry <= now) {
      uint64_t id = deadlines_peek(&client->deadlines)->id;
      deadlines_pop(&client->deadlines);
      finish(client, id);
      if (!weft_local_reply(id, WEFT_DEADLINE_EXCEEDED, "no reply from the gateway before the deadline", response)) {
        return -1;
      }
      return 1;
    }
    if (client->pending == 0) return 0;
    uint64_t wake = expiry && expiry < limit ? expiry : limit;
    int wait = wake == UINT64_MAX ? -1 : wake > now ? (int)(wake - now) : 0;
    int received = receive_one(client, response, wait);
    if (received != 0) return received;
    if (wake == limit && now_ms() >= limit) return 0;
  }
}

int weft_poll(weft_client *client, int timeout_ms, weft_response *response) {
  if (client->stash_head) {
    stashed_reply *head = client->stash_head;
    *response = head->response;
    client->stash_head = head->next;
    if (!client->stash_head) client->stash_tail = NULL;
    free(head);
    return 1;
  }
  return next_reply(client, timeout_ms, response);
}

int weft_call(weft_client *client, const char *service, const char *method, const weft_frame *body, size_t body_count,
              const weft_call_options *options, weft_response *response) {
  memset(response, 0, sizeof *response);
  uint64_t id = 0;
  int status = weft_send(client, service, method, body, body_count, options, &id);
  if (status != WEFT_OK) return status;
  /* The deadline table guarantees a final reply, so this loop ends. */
  for (;;) {
    weft_response reply;
    int received = next_reply(client, -1, &reply);
    if (received < 0) {
      weft_cancel(client, id);
      return WEFT_INTERNAL;
    }
    if (received == 0) continue;
    if (reply.request_id == id) {
      if (reply.end_of_stream) {
        *response = reply;
        return reply.status;
      }
      weft_response_clear(&reply);
      continue;
    }
    stashed_reply *stashed = malloc(sizeof *stashed);
    if (!stashed) {
      weft_response_clear(&reply);
      continue;
    }
    stashed->response = reply;
    stashed->next = NULL;
    if (client->stash_tail) client->stash_tail->next = stashed;
    else client->stash_head = stashed;
    client->stash_tail = stashed;
  }
}
