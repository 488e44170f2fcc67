/*
 * weft-c-bench: round trips and throughput through a gateway's echo service, from
 * libweft-client and from a bare baseline (a DEALER socket, the header packed and the
 * reply unpacked with protobuf-c directly, nothing else) in the same run.
 *
 *   weft-c-bench -g ENDPOINT [-n ROUND_TRIPS] [-m MESSAGES] [-w IN_FLIGHT] [-r ROUNDS]
 *
 * Prints one JSON object per path: p50 and p99 round trip in µs, pipelined messages/s,
 * and the client process's CPU µs per message (libzmq's I/O thread included), each the
 * median over the rounds (the two paths alternate).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <zmq.h>

#include "weft/client.h"
#include "weft/v1/header.pb-c.h"
#include "weft/v1/methods.h"

static const char signature[4] = {'W', 'F', 'C', 1};
static char body[64];

static double now_us(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec * 1e6 + (double)now.tv_nsec / 1e3;
}

static double cpu_us(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 +
         (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *values, int count) {
  qsort(values, (size_t)count, sizeof *values, compare_doubles);
  return values[count / 2];
}

/* ------------------------------------------------------------------ the baseline */

typedef struct {
  void *socket;
  uint64_t next_id;
} raw_client;

static void raw_send(raw_client *client) {
  Weft__V1__RequestHeader header = WEFT__V1__REQUEST_HEADER__INIT;
  header.request_id = client->next_id++;
  header.service = "echo";
  header.method = "echo";
  header.timeout_ms = 30000;
  header.idempotent = 1;
  uint8_t packed[128];
  size_t size = weft__v1__request_header__pack(&header, packed);
  zmq_send(client->socket, signature, sizeof signature, ZMQ_SNDMORE);
  zmq_send(client->socket, packed, size, ZMQ_SNDMORE);
  zmq_send(client->socket, body, sizeof body, 0);
}

/* Receives one reply; returns 1 if it is a well-formed OK reply. */
static int raw_receive(raw_client *client) {
  zmq_msg_t frames[3];
  int count = 0, more = 1, ok = 0;
  while (more) {
    zmq_msg_t *frame = &frames[count < 3 ? count : 2];
    if (count >= 3) zmq_msg_close(frame);
    zmq_msg_init(frame);
    if (zmq_msg_recv(frame, client->socket, 0) < 0) return 0;
    more = zmq_msg_more(frame);
    count++;
  }
  if (count >= 2) {
    Weft__V1__ResponseHeader *header =
        weft__v1__response_header__unpack(NULL, zmq_msg_size(&frames[1]), zmq_msg_data(&frames[1]));
    ok = header && header->status == WEFT__V1__STATUS_CODE__OK;
    if (header) weft__v1__response_header__free_unpacked(header, NULL);
  }
  for (int index = 0; index < (count < 3 ? count : 3); index++) zmq_msg_close(&frames[index]);
  return ok;
}

/* ------------------------------------------------------------------ measurements */

typedef struct {
  const char *name;
  double p50[16], p99[16], rate[16], cpu[16];
  long failures;
} path;

typedef struct {
  raw_client raw;
  weft_client *client;
} clients;

static int round_trip(clients *both, int use_weft) {
  if (!use_weft) {
    raw_send(&both->raw);
    return raw_receive(&both->raw);
  }
  weft_frame frame = {body, sizeof body};
  weft_response reply;
  int status = weft_call(both->client, weft_method_echo_echo.service, weft_method_echo_echo.name, &frame, 1, NULL, &reply);
  weft_response_clear(&reply);
  return status == WEFT_OK;
}

static void measure(clients *both, int use_weft, path *into, int round, int round_trips, int messages, int window) {
  double *samples = malloc((size_t)round_trips * sizeof *samples);
  for (int index = 0; index < round_trips; index++) {
    double start = now_us();
    into->failures += !round_trip(both, use_weft);
    samples[index] = now_us() - start;
  }
  qsort(samples, (size_t)round_trips, sizeof *samples, compare_doubles);
  into->p50[round] = samples[round_trips / 2];
  into->p99[round] = samples[round_trips * 99 / 100];
  free(samples);

  double start = now_us(), cpu_start = cpu_us();
  int sent = 0, received = 0;
  weft_frame frame = {body, sizeof body};
  while (received < messages) {
    while (sent < messages && sent - received < window) {
      if (use_weft) into->failures += weft_send(both->client, weft_method_echo_echo.service, weft_method_echo_echo.name, &frame, 1, NULL, NULL) != WEFT_OK;
      else raw_send(&both->raw);
      sent++;
    }
    if (use_weft) {
      weft_response reply;
      if (weft_poll(both->client, 5000, &reply) != 1) {
        into->failures += messages - received;
        break;
      }
      into->failures += reply.status != WEFT_OK;
      weft_response_clear(&reply);
    } else {
      into->failures += !raw_receive(&both->raw);
    }
    received++;
  }
  into->rate[round] = messages / ((now_us() - start) / 1e6);
  into->cpu[round] = (cpu_us() - cpu_start) / messages;
}

int main(int argc, char **argv) {
  const char *endpoint = NULL;
  int round_trips = 4000, messages = 50000, window = 64, rounds = 3;
  for (int index = 1; index + 1 < argc; index += 2) {
    if (strcmp(argv[index], "-g") == 0) endpoint = argv[index + 1];
    else if (strcmp(argv[index], "-n") == 0) round_trips = atoi(argv[index + 1]);
    else if (strcmp(argv[index], "-m") == 0) messages = atoi(argv[index + 1]);
    else if (strcmp(argv[index], "-w") == 0) window = atoi(argv[index + 1]);
    else if (strcmp(argv[index], "-r") == 0) rounds = atoi(argv[index + 1]);
  }
  if (!endpoint || round_trips < 1 || messages < 1 || window < 1 || rounds < 1 || rounds > 16) {
    fprintf(stderr, "usage: weft-c-bench -g ENDPOINT [-n ROUND_TRIPS] [-m MESSAGES] [-w IN_FLIGHT] [-r ROUNDS<=16]\n");
    return 2;
  }
  memset(body, 'x', sizeof body);

  clients both;
  void *context = zmq_ctx_new();
  both.raw.socket = zmq_socket(context, ZMQ_DEALER);
  both.raw.next_id = 1;
  int linger = 0;
  zmq_setsockopt(both.raw.socket, ZMQ_LINGER, &linger, sizeof linger);
  zmq_connect(both.raw.socket, endpoint);
  char error[256];
  both.client = weft_client_open(&endpoint, 1, error, sizeof error);
  if (!both.client) {
    fprintf(stderr, "weft-c-bench: %s\n", error);
    return 2;
  }
  path paths[2] = {{.name = "c raw"}, {.name = "c weft-client"}};
  for (int warm = 0; warm < 200; warm++) {
    round_trip(&both, 0);
    round_trip(&both, 1);
  }
  for (int round = 0; round < rounds; round++) {
    for (int which = 0; which < 2; which++) {
      if (getenv("ONLY") && atoi(getenv("ONLY")) != which) continue;
      measure(&both, which, &paths[which], round, round_trips, messages, window);
    }
  }
  for (int which = 0; which < 2; which++) {
    path *p = &paths[which];
    printf("{\"path\":\"%s\",\"p50_us\":%.2f,\"p99_us\":%.2f,\"per_second\":%.0f,\"cpu_us_per_message\":%.3f,\"failures\":%ld}\n",
           p->name, median(p->p50, rounds), median(p->p99, rounds), median(p->rate, rounds), median(p->cpu, rounds),
           p->failures);
  }
  weft_client_close(both.client);
  zmq_close(both.raw.socket);
  zmq_ctx_term(context);
  return paths[0].failures || paths[1].failures ? 1 : 0;
}
