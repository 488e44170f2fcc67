/*
 * libweft-client: the gateway connections, the pending-request table, deadlines and the
 * reply path. Framing is docs/PROTOCOL.md's: [ "WFC\x01" ][ RequestHeader ][ body ]*.
 *
 * Each gateway has its own DEALER socket with ZMTP heartbeats and a socket monitor, so the
 * client knows which gateways are live and which requests each holds. An idempotent
 * request keeps its frames (zmq_msg_copy: shared, not copied, past ZeroMQ's 33-byte
 * inline size) until its final reply, so when its gateway is lost it is sent again
 * through a live one; the other requests a lost gateway held end at once with
 * UNAVAILABLE (docs/CLIENTS.md, "Several gateways").
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
/* A PING after this long without traffic; a connection silent this long counts as lost;
 * a connect attempt to a host dropping packets is retried after this long. */
enum { heartbeat_interval_ms = 200, heartbeat_timeout_ms = 600, connect_timeout_ms = 1000 };
/* While requests wait for a live gateway, the client looks again this often. */
enum { retry_interval_ms = 10 };
enum { unsent_link = 0xff };

/* A request awaiting its final reply, in the slot its id maps to. Ids are sequential,
 * so a slot still taken when its id comes round again means WEFT_MAX_IN_FLIGHT
 * requests are pending. */
typedef struct {
  uint64_t id; /* 0: free */
  uint64_t deadline_ms;
  zmq_msg_t *frames; /* an idempotent request's frames, kept to send it again */
  uint32_t frame_count;
  uint32_t tried;    /* the gateways it was sent to, one bit each */
  uint8_t link;      /* the gateway it was last sent to, or unsent_link */
  uint8_t streamed;  /* a partial reply reached the caller: it cannot start again */
} pending_slot;

typedef struct stashed_reply {
  weft_response response;
  struct stashed_reply *next;
} stashed_reply;

typedef struct {
  stashed_reply *head, *tail;
} reply_list;

typedef struct {
  void *socket;
  void *monitor; /* a PAIR socket the socket's monitor writes its events to */
  int live;
  char endpoint[256];
} gateway_link;

struct weft_client {
  void *context;
  gateway_link links[WEFT_MAX_GATEWAYS];
  size_t link_count, next_link;
  zmq_pollitem_t items[2 * WEFT_MAX_GATEWAYS]; /* the sockets for reading, then the monitors */
  uint64_t next_id;
  pending_slot *slots;
  size_t pending;
  deadline_queue deadlines;
  uint64_t *unsent; /* ids waiting for a live gateway, in order */
  size_t unsent_count, unsent_capacity;
  reply_list stash; /* replies weft_call read for other requests, for weft_poll */
  reply_list local; /* UNAVAILABLE replies made here for requests a lost gateway held */
  uint64_t events_read_ms; /* when the monitors were last read */
  zmq_msg_t frames[max_reply_frames]; /* where replies are received, reused */
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

/* Makes the socket, its monitor and the connection of gateway `index`; returns 0 with
 * client->error set on failure. */
static int open_link(weft_client *client, size_t index, const char *endpoint, const weft_curve *curve) {
  gateway_link *link = &client->links[index];
  snprintf(link->endpoint, sizeof link->endpoint, "%s", endpoint);
  if (!(link->socket = zmq_socket(client->context, ZMQ_DEALER))) {
    set_error(client, "cannot create a ZeroMQ socket");
    return 0;
  }
  int linger = 100, on = 1, unlimited = 0, interval = heartbeat_interval_ms, timeout = heartbeat_timeout_ms,
      connect_timeout = connect_timeout_ms;
  zmq_setsockopt(link->socket, ZMQ_LINGER, &linger, sizeof linger);
  zmq_setsockopt(link->socket, ZMQ_IMMEDIATE, &on, sizeof on); /* queue only to a live connection */
  zmq_setsockopt(link->socket, ZMQ_SNDHWM, &unlimited, sizeof unlimited);
  zmq_setsockopt(link->socket, ZMQ_RCVHWM, &unlimited, sizeof unlimited);
  zmq_setsockopt(link->socket, ZMQ_HEARTBEAT_IVL, &interval, sizeof interval);
  zmq_setsockopt(link->socket, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout);
  zmq_setsockopt(link->socket, ZMQ_HEARTBEAT_TTL, &timeout, sizeof timeout);
  zmq_setsockopt(link->socket, ZMQ_CONNECT_TIMEOUT, &connect_timeout, sizeof connect_timeout);
  /* The keys are Z85 text: libzmq takes them as 41 bytes, the NUL included. */
  if (curve && (zmq_setsockopt(link->socket, ZMQ_CURVE_SERVERKEY, curve->server_key, 41) != 0 ||
                zmq_setsockopt(link->socket, ZMQ_CURVE_PUBLICKEY, curve->public_key, 41) != 0 ||
                zmq_setsockopt(link->socket, ZMQ_CURVE_SECRETKEY, curve->secret_key, 41) != 0)) {
    set_error(client, "cannot set the CURVE keys");
    return 0;
  }
  char address[96];
  snprintf(address, sizeof address, "inproc://weft-c-monitor-%p-%zu", (void *)client, index);
  if (zmq_socket_monitor(link->socket, address, ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED) != 0 ||
      !(link->monitor = zmq_socket(client->context, ZMQ_PAIR)) || zmq_connect(link->monitor, address) != 0) {
    set_error(client, "cannot monitor the gateway connection");
    return 0;
  }
  if (zmq_connect(link->socket, endpoint) != 0) {
    snprintf(client->error, sizeof client->error, "cannot connect to %s: %s", endpoint, zmq_strerror(zmq_errno()));
    return 0;
  }
  client->items[index] = (zmq_pollitem_t){link->socket, 0, ZMQ_POLLIN, 0};
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
  } else if (endpoint_count > WEFT_MAX_GATEWAYS) {
    snprintf(client->error, sizeof client->error, "%zu gateways given; a client takes at most %d", endpoint_count,
             WEFT_MAX_GATEWAYS);
    failure = client->error;
  } else if (!(client->context = zmq_ctx_new())) {
    failure = "cannot create a ZeroMQ context";
  } else {
    for (size_t index = 0; index < endpoint_count && !failure; index++) {
      client->link_count = index + 1;
      if (!open_link(client, index, endpoints[index], curve)) failure = client->error;
    }
    for (size_t index = 0; index < client->link_count; index++) {
      client->items[client->link_count + index] = (zmq_pollitem_t){client->links[index].monitor, 0, ZMQ_POLLIN, 0};
    }
  }
  if (failure) {
    if (error && error_size) snprintf(error, error_size, "%s", failure);
    weft_client_close(client);
    return NULL;
  }
  client->next_id = 1;
  return client;
}

static void clear_replies(reply_list *list) {
  while (list->head) {
    stashed_reply *next = list->head->next;
    weft_response_clear(&list->head->response);
    free(list->head);
    list->head = next;
  }
  list->tail = NULL;
}

static void drop_frames(pending_slot *slot) {
  for (uint32_t index = 0; index < slot->frame_count; index++) zmq_msg_close(&slot->frames[index]);
  free(slot->frames);
  slot->frames = NULL;
  slot->frame_count = 0;
}

void weft_client_close(weft_client *client) {
  if (!client) return;
  clear_replies(&client->stash);
  clear_replies(&client->local);
  for (size_t index = 0; index < client->link_count; index++) {
    gateway_link *link = &client->links[index];
    if (link->socket) {
      zmq_socket_monitor(link->socket, NULL, 0);
      zmq_close(link->socket);
    }
    if (link->monitor) zmq_close(link->monitor);
  }
  if (client->context) zmq_ctx_term(client->context);
  if (client->slots) {
    for (size_t index = 0; index < WEFT_MAX_IN_FLIGHT; index++) drop_frames(&client->slots[index]);
  }
  free(client->slots);
  free(client->unsent);
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
  drop_frames(slot);
  slot->id = 0;
  client->pending--;
}

size_t weft_pending(const weft_client *client) { return client->pending; }

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

static void push_reply(reply_list *list, const weft_response *response) {
  stashed_reply *stashed = malloc(sizeof *stashed);
  if (!stashed) return; /* out of memory: the request ends at its deadline instead */
  stashed->response = *response;
  stashed->next = NULL;
  if (list->tail) list->tail->next = stashed;
  else list->head = stashed;
  list->tail = stashed;
}

static int pop_reply(reply_list *list, weft_response *response) {
  stashed_reply *head = list->head;
  if (!head) return 0;
  *response = head->response;
  list->head = head->next;
  if (!list->head) list->tail = NULL;
  free(head);
  return 1;
}

/* ------------------------------------------------------------------ gateways */

static int has_untried_live(const weft_client *client, const pending_slot *slot) {
  for (size_t index = 0; index < client->link_count; index++) {
    if (client->links[index].live && !(slot->tried & (1u << index))) return 1;
  }
  return 0;
}

static int queue_unsent(weft_client *client, uint64_t id) {
  if (client->unsent_count == client->unsent_capacity) {
    size_t capacity = client->unsent_capacity ? 2 * client->unsent_capacity : 64;
    uint64_t *grown = realloc(client->unsent, capacity * sizeof *grown);
    if (!grown) return 0;
    client->unsent = grown;
    client->unsent_capacity = capacity;
  }
  client->unsent[client->unsent_count++] = id;
  slot_for(client, id)->link = unsent_link;
  return 1;
}

/* Sends one message to `socket` without waiting: from `kept` (copies that share its
 * data), or else from the caller's header and body. Returns 0, or -1 if the socket
 * cannot take it now (EAGAIN: no live connection, or a full queue). */
static int send_message(void *socket, const zmq_msg_t *kept, size_t kept_count, const uint8_t *header, size_t header_size,
                        const weft_frame *body, size_t body_count) {
  if (kept) {
    for (size_t index = 0; index < kept_count; index++) {
      zmq_msg_t copy;
      zmq_msg_init(&copy);
      zmq_msg_copy(&copy, (zmq_msg_t *)&kept[index]);
      int flags = (index + 1 < kept_count ? ZMQ_SNDMORE : 0) | (index == 0 ? ZMQ_DONTWAIT : 0);
      if (zmq_msg_send(&copy, socket, flags) < 0) {
        zmq_msg_close(&copy);
        return -1; /* only the first frame can fail: the rest of a message always follows it */
      }
    }
    return 0;
  }
  if (zmq_send(socket, signature, sizeof signature, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) return -1;
  zmq_send(socket, header, header_size, body_count ? ZMQ_SNDMORE : 0);
  for (size_t index = 0; index < body_count; index++) {
    zmq_send(socket, body[index].data, body[index].size, index + 1 < body_count ? ZMQ_SNDMORE : 0);
  }
  return 0;
}

/* Sends request `slot` to a live gateway, untried ones first, round-robin. Returns 1
 * when one took it, 0 when none could now. */
static int send_to_gateway(weft_client *client, pending_slot *slot, const uint8_t *header, size_t header_size,
                           const weft_frame *body, size_t body_count) {
  for (int untried_only = 1; untried_only >= 0; untried_only--) {
    for (size_t step = 0; step < client->link_count; step++) {
      size_t index = (client->next_link + step) % client->link_count;
      if (!client->links[index].live || (untried_only && (slot->tried & (1u << index)))) continue;
      if (send_message(client->links[index].socket, slot->frames, slot->frame_count, header, header_size, body,
                       body_count) != 0) {
        continue;
      }
      client->next_link = (index + 1) % client->link_count;
      slot->link = (uint8_t)index;
      slot->tried |= 1u << index;
      return 1;
    }
  }
  return 0;
}

/* Sends what waits for a live gateway, in order, until one cannot go. */
static void flush_unsent(weft_client *client) {
  size_t done = 0;
  while (done < client->unsent_count) {
    pending_slot *slot = slot_for(client, client->unsent[done]);
    if (slot->id == client->unsent[done] && slot->link == unsent_link &&
        !send_to_gateway(client, slot, NULL, 0, NULL, 0)) {
      break;
    }
    done++;
  }
  memmove(client->unsent, client->unsent + done, (client->unsent_count - done) * sizeof *client->unsent);
  client->unsent_count -= done;
}

/* Gateway `index` lost its connection: its idempotent requests wait to go again, the
 * others end with UNAVAILABLE. */
/* What receive_one found (defined with it, below). */
enum { received_nothing = 0, received_reply = 1, received_skipped = 2, received_error = -1 };
static int receive_one(weft_client *client, size_t index, weft_response *response);
static void lose_link(weft_client *client, size_t index) {
  gateway_link *link = &client->links[index];
  /* What the gateway sent before it went comes first: the monitor's event can be seen
   * before the socket shows the last replies as readable. */
  weft_response queued;
  int received;
  while ((received = receive_one(client, index, &queued)) != received_nothing && received != received_error) {
    if (received == received_reply) push_reply(&client->local, &queued);
  }
  link->live = 0;
  for (size_t position = 0; position < WEFT_MAX_IN_FLIGHT; position++) {
    pending_slot *slot = &client->slots[position];
    if (!slot->id || slot->link != index) continue;
    if (slot->frames && !slot->streamed && queue_unsent(client, slot->id)) continue;
    char message[400];
    snprintf(message, sizeof message,
             "lost the connection to gateway %s while the call ran; %s, so it was not sent again", link->endpoint,
             slot->streamed ? "it had already streamed replies" : "it is not idempotent");
    weft_response reply;
    uint64_t id = slot->id;
    finish(client, id);
    if (weft_local_reply(id, WEFT_UNAVAILABLE, message, &reply)) push_reply(&client->local, &reply);
  }
}

/* Reads the connection events of every gateway's monitor. */
static void read_events(weft_client *client) {
  for (size_t index = 0; index < client->link_count; index++) {
    for (;;) {
      zmq_msg_t event, address;
      zmq_msg_init(&event);
      if (zmq_msg_recv(&event, client->links[index].monitor, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&event);
        break;
      }
      zmq_msg_init(&address);
      zmq_msg_recv(&address, client->links[index].monitor, 0);
      uint16_t kind = 0;
      if (zmq_msg_size(&event) >= sizeof kind) memcpy(&kind, zmq_msg_data(&event), sizeof kind);
      zmq_msg_close(&event);
      zmq_msg_close(&address);
      if (kind == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) client->links[index].live = 1;
      else if (kind == ZMQ_EVENT_DISCONNECTED && client->links[index].live) lose_link(client, index);
    }
  }
}

/* Waits up to `wait_ms` for a reply or a connection event on any gateway (-1: no limit). */
static void wait_for_gateways(weft_client *client, int wait_ms) {
  if (client->unsent_count && (wait_ms < 0 || wait_ms > retry_interval_ms)) wait_ms = retry_interval_ms;
  if (zmq_poll(client->items, (int)(2 * client->link_count), wait_ms) > 0) read_events(client);
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
  if (body_count + 2 > max_reply_frames) {
    snprintf(client->error, sizeof client->error, "%zu body frames; a request takes at most %d", body_count,
             max_reply_frames - 2);
    return WEFT_INVALID_ARGUMENT;
  }
  uint64_t id = client->next_id++;
  pending_slot *slot = slot_for(client, id);
  if (slot->id != 0) {
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
  *slot = (pending_slot){.id = id, .deadline_ms = deadline, .link = unsent_link};
  /* An idempotent request keeps its frames, to go again if its gateway is lost. */
  if (options->idempotent && (slot->frames = malloc((body_count + 2) * sizeof *slot->frames))) {
    zmq_msg_init_size(&slot->frames[0], sizeof signature);
    memcpy(zmq_msg_data(&slot->frames[0]), signature, sizeof signature);
    zmq_msg_init_size(&slot->frames[1], header_size);
    memcpy(zmq_msg_data(&slot->frames[1]), header, header_size);
    for (size_t index = 0; index < body_count; index++) {
      zmq_msg_init_size(&slot->frames[index + 2], body[index].size);
      if (body[index].size) memcpy(zmq_msg_data(&slot->frames[index + 2]), body[index].data, body[index].size);
    }
    slot->frame_count = (uint32_t)(body_count + 2);
  }
  client->pending++;
  /* Waits while no gateway is live or every live one's queue is full, up to the deadline. */
  while (!send_to_gateway(client, slot, header, header_size, body, body_count)) {
    uint64_t now = now_ms();
    if (now >= deadline) {
      snprintf(client->error, sizeof client->error, "no gateway took the request before its deadline");
      status = WEFT_DEADLINE_EXCEEDED;
      break;
    }
    zmq_pollitem_t items[2 * WEFT_MAX_GATEWAYS];
    for (size_t index = 0; index < client->link_count; index++) {
      items[index] = (zmq_pollitem_t){client->links[index].socket, 0, client->links[index].live ? ZMQ_POLLOUT : 0, 0};
      items[client->link_count + index] = client->items[client->link_count + index];
    }
    long wait = (long)(deadline - now);
    if (zmq_poll(items, (int)(2 * client->link_count), wait < 100 ? wait : 100) > 0) read_events(client);
  }
  if (status == WEFT_OK && track_deadline(client, deadline, id) != 0) status = WEFT_RESOURCE_EXHAUSTED;
  if (status == WEFT_OK) {
    if (request_id) *request_id = id;
  } else {
    finish(client, id);
  }
  if (header != inline_header) free(header);
  return status;
}

int weft_cancel(weft_client *client, uint64_t request_id) {
  if (!is_pending(client, request_id)) return 0;
  pending_slot *slot = slot_for(client, request_id);
  uint8_t header[32];
  size_t size = weft_encode_cancel_header(request_id, header, sizeof header);
  if (slot->link != unsent_link && size) {
    void *socket = client->links[slot->link].socket;
    if (zmq_send(socket, signature, sizeof signature, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) zmq_send(socket, header, size, 0);
  }
  finish(client, request_id);
  return 1;
}

/* ------------------------------------------------------------------ receiving */


/* Receives one queued message from gateway `index`, without waiting. Returns
 * received_reply with `*response` filled for a reply to a pending request,
 * received_skipped for a message dropped (malformed, for no pending request, or an
 * UNAVAILABLE that another gateway gets to try), received_nothing, or received_error. */
static int receive_one(weft_client *client, size_t index, weft_response *response) {
  void *socket = client->links[index].socket;
  size_t count = 0;
  int more = 1, overflow = 0;
  while (more) {
    zmq_msg_t *frame = &client->frames[count < max_reply_frames ? count : max_reply_frames - 1];
    if (count >= max_reply_frames) { /* too many frames: drain, and skip the message */
      zmq_msg_close(frame);
      overflow = 1;
    }
    zmq_msg_init(frame);
    if (zmq_msg_recv(frame, socket, count ? 0 : ZMQ_DONTWAIT) < 0) {
      int error = zmq_errno();
      zmq_msg_close(frame);
      for (size_t position = 0; position < count && position < max_reply_frames; position++) {
        zmq_msg_close(&client->frames[position]);
      }
      if (count == 0 && (error == EAGAIN || error == EINTR)) return received_nothing;
      set_error(client, "receive failed");
      return received_error;
    }
    more = zmq_msg_more(frame);
    if (count < max_reply_frames) count++;
  }
  int decoded = !overflow && weft_decode_reply(client->frames, count, signature, response);
  for (size_t position = 0; position < count; position++) zmq_msg_close(&client->frames[position]);
  if (!decoded) return received_skipped; /* malformed */
  pending_slot *slot = slot_for(client, response->request_id);
  if (!is_pending(client, response->request_id) || slot->link != index) {
    weft_response_clear(response); /* cancelled, answered locally, or since sent elsewhere */
    return received_skipped;
  }
  if (response->end_of_stream && response->status == WEFT_UNAVAILABLE && slot->frames && !slot->streamed &&
      has_untried_live(client, slot) && queue_unsent(client, response->request_id)) {
    weft_response_clear(response); /* this gateway cannot serve it now; another may */
    return received_skipped;
  }
  if (response->end_of_stream) finish(client, response->request_id);
  else slot->streamed = 1;
  return received_reply;
}

/* A reply queued at any gateway, taking them in turn so none is starved. */
static int receive_any(weft_client *client, weft_response *response) {
  for (size_t step = 0; step < client->link_count; step++) {
    size_t index = (client->next_link + step) % client->link_count;
    int received;
    while ((received = receive_one(client, index, response)) == received_skipped) {}
    if (received != received_nothing) return received;
  }
  return received_nothing;
}

/* The next reply from the gateways or the deadline table, waiting up to `timeout_ms`. */
static int next_reply(weft_client *client, int timeout_ms, weft_response *response) {
  uint64_t limit = timeout_ms < 0 ? UINT64_MAX : now_ms() + (uint64_t)timeout_ms;
  for (;;) {
    if (pop_reply(&client->local, response)) return 1;
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
    /* Busy gateways keep replies queued, so the loop may not poll for a while: read the
     * connection events at least this often all the same. */
    if (now - client->events_read_ms >= retry_interval_ms) {
      read_events(client);
      client->events_read_ms = now;
    }
    if (client->unsent_count) flush_unsent(client);
    int received = receive_any(client, response);
    if (received != received_nothing) return received;
    uint64_t wake = expiry && expiry < limit ? expiry : limit;
    if (wake != UINT64_MAX && wake <= now) return 0;
    wait_for_gateways(client, wake == UINT64_MAX ? -1 : (int)(wake - now));
  }
}

int weft_poll(weft_client *client, int timeout_ms, weft_response *response) {
  if (pop_reply(&client->stash, response)) return 1;
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
    push_reply(&client->stash, &reply);
  }
}

/* ------------------------------------------------------------------ calls that stay open */

enum { call_frame_message = 1, call_frame_half_close = 2, call_frame_credit = 3 };
enum { initial_messages = 8, response_window = 16 };

struct weft_stream {
  weft_client *client;
  uint64_t id;
  uint32_t credit;     /* messages the worker still has room for */
  uint32_t unread;     /* responses taken since the last grant */
  uint32_t buffered;   /* responses kept in `replies` */
  uint32_t owed;       /* of those, taken past the buffer's bound and not yet granted */
  int half_closed, ended;
  reply_list replies;  /* this call's responses read while sending */
};

/* Responses kept while sending, granted as if read, so a caller that sends many messages
 * before reading does not stall its own call; past this, they are granted when read. */
enum { buffered_bound = 4 * response_window };

/* Counts one response as taken; grants the worker room for more every half window. */
static int send_call_frame(weft_stream *stream, int frame, uint32_t credit, const weft_frame *body, size_t body_count);
static void count_taken(weft_stream *stream) {
  if (++stream->unread >= response_window / 2) {
    send_call_frame(stream, call_frame_credit, stream->unread, NULL, 0);
    stream->unread = 0;
  }
}

int weft_stream_open(weft_client *client, const char *service, const char *method, const weft_call_options *options,
                     weft_stream **stream) {
  weft_call_options open;
  if (options) open = *options;
  else weft_call_options_init(&open);
  open.idempotent = 0;
  weft_stream *made = calloc(1, sizeof *made);
  if (!made) return WEFT_RESOURCE_EXHAUSTED;
  int status = weft_send(client, service, method, NULL, 0, &open, &made->id);
  if (status != WEFT_OK) {
    free(made);
    return status;
  }
  made->client = client;
  made->credit = initial_messages;
  *stream = made;
  return WEFT_OK;
}

/* Sends a MESSAGE, HALF_CLOSE or CREDIT on the call to the gateway that holds it. */
static int send_call_frame(weft_stream *stream, int frame, uint32_t credit, const weft_frame *body, size_t body_count) {
  if (!is_pending(stream->client, stream->id)) return WEFT_FAILED_PRECONDITION;
  pending_slot *slot = slot_for(stream->client, stream->id);
  if (slot->link == unsent_link) return WEFT_FAILED_PRECONDITION;
  uint8_t header[32];
  size_t size = weft_encode_call_frame(stream->id, frame, credit, header, sizeof header);
  void *socket = stream->client->links[slot->link].socket;
  zmq_send(socket, signature, sizeof signature, ZMQ_SNDMORE);
  zmq_send(socket, header, size, body_count ? ZMQ_SNDMORE : 0);
  for (size_t index = 0; index < body_count; index++) {
    zmq_send(socket, body[index].data, body[index].size, index + 1 < body_count ? ZMQ_SNDMORE : 0);
  }
  return WEFT_OK;
}

/* Takes a reply to this call kept by another reader (weft_call's stash). */
static int take_stashed(reply_list *list, uint64_t id, weft_response *response) {
  for (stashed_reply **link = &list->head, *previous = NULL; *link; previous = *link, link = &(*link)->next) {
    if ((*link)->response.request_id != id) continue;
    stashed_reply *found = *link;
    *response = found->response;
    *link = found->next;
    if (list->tail == found) list->tail = previous;
    free(found);
    return 1;
  }
  return 0;
}

/* Reads the next reply to this call, waiting up to `timeout_ms`: grants are counted,
 * replies to other requests kept for weft_poll. Returns 1 with a response, 0, or -1. */
static int read_call(weft_stream *stream, int timeout_ms, weft_response *response) {
  uint64_t limit = timeout_ms < 0 ? UINT64_MAX : now_ms() + (uint64_t)timeout_ms;
  for (;;) {
    int received = take_stashed(&stream->client->stash, stream->id, response);
    if (!received) {
      uint64_t now = now_ms();
      int wait = limit == UINT64_MAX ? -1 : (limit > now ? (int)(limit - now) : 0);
      received = next_reply(stream->client, wait, response);
      if (received <= 0) return received;
    }
    if (response->request_id != stream->id) {
      push_reply(&stream->client->stash, response);
      continue;
    }
    if (response->flow_control) {
      stream->credit += response->credit;
      weft_response_clear(response);
      continue;
    }
    if (response->end_of_stream) stream->ended = 1;
    return 1;
  }
}

int weft_stream_send(weft_stream *stream, const weft_frame *body, size_t body_count, int timeout_ms) {
  if (stream->half_closed || stream->ended) return WEFT_FAILED_PRECONDITION;
  uint64_t limit = timeout_ms < 0 ? UINT64_MAX : now_ms() + (uint64_t)timeout_ms;
  while (stream->credit == 0) {
    uint64_t now = now_ms();
    if (now >= limit) return WEFT_DEADLINE_EXCEEDED;
    weft_response response;
    int received = read_call(stream, limit == UINT64_MAX ? -1 : (int)(limit - now), &response);
    if (received < 0) return WEFT_INTERNAL;
    if (received > 0) {
      push_reply(&stream->replies, &response);
      if (++stream->buffered <= buffered_bound && !response.end_of_stream) count_taken(stream);
      else if (!response.end_of_stream) stream->owed++;
    }
    if (stream->ended) return WEFT_FAILED_PRECONDITION;
  }
  int status = send_call_frame(stream, call_frame_message, 0, body, body_count);
  if (status == WEFT_OK) stream->credit--;
  return status;
}

int weft_stream_close_send(weft_stream *stream) {
  if (stream->half_closed) return WEFT_OK;
  int status = send_call_frame(stream, call_frame_half_close, 0, NULL, 0);
  if (status == WEFT_OK) stream->half_closed = 1;
  return status;
}

int weft_stream_receive(weft_stream *stream, int timeout_ms, weft_response *response) {
  if (pop_reply(&stream->replies, response)) {
    stream->buffered--;
    if (stream->owed > 0) {
      stream->owed--;
      count_taken(stream);
    }
    return 1;
  }
  if (stream->ended) return 0;
  int received = read_call(stream, timeout_ms, response);
  if (received > 0 && !response->end_of_stream) count_taken(stream);
  return received;
}

void weft_stream_free(weft_stream *stream) {
  if (!stream) return;
  if (!stream->ended) weft_cancel(stream->client, stream->id);
  clear_replies(&stream->replies);
  free(stream);
}

