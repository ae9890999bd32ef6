/* The health of a database connection as the worker pool and the delivery thread need it:
 * a cheap check that the server has not gone away, and closing. So that the edge holds a
 * PGconn without calling libpq itself (docs/ARCHITECTURE.md). */
#ifndef SCALEUPD_STORAGE_DB_HEALTH_H
#define SCALEUPD_STORAGE_DB_HEALTH_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* True when conn is usable as far as can be told without a round trip: it reads what the
 * server sent meanwhile, so a server that closed the socket (a restart, a terminated
 * backend, even one that said why first) is noticed before a request meets it. Otherwise false,
 * with libpq's message (without its newline) in why. A NULL conn is not healthy. */
bool db_healthy(PGconn *conn, char *why, size_t why_size) __attribute__((warn_unused_result));

/* Closes *conn (NULL is fine) and NULLs it. */
void db_close(PGconn **conn);

#endif
