/*
 * weft-failover-load: keeps idempotent `sleep` calls in flight through the gateways given
 * until a stop file appears, then prints one JSON line: calls made, calls lost (failed, or
 * answered with another call's body) and the slowest call. MultiHostTests kills or cuts a
 * gateway under it.
 *
 *   weft-failover-load -s STOP_FILE [-w IN_FLIGHT] [-t TIMEOUT_MS] GATEWAY...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "weft/client.h"

enum { max_in_flight = 1024 };

typedef struct {
  uint64_t id;
  double started;
  char body[24];
} call;

static double now_s(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  const char *stop = NULL;
  int in_flight = 32, timeout_ms = 8000, option;
  while ((option = getopt(argc, argv, "s:w:t:")) != -1) {
    if (option == 's') stop = optarg;
    else if (option == 'w') in_flight = atoi(optarg);
    else if (option == 't') timeout_ms = atoi(optarg);
    else return 2;
  }
  if (!stop || optind >= argc || in_flight < 1 || in_flight > max_in_flight) {
    fprintf(stderr, "usage: weft-failover-load -s STOP_FILE [-w IN_FLIGHT] [-t TIMEOUT_MS] GATEWAY...\n");
    return 2;
  }
  char error[256];
  weft_client *client = weft_client_open((const char *const *)&argv[optind], (size_t)(argc - optind), error, sizeof error);
  if (!client) {
    fprintf(stderr, "%s\n", error);
    return 1;
  }
  static call calls[max_in_flight];
  weft_call_options options;
  weft_call_options_init(&options);
  options.timeout_ms = (uint32_t)timeout_ms;
  long made = 0, ok = 0, lost = 0;
  double slowest = 0, give_up = now_s() + 60;
  int announced = 0;
  for (;;) {
    int stopping = access(stop, F_OK) == 0 || now_s() > give_up;
    for (int slot = 0; slot < in_flight && !stopping; slot++) {
      if (calls[slot].id) continue;
      snprintf(calls[slot].body, sizeof calls[slot].body, "%ld", made++);
      weft_frame frame = {calls[slot].body, strlen(calls[slot].body)};
      if (weft_send(client, "sleep", "sleep", &frame, 1, &options, &calls[slot].id) != WEFT_OK) {
        lost++;
        calls[slot].id = 0;
        continue;
      }
      calls[slot].started = now_s();
    }
    if (stopping && weft_pending(client) == 0) break;
    weft_response reply;
    if (weft_poll(client, 50, &reply) != 1) continue;
    if (reply.end_of_stream) {
      for (int slot = 0; slot < in_flight; slot++) {
        if (calls[slot].id != reply.request_id) continue;
        double took = now_s() - calls[slot].started;
        if (took > slowest) slowest = took;
        size_t length = strlen(calls[slot].body);
        int right = reply.status == WEFT_OK && reply.body_count == 1 && reply.body[0].size == length &&
                    memcmp(reply.body[0].data, calls[slot].body, length) == 0;
        if (right) ok++;
        else lost++;
        calls[slot].id = 0;
      }
      if (ok >= 50 && !announced) {
        printf("load running\n");
        fflush(stdout);
        announced = 1;
      }
    }
    weft_response_clear(&reply);
  }
  weft_client_close(client);
  printf("{\"calls\": %ld, \"ok\": %ld, \"lost\": %ld, \"slowest_s\": %.3f}\n", made, ok, lost, slowest);
  return 0;
}
