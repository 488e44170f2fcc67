#ifndef WEFT_CPOSTGRES_SHIM_H
#define WEFT_CPOSTGRES_SHIM_H
#include <libpq-fe.h>

/* Notices (e.g. "relation already exists, skipping") would go to stderr: Weft drops them. */
static void weft_pq_ignore_notice(void *arg, const char *message) { (void)arg; (void)message; }
static inline void weft_pq_silence_notices(PGconn *connection) {
  PQsetNoticeProcessor(connection, weft_pq_ignore_notice, 0);
}
#endif
