#ifndef WEFT_CSQLITE_SHIM_H
#define WEFT_CSQLITE_SHIM_H
#include <sqlite3.h>

/* SQLITE_TRANSIENT is a cast macro Swift cannot import: bound text and blobs are copied. */
static inline void (*weft_sqlite_transient(void))(void *) { return SQLITE_TRANSIENT; }
#endif
