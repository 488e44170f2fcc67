/*
 * libweft-client: a C client for a Weft mesh.
 *
 * Speaks Weft wire protocol v1 (docs/PROTOCOL.md) over one ZeroMQ DEALER socket
 * connected to one or more gateways. Requests and replies are the protobuf messages
 * of Protos/weft/v1, encoded with protobuf-c; request and reply bodies are opaque
 * byte frames here (encode them with the generated code in generated/weft/v1).
 *
 * A client is not thread-safe: use it from one thread at a time, or one client per
 * thread. Many requests may be in flight at once (weft_send / weft_poll).
 */
#ifndef WEFT_CLIENT_H
#define WEFT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes: gRPC's codes and numbers (Protos/weft/v1/status.proto). */
enum {
  WEFT_OK = 0,
  WEFT_CANCELLED = 1,
  WEFT_UNKNOWN = 2,
  WEFT_INVALID_ARGUMENT = 3,
  WEFT_DEADLINE_EXCEEDED = 4,
  WEFT_NOT_FOUND = 5,
  WEFT_ALREADY_EXISTS = 6,
  WEFT_PERMISSION_DENIED = 7,
  WEFT_RESOURCE_EXHAUSTED = 8,
  WEFT_FAILED_PRECONDITION = 9,
  WEFT_ABORTED = 10,
  WEFT_OUT_OF_RANGE = 11,
  WEFT_UNIMPLEMENTED = 12,
  WEFT_INTERNAL = 13,
  WEFT_UNAVAILABLE = 14,
  WEFT_DATA_LOSS = 15,
  WEFT_UNAUTHENTICATED = 16
};

/* The most requests one client keeps in flight; weft_send refuses more with
 * WEFT_RESOURCE_EXHAUSTED. */
#define WEFT_MAX_IN_FLIGHT 16384

/* The most gateways one client connects to. */
#define WEFT_MAX_GATEWAYS 32

/* Extra time after a request's deadline before the client gives up on a gateway
 * that did not answer and reports WEFT_DEADLINE_EXCEEDED itself. */
#define WEFT_DEADLINE_GRACE_MS 250

typedef struct weft_client weft_client;

/* One frame of bytes: a request body frame, or a reply body frame (which points into
 * memory owned by its weft_response). */
typedef struct {
  const void *data;
  size_t size;
} weft_frame;

/* One metadata entry. `binary` = 0: `value` is UTF-8 text; 1: bytes. */
typedef struct {
  const char *key;
  const void *value;
  size_t value_size;
  int binary;
} weft_metadata;

/* Per-call settings. Initialise with weft_call_options_init, then change fields. */
typedef struct {
  /* Deadline relative to the call, in milliseconds (default 30000). */
  uint32_t timeout_ms;
  /* The call may run again on another worker if its worker dies (default 1). */
  int idempotent;
  /* Pass the reply through the recommender (default 0). */
  int personalize;
  /* Pin a model version; NULL or "" lets the gateway choose. */
  const char *version;
  /* The end user the call is for (A/B stickiness, personalisation); NULL for none. */
  const char *user_id;
  /* Call metadata; keys must be distinct. Encoded sorted by key. */
  const weft_metadata *metadata;
  size_t metadata_count;
  /* Within this client's share of a service's queue, higher goes first (0 to 255;
     default 0). It never moves the call ahead of other clients' turns. */
  uint8_t priority;
} weft_call_options;

/* A reply. Owns its strings, body frames and metadata; release with
 * weft_response_clear. A streaming method yields several, the last with
 * end_of_stream = 1; an error is one final reply with status != WEFT_OK. */
typedef struct {
  uint64_t request_id;
  int status;
  char *message;
  int end_of_stream;
  char *worker_id;
  char *model_version;
  uint64_t queue_us, compute_us, total_us, gateway_queue_us;
  uint32_t batch_size;
  int personalized;
  weft_frame *body;
  size_t body_count;
  weft_metadata *metadata;
  size_t metadata_count;
  void *internal; /* the received ZeroMQ messages the body points into */
  /* On a call that stays open: flow_control = 1 marks a reply with no message, only
     `credit` (more messages the client may send; 0 is a keep-alive). weft_stream_*
     handles these itself. */
  uint32_t credit;
  int flow_control;
} weft_response;

/* Sets `options` to the defaults above. */
void weft_call_options_init(weft_call_options *options);

/* Connects to gateway frontends such as "tcp://127.0.0.1:5555" (at most
 * WEFT_MAX_GATEWAYS), one socket each with ZMTP heartbeats. Requests are spread
 * round-robin over the gateways whose connection is up. When one is lost (it closes, or
 * is silent for 600 ms), its idempotent requests are sent again through a live one
 * within their deadline and its other requests end at once with WEFT_UNAVAILABLE; a
 * gateway answering an idempotent request WEFT_UNAVAILABLE has it tried once on each
 * other live gateway; a gateway that comes back is used again. Returns NULL on failure
 * and writes the reason into `error` (`error_size` bytes, may be 0). */
weft_client *weft_client_open(const char *const *endpoints, size_t endpoint_count, char *error, size_t error_size);

/* CURVE credentials for a gateway with CURVE on: the gateway's public key and this
 * client's keypair, each the 40-character Z85 text that `weft keys generate` writes
 * (NAME.key holds a public key, NAME.secret a secret one). */
typedef struct {
  char server_key[41];
  char public_key[41];
  char secret_key[41];
} weft_curve;

/* Fills `curve` from the gateway's NAME.key file and this client's NAME.secret file
 * (its public key is derived). Returns 1, or 0 with a message in `error`. */
int weft_curve_from_files(weft_curve *curve, const char *gateway_key_path, const char *secret_key_path, char *error,
                          size_t error_size);

/* Like weft_client_open, over CURVE with `curve`. A gateway that does not list the
 * client's key never completes the handshake: calls then end at their deadline. */
weft_client *weft_client_open_curve(const char *const *endpoints, size_t endpoint_count, const weft_curve *curve, char *error,
                                    size_t error_size);

/* Closes the socket; replies still pending are discarded. NULL is allowed. */
void weft_client_close(weft_client *client);

/* Sends a request without waiting and stores its id in `*request_id` (may be NULL).
 * Returns WEFT_OK, or: WEFT_INVALID_ARGUMENT (no service or method, a NULL body with
 * frames), WEFT_RESOURCE_EXHAUSTED (WEFT_MAX_IN_FLIGHT requests pending),
 * WEFT_DEADLINE_EXCEEDED (no gateway took it before its deadline), or WEFT_INTERNAL
 * (a ZeroMQ error; see weft_client_error). Replies arrive through weft_poll. */
int weft_send(weft_client *client, const char *service, const char *method, const weft_frame *body, size_t body_count,
              const weft_call_options *options, uint64_t *request_id);

/* Waits up to `timeout_ms` (-1: no limit, 0: do not wait) for the next reply to any
 * request sent with weft_send, including replies the client makes itself for requests
 * whose deadline (plus WEFT_DEADLINE_GRACE_MS) passed without an answer. Returns 1 with
 * `*response` filled, 0 if nothing came in time (or nothing is pending), -1 on a ZeroMQ
 * error. Replies that are malformed or belong to no pending request are skipped. */
int weft_poll(weft_client *client, int timeout_ms, weft_response *response);

/* Sends a request and waits for its final reply (partial replies of a streaming
 * method are skipped; use weft_send and weft_poll to see them). Replies to other
 * requests that arrive meanwhile are kept for weft_poll. Returns the reply's status;
 * `*response` is filled whenever the return value is not from a local failure to send
 * (then `response->status` equals the return value too). */
int weft_call(weft_client *client, const char *service, const char *method, const weft_frame *body, size_t body_count,
              const weft_call_options *options, weft_response *response);

/* Cancels a pending request: the gateway holding it takes it out of its queue or tells
 * its worker, and replies to it, if any arrive, are dropped. Returns 1 if it was pending. */
int weft_cancel(weft_client *client, uint64_t request_id);

/* How many requests await their final reply. */
size_t weft_pending(const weft_client *client);

/* Encodes the request header frame for these arguments into `out` (`out_size` bytes)
 * and returns its length, or 0 if it does not fit or an argument is invalid. Used by
 * weft_send; public so other transports and conformance tests can use it. */
size_t weft_encode_request_header(uint64_t request_id, const char *service, const char *method,
                                  const weft_call_options *options, uint8_t *out, size_t out_size);

/* ---- Calls that stay open (client-streaming and bidirectional methods) ----
 *
 * A weft_stream sends messages on one call and reads its responses, with flow control
 * both ways (docs/PROTOCOL.md, "Calls that stay open"): weft_stream_send waits while the
 * worker has granted no room (8 messages at first, one back for each it has taken), and
 * reading with weft_stream_receive grants the worker room for more responses (a window
 * of 16). A call is never sent again to another gateway or worker.
 *
 * One thread both sends and reads: read what has come between sends (weft_stream_receive
 * with timeout 0). Responses that arrive while weft_stream_send waits for room are kept
 * and granted as if read, up to 64; past that the worker gets no more room until they are
 * read, so a caller that only sends eventually waits (and its send times out). */
typedef struct weft_stream weft_stream;

/* Opens a call of `service`/`method` (options as for weft_send; `idempotent` is
 * ignored). Returns WEFT_OK with `*stream` set, or a weft_send error. */
int weft_stream_open(weft_client *client, const char *service, const char *method, const weft_call_options *options,
                     weft_stream **stream);

/* Sends one message (its body frames), waiting up to `timeout_ms` (-1: no limit) for
 * room. Replies that arrive meanwhile are kept for weft_stream_receive. Returns WEFT_OK;
 * WEFT_DEADLINE_EXCEEDED if no room came in time (nothing was sent); WEFT_FAILED_PRECONDITION
 * after weft_stream_close_send or once the call has ended. */
int weft_stream_send(weft_stream *stream, const weft_frame *body, size_t body_count, int timeout_ms);

/* Half-closes: no more messages; responses keep coming. Returns WEFT_OK, or
 * WEFT_FAILED_PRECONDITION if the call has ended. */
int weft_stream_close_send(weft_stream *stream);

/* Waits up to `timeout_ms` (-1: no limit) for the call's next response. Returns 1 with
 * `*response` filled (release it with weft_response_clear; the last has end_of_stream
 * set and the call's status), 0 if none came in time or the call has ended, -1 on a
 * ZeroMQ error. */
int weft_stream_receive(weft_stream *stream, int timeout_ms, weft_response *response);

/* Cancels the call if it is still open, and frees the handle. NULL is allowed. */
void weft_stream_free(weft_stream *stream);

/* Releases what a reply owns and zeroes it. Safe on a zeroed or cleared reply. */
void weft_response_clear(weft_response *response);

/* The last error's description for this client ("" if none). */
const char *weft_client_error(const weft_client *client);

/* The status code's name, e.g. "DEADLINE_EXCEEDED"; "UNKNOWN_STATUS" for others. */
const char *weft_status_name(int status);

#ifdef __cplusplus
}
#endif

#endif
