/*
 * weft-example: calls a Weft mesh from C, one command per kind of call.
 *
 *   weft-example [-g ENDPOINT] echo TEXT...        unary call, body frames echoed back
 *   weft-example [-g ENDPOINT] stream TEXT...      streaming call, one reply per frame
 *   weft-example [-g ENDPOINT] embed TEXT...       text.embed: a 384-float vector per text
 *   weft-example [-g ENDPOINT] similarity Q C...   text.similarity: scores of C against Q
 *   weft-example [-g ENDPOINT] classify IMAGE      vision.classify: the top 5 classes of a JPEG/PNG
 *   weft-example [-g ENDPOINT] speech WAV          speech.detect: the speech segments of a WAV file
 *   weft-example [-g ENDPOINT] status              the gateway's services and workers
 *   weft-example [-g ENDPOINT] sleep MS TIMEOUT    a slow call under a deadline
 *   weft-example [-g ENDPOINT] cancel MS           a slow call, cancelled after 300 ms
 *   weft-example [-g ENDPOINT] call SERVICE METHOD any method, empty body
 *   weft-example [-g ENDPOINT] many N              N echo calls in flight at once
 *   weft-example [-g ENDPOINT] malformed           a request with a broken header
 *   weft-example header                            the hex of a fixed request header
 *
 * Prints one JSON object per reply on stdout; exits 0 if every call returned OK, 1 if a
 * call failed (its status is printed), 2 on a usage or connection error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "weft/client.h"
#include "weft/v1/header.pb-c.h"
#include "weft/v1/methods.h"
#include "weft/v1/mesh.pb-c.h"
#include "weft/v1/speech.pb-c.h"
#include "weft/v1/text.pb-c.h"
#include "weft/v1/vision.pb-c.h"

static void print_json_string(const char *text, size_t length) {
  putchar('"');
  for (size_t index = 0; index < length; index++) {
    unsigned char c = (unsigned char)text[index];
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

/* Prints a reply's status, message and body frames as JSON; returns its status. */
static int print_reply(const weft_response *reply) {
  printf("{\"request_id\":%llu,\"status\":\"%s\",\"message\":", (unsigned long long)reply->request_id,
         weft_status_name(reply->status));
  print_json_string(reply->message ? reply->message : "", reply->message ? strlen(reply->message) : 0);
  printf(",\"end_of_stream\":%s,\"frames\":[", reply->end_of_stream ? "true" : "false");
  for (size_t index = 0; index < reply->body_count; index++) {
    if (index) putchar(',');
    print_json_string(reply->body[index].data, reply->body[index].size);
  }
  printf("],\"metadata\":{");
  for (size_t index = 0; index < reply->metadata_count; index++) {
    if (index) putchar(',');
    print_json_string(reply->metadata[index].key, strlen(reply->metadata[index].key));
    putchar(':');
    print_json_string(reply->metadata[index].value, reply->metadata[index].value_size);
  }
  printf("}}\n");
  return reply->status;
}

static int finish(int status, weft_response *reply) {
  if (status != WEFT_OK && (!reply || !reply->message)) printf("{\"status\":\"%s\"}\n", weft_status_name(status));
  if (reply) weft_response_clear(reply);
  return status == WEFT_OK ? 0 : 1;
}

/* Prints the reply if one came (a failure to send leaves none), then ends the command. */
static int report(int status, weft_response *reply) {
  if (reply->message) print_reply(reply);
  return finish(status, reply);
}

static int echo(weft_client *client, int count, char **texts) {
  weft_frame *frames = calloc((size_t)count + 1, sizeof *frames);
  for (int index = 0; index < count; index++) frames[index] = (weft_frame){texts[index], strlen(texts[index])};
  weft_metadata metadata[] = {{"example", "c", 1, 0}};
  weft_call_options options;
  weft_call_options_init(&options);
  options.timeout_ms = 5000;
  options.metadata = metadata;
  options.metadata_count = 1;
  weft_response reply;
  int status = weft_call(client, weft_method_echo_echo.service, weft_method_echo_echo.name, frames, (size_t)count, &options, &reply);
  free(frames);
  return report(status, &reply);
}

static int stream(weft_client *client, int count, char **texts) {
  weft_frame *frames = calloc((size_t)count + 1, sizeof *frames);
  for (int index = 0; index < count; index++) frames[index] = (weft_frame){texts[index], strlen(texts[index])};
  uint64_t id;
  int status = weft_send(client, weft_method_echo_stream.service, weft_method_echo_stream.name, frames, (size_t)count, NULL, &id);
  free(frames);
  if (status != WEFT_OK) return finish(status, NULL);
  for (;;) {
    weft_response reply;
    if (weft_poll(client, -1, &reply) != 1) return finish(WEFT_INTERNAL, NULL);
    print_reply(&reply);
    int done = reply.end_of_stream;
    status = reply.status;
    weft_response_clear(&reply);
    if (done) return finish(status, NULL);
  }
}

/* What the chat has read so far. */
typedef struct {
  int received, in_order, ended, status;
} chat_progress;

/* Takes one reply of the chat: the final one's status, or an echo, checked to be the
 * next number. */
static void take_echo(weft_response *reply, chat_progress *progress) {
  if (reply->end_of_stream) {
    progress->ended = 1;
    progress->status = reply->status;
  } else {
    char expected[16];
    int length = snprintf(expected, sizeof expected, "%d", progress->received);
    if (reply->body_count != 1 || reply->body[0].size != (size_t)length ||
        memcmp(reply->body[0].data, expected, (size_t)length) != 0) {
      progress->in_order = 0;
    }
    progress->received++;
  }
  weft_response_clear(reply);
}

/* echo.chat, a call that stays open: sends `count` numbered messages as room is granted,
 * reading the echoes that have come between sends (one thread does both), half-closes,
 * then reads the rest; prints how many came back and whether in order. */
static int chat(weft_client *client, int count) {
  weft_stream *call;
  int status = weft_stream_open(client, weft_method_echo_chat.service, weft_method_echo_chat.name, NULL, &call);
  if (status != WEFT_OK) return finish(status, NULL);
  chat_progress progress = {0, 1, 0, WEFT_OK};
  weft_response reply;
  for (int index = 0; index < count && status == WEFT_OK; index++) {
    char text[16];
    int length = snprintf(text, sizeof text, "%d", index);
    weft_frame frame = {text, (size_t)length};
    status = weft_stream_send(call, &frame, 1, 10000);
    while (status == WEFT_OK && !progress.ended && weft_stream_receive(call, 0, &reply) == 1) take_echo(&reply, &progress);
  }
  if (status == WEFT_OK && !progress.ended) status = weft_stream_close_send(call);
  if (status != WEFT_OK) progress.status = status;
  while (status == WEFT_OK && !progress.ended && weft_stream_receive(call, 10000, &reply) == 1) take_echo(&reply, &progress);
  weft_stream_free(call);
  printf("{\"status\":\"%s\",\"sent\":%d,\"received\":%d,\"in_order\":%d}\n", weft_status_name(progress.status), count,
         progress.received, progress.in_order);
  return progress.status == WEFT_OK ? 0 : 1;
}

/* Calls a method with a packed protobuf body; returns the reply's status, or
 * WEFT_DATA_LOSS for an OK reply without exactly one body frame. */
static int call_packed(weft_client *client, const weft_method *method, const ProtobufCMessage *request,
                       weft_response *reply) {
  size_t size = protobuf_c_message_get_packed_size(request);
  uint8_t *body = malloc(size + 1);
  protobuf_c_message_pack(request, body);
  weft_frame frame = {body, size};
  weft_call_options options;
  weft_call_options_init(&options);
  options.timeout_ms = 10000;
  int status = weft_call(client, method->service, method->name, &frame, 1, &options, reply);
  free(body);
  return status == WEFT_OK && reply->body_count != 1 ? WEFT_DATA_LOSS : status;
}

static void print_floats(const Weft__V1__Tensor *tensor, size_t start, size_t count) {
  const float *values = (const float *)tensor->data.data;
  putchar('[');
  for (size_t index = 0; index < count; index++) printf(index ? ",%.7g" : "%.7g", values[start + index]);
  putchar(']');
}

static int embed(weft_client *client, int count, char **texts) {
  Weft__V1__EmbedRequest request = WEFT__V1__EMBED_REQUEST__INIT;
  request.n_texts = (size_t)count;
  request.texts = texts;
  weft_response reply;
  int status = call_packed(client, &weft_method_text_embed, &request.base, &reply);
  if (status != WEFT_OK) return report(status, &reply);
  Weft__V1__EmbedResponse *response =
      weft__v1__embed_response__unpack(NULL, reply.body[0].size, reply.body[0].data);
  const Weft__V1__Tensor *tensor = response ? response->embeddings : NULL;
  if (!tensor || tensor->n_shape != 2 || tensor->dtype != WEFT__V1__DTYPE__FLOAT32 ||
      tensor->data.len != (size_t)(tensor->shape[0] * tensor->shape[1]) * sizeof(float)) {
    if (response) weft__v1__embed_response__free_unpacked(response, NULL);
    return finish(WEFT_DATA_LOSS, &reply);
  }
  size_t width = (size_t)tensor->shape[1];
  printf("{\"status\":\"OK\",\"model\":\"%s\",\"embeddings\":[", response->model);
  for (size_t row = 0; row < (size_t)tensor->shape[0]; row++) {
    if (row) putchar(',');
    print_floats(tensor, row * width, width);
  }
  printf("]}\n");
  weft__v1__embed_response__free_unpacked(response, NULL);
  return finish(WEFT_OK, &reply);
}

static int similarity(weft_client *client, char *query, int count, char **candidates) {
  Weft__V1__SimilarityRequest request = WEFT__V1__SIMILARITY_REQUEST__INIT;
  request.query = query;
  request.n_candidates = (size_t)count;
  request.candidates = candidates;
  weft_response reply;
  int status = call_packed(client, &weft_method_text_similarity, &request.base, &reply);
  if (status != WEFT_OK) return report(status, &reply);
  Weft__V1__SimilarityResponse *response =
      weft__v1__similarity_response__unpack(NULL, reply.body[0].size, reply.body[0].data);
  if (!response || !response->scores || response->scores->data.len != (size_t)count * sizeof(float)) {
    if (response) weft__v1__similarity_response__free_unpacked(response, NULL);
    return finish(WEFT_DATA_LOSS, &reply);
  }
  printf("{\"status\":\"OK\",\"scores\":");
  print_floats(response->scores, 0, (size_t)count);
  printf("}\n");
  weft__v1__similarity_response__free_unpacked(response, NULL);
  return finish(WEFT_OK, &reply);
}

static int status(weft_client *client) {
  weft_response reply;
  int result = weft_call(client, weft_method_weft_mesh_status.service, weft_method_weft_mesh_status.name, NULL, 0, NULL, &reply);
  if (result != WEFT_OK || reply.body_count != 1) return finish(result == WEFT_OK ? WEFT_DATA_LOSS : result, &reply);
  Weft__V1__MeshStatus *mesh = weft__v1__mesh_status__unpack(NULL, reply.body[0].size, reply.body[0].data);
  if (!mesh) return finish(WEFT_DATA_LOSS, &reply);
  printf("{\"status\":\"OK\",\"gateway\":\"%s\",\"services\":[", mesh->gateway_id);
  for (size_t index = 0; index < mesh->n_services; index++) {
    const Weft__V1__ServiceStatus *service = mesh->services[index];
    size_t workers = 0;
    for (size_t version = 0; version < service->n_versions; version++) workers += service->versions[version]->n_workers;
    printf("%s{\"name\":\"%s\",\"workers\":%zu}", index ? "," : "", service->name, workers);
  }
  printf("]}\n");
  weft__v1__mesh_status__free_unpacked(mesh, NULL);
  return finish(WEFT_OK, &reply);
}

static int sleep_call(weft_client *client, const char *milliseconds, const char *timeout) {
  weft_metadata metadata[] = {{"sleep_ms", milliseconds, strlen(milliseconds), 0}};
  weft_call_options options;
  weft_call_options_init(&options);
  options.timeout_ms = (uint32_t)strtoul(timeout, NULL, 10);
  options.metadata = metadata;
  options.metadata_count = 1;
  weft_response reply;
  return report(weft_call(client, weft_method_sleep_sleep.service, weft_method_sleep_sleep.name, NULL, 0, &options, &reply), &reply);
}

/* Sends a sleep call, waits a little for it to reach a worker, then cancels it: the
 * gateway hears of it (its status counts cancelled_by_clients). */
static int cancel_call(weft_client *client, const char *milliseconds) {
  weft_metadata metadata[] = {{"sleep_ms", milliseconds, strlen(milliseconds), 0}};
  weft_call_options options;
  weft_call_options_init(&options);
  options.metadata = metadata;
  options.metadata_count = 1;
  uint64_t id = 0;
  int sent = weft_send(client, weft_method_sleep_sleep.service, weft_method_sleep_sleep.name, NULL, 0, &options, &id);
  if (sent != WEFT_OK) return 1;
  weft_response early;
  if (weft_poll(client, 300, &early) == 1) {
    weft_response_clear(&early);
    printf("{\"cancelled\":0,\"why\":\"answered before the cancel\"}\n");
    return 1;
  }
  printf("{\"cancelled\":%d}\n", weft_cancel(client, id));
  return 0;
}

static int any_call(weft_client *client, const char *service, const char *method) {
  weft_call_options options;
  weft_call_options_init(&options);
  options.timeout_ms = 5000;
  weft_response reply;
  return report(weft_call(client, service, method, NULL, 0, &options, &reply), &reply);
}

/* N echo calls sent before any reply is read; checks each OK reply carries its own
 * body. Past the gateway's queue limit, replies are RESOURCE_EXHAUSTED: counted apart. */
static int many(weft_client *client, int count) {
  char (*bodies)[24] = calloc((size_t)count, sizeof *bodies);
  uint64_t first = 0;
  int mismatched = 0, received = 0, ok = 0, exhausted = 0, other = 0;
  for (int index = 0; index < count; index++) {
    snprintf(bodies[index], sizeof bodies[index], "request-%d", index);
    weft_frame frame = {bodies[index], strlen(bodies[index])};
    uint64_t id = 0;
    if (weft_send(client, weft_method_echo_echo.service, weft_method_echo_echo.name, &frame, 1, NULL, &id) != WEFT_OK) other++;
    if (index == 0) first = id;
  }
  weft_response reply;
  while (weft_pending(client) > 0 && weft_poll(client, 10000, &reply) == 1) {
    received++;
    if (reply.status == WEFT_OK) {
      /* Ids are sequential from the first send, so the id says which body to expect. */
      size_t index = (size_t)(reply.request_id - first);
      int matches = reply.body_count == 1 && index < (size_t)count && reply.body[0].size == strlen(bodies[index]) &&
                    memcmp(reply.body[0].data, bodies[index], reply.body[0].size) == 0;
      ok += matches;
      mismatched += !matches;
    } else if (reply.status == WEFT_RESOURCE_EXHAUSTED) {
      exhausted++;
    } else {
      other++;
    }
    weft_response_clear(&reply);
  }
  int passed = received == count && mismatched == 0 && exhausted == 0 && other == 0;
  printf("{\"status\":\"%s\",\"sent\":%d,\"received\":%d,\"ok\":%d,\"mismatched\":%d,\"resource_exhausted\":%d,"
         "\"other\":%d}\n",
         passed ? "OK" : "FAILED", count, received, ok, mismatched, exhausted, other);
  free(bodies);
  return passed ? 0 : 1;
}

/* A request whose header frame is not protobuf, sent on a raw socket: the gateway must
 * answer INVALID_ARGUMENT (with request id 0, since it cannot read one). */
static int malformed(const char *endpoint) {
  void *context = zmq_ctx_new();
  void *socket = zmq_socket(context, ZMQ_DEALER);
  int linger = 0, timeout = 5000;
  zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
  zmq_setsockopt(socket, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
  zmq_connect(socket, endpoint);
  const char signature[4] = {'W', 'F', 'C', 1};
  const unsigned char broken[] = {0x0a, 0xff, 0xff, 0xff}; /* a length running past the end */
  zmq_send(socket, signature, 4, ZMQ_SNDMORE);
  zmq_send(socket, broken, sizeof broken, 0);
  zmq_msg_t frames[2];
  int received = 0, more = 1;
  while (more && received < 2) {
    zmq_msg_init(&frames[received]);
    if (zmq_msg_recv(&frames[received], socket, 0) < 0) break;
    more = zmq_msg_more(&frames[received]);
    received++;
  }
  int result = 1;
  if (received == 2) {
    Weft__V1__ResponseHeader *header =
        weft__v1__response_header__unpack(NULL, zmq_msg_size(&frames[1]), zmq_msg_data(&frames[1]));
    if (header) {
      printf("{\"status\":\"%s\",\"message\":", weft_status_name((int)header->status));
      print_json_string(header->message, strlen(header->message));
      printf("}\n");
      result = header->status == WEFT__V1__STATUS_CODE__INVALID_ARGUMENT ? 0 : 1;
      weft__v1__response_header__free_unpacked(header, NULL);
    }
  } else {
    printf("{\"status\":\"NO_REPLY\"}\n");
  }
  for (int index = 0; index < received; index++) zmq_msg_close(&frames[index]);
  zmq_close(socket);
  zmq_ctx_term(context);
  return result;
}

/* The request header of the conformance test: every field set, metadata given out of
 * key order. The Swift and Python clients must encode the same bytes. */
static int header(void) {
  const unsigned char blob[] = {0x00, 0x01, 0xfe, 0xff};
  weft_metadata metadata[] = {{"trace", "t-1", 3, 0}, {"blob-bin", blob, sizeof blob, 1}, {"a", "ü", strlen("ü"), 0}};
  weft_call_options options;
  weft_call_options_init(&options);
  options.timeout_ms = 1500;
  options.idempotent = 1;
  options.personalize = 1;
  options.version = "v2";
  options.user_id = "user-42";
  options.metadata = metadata;
  options.metadata_count = 3;
  options.priority = 7;
  uint8_t bytes[256];
  size_t size = weft_encode_request_header(123456789012ull, "text", "embed", &options, bytes, sizeof bytes);
  for (size_t index = 0; index < size; index++) printf("%02x", bytes[index]);
  printf("\n");
  return size ? 0 : 1;
}

static int usage(void) {
  fprintf(stderr, "usage: weft-example [-g ENDPOINT] [-c GATEWAY.key CLIENT.secret] echo|stream|chat|embed|similarity|classify|speech|status|sleep|cancel|call|many|malformed|header ...\n");
  return 2;
}

/* Reads a whole file into `contents` (free its data); 0 (with a message) if it cannot. */
static int read_file(const char *path, ProtobufCBinaryData *contents) {
  FILE *file = fopen(path, "rb");
  if (!file) {
    fprintf(stderr, "weft-example: cannot open %s\n", path);
    return 0;
  }
  fseek(file, 0, SEEK_END);
  long length = ftell(file);
  fseek(file, 0, SEEK_SET);
  contents->data = malloc(length > 0 ? (size_t)length : 1);
  contents->len = length > 0 ? fread(contents->data, 1, (size_t)length, file) : 0;
  fclose(file);
  return 1;
}

static int classify(weft_client *client, ProtobufCBinaryData file) {
  Weft__V1__Image image;
  weft__v1__image__init(&image); /* not the INIT macro: its oneof braces trip -Wmissing-braces */
  image.source_case = WEFT__V1__IMAGE__SOURCE_ENCODED;
  image.encoded = file;
  Weft__V1__ClassifyRequest request = WEFT__V1__CLASSIFY_REQUEST__INIT;
  request.image = &image;
  request.top_k = 5;
  weft_response reply;
  int status = call_packed(client, &weft_method_vision_classify, &request.base, &reply);
  if (status != WEFT_OK) return report(status, &reply);
  Weft__V1__ClassifyResponse *response =
      weft__v1__classify_response__unpack(NULL, reply.body[0].size, reply.body[0].data);
  if (!response) return finish(WEFT_DATA_LOSS, &reply);
  printf("{\"status\":\"OK\",\"top\":[");
  for (size_t index = 0; index < response->n_top; index++) {
    printf(index ? ",{\"index\":%u,\"label\":" : "{\"index\":%u,\"label\":", response->top[index]->index);
    print_json_string(response->top[index]->label, strlen(response->top[index]->label));
    printf(",\"probability\":%.6g}", response->top[index]->probability);
  }
  printf("]}\n");
  weft__v1__classify_response__free_unpacked(response, NULL);
  return finish(WEFT_OK, &reply);
}

static int speech(weft_client *client, ProtobufCBinaryData file) {
  Weft__V1__Audio audio;
  weft__v1__audio__init(&audio);
  audio.source_case = WEFT__V1__AUDIO__SOURCE_WAV;
  audio.wav = file;
  Weft__V1__DetectRequest request = WEFT__V1__DETECT_REQUEST__INIT;
  request.audio = &audio;
  request.omit_probabilities = 1;
  weft_response reply;
  int status = call_packed(client, &weft_method_speech_detect, &request.base, &reply);
  if (status != WEFT_OK) return report(status, &reply);
  Weft__V1__DetectResponse *response =
      weft__v1__detect_response__unpack(NULL, reply.body[0].size, reply.body[0].data);
  if (!response) return finish(WEFT_DATA_LOSS, &reply);
  printf("{\"status\":\"OK\",\"duration\":%.6f,\"segments\":[", response->duration);
  for (size_t index = 0; index < response->n_segments; index++) {
    const Weft__V1__SpeechSegment *segment = response->segments[index];
    printf(index ? ",{\"start\":%.6f,\"end\":%.6f,\"start_sample\":%llu,\"end_sample\":%llu}"
                 : "{\"start\":%.6f,\"end\":%.6f,\"start_sample\":%llu,\"end_sample\":%llu}",
           segment->start, segment->end, (unsigned long long)segment->start_sample,
           (unsigned long long)segment->end_sample);
  }
  printf("]}\n");
  weft__v1__detect_response__free_unpacked(response, NULL);
  return finish(WEFT_OK, &reply);
}

int main(int argc, char **argv) {
  const char *endpoint = getenv("WEFT_GATEWAY") ? getenv("WEFT_GATEWAY") : "tcp://127.0.0.1:5555";
  int first = 1;
  if (argc > 2 && strcmp(argv[1], "-g") == 0) {
    endpoint = argv[2];
    first = 3;
  }
  const char *gateway_key = NULL, *secret_key = NULL;
  if (argc > first + 2 && strcmp(argv[first], "-c") == 0) {
    gateway_key = argv[first + 1];
    secret_key = argv[first + 2];
    first += 3;
  }
  if (argc <= first) return usage();
  const char *command = argv[first];
  int rest = argc - first - 1;
  char **args = argv + first + 1;
  if (strcmp(command, "header") == 0) return header();
  if (strcmp(command, "malformed") == 0) return malformed(endpoint);

  char error[256];
  weft_curve curve;
  if (gateway_key && !weft_curve_from_files(&curve, gateway_key, secret_key, error, sizeof error)) {
    fprintf(stderr, "weft-example: %s\n", error);
    return 2;
  }
  weft_client *client = weft_client_open_curve(&endpoint, 1, gateway_key ? &curve : NULL, error, sizeof error);
  if (!client) {
    fprintf(stderr, "weft-example: %s\n", error);
    return 2;
  }
  int result;
  if (strcmp(command, "echo") == 0) result = echo(client, rest, args);
  else if (strcmp(command, "stream") == 0) result = stream(client, rest, args);
  else if (strcmp(command, "chat") == 0 && rest == 1) result = chat(client, atoi(args[0]));
  else if (strcmp(command, "embed") == 0 && rest > 0) result = embed(client, rest, args);
  else if (strcmp(command, "similarity") == 0 && rest > 1) result = similarity(client, args[0], rest - 1, args + 1);
  else if ((strcmp(command, "classify") == 0 || strcmp(command, "speech") == 0) && rest == 1) {
    ProtobufCBinaryData file;
    result = 2;
    if (read_file(args[0], &file)) {
      result = command[0] == 'c' ? classify(client, file) : speech(client, file);
      free(file.data);
    }
  }
  else if (strcmp(command, "status") == 0) result = status(client);
  else if (strcmp(command, "sleep") == 0 && rest == 2) result = sleep_call(client, args[0], args[1]);
  else if (strcmp(command, "cancel") == 0 && rest == 1) result = cancel_call(client, args[0]);
  else if (strcmp(command, "call") == 0 && rest == 2) result = any_call(client, args[0], args[1]);
  else if (strcmp(command, "many") == 0 && rest == 1) result = many(client, atoi(args[0]));
  else result = usage();
  weft_client_close(client);
  return result;
}
