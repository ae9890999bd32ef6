/* Database plumbing shared by the storage modules: connecting, schema migrations (numbered
 * SQL files embedded at build time) and small result helpers. */
#ifndef SCALEUPD_DB_H
#define SCALEUPD_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db_migration {
    int version;
    const char *name;
    const char *sql;
};

/* Every migration of sql/, in order, terminated by a NULL name. */
extern const struct db_migration db_migrations[];

/* The version of the last migration this build knows. */
int db_schema_head(void);

/* Opens a connection (with a connect timeout); NULL and err filled on failure. */
PGconn *db_connect(const char *conninfo, char *err, size_t err_size)
    __attribute__((warn_unused_result));

/* Applies every migration not yet recorded in schema_migration, each in its own transaction,
 * under an advisory lock so that several daemons starting at once apply each only once. */
bool db_migrate(PGconn *conn, char *err, size_t err_size) __attribute__((warn_unused_result));

/* The highest applied migration, 0 when none, -1 when the database cannot be asked. */
int db_schema_version(PGconn *conn);

/* Runs a statement without parameters that returns no rows; false (err filled) on failure. */
bool db_exec(PGconn *conn, const char *sql, char *err, size_t err_size)
    __attribute__((warn_unused_result));

/* True when the connection is lost (the caller should answer 503 and reconnect). */
bool db_connection_lost(PGconn *conn);

/* PQexecParams with text parameters; the caller PQclear()s the result. */
PGresult *db_query(PGconn *conn, const char *sql, int n, const char *const *values);

/* PQexecParams through a statement prepared once per session under name (a unique string
 * literal): parsing and planning cost as much as executing the small statements run per
 * request and per series, so repeated statements skip them. A prepared statement survives
 * a rollback; a reconnect prepares again. The caller PQclear()s the result, which carries
 * the error when preparing failed. */
PGresult *db_exec_prepared(PGconn *conn, const char *name, const char *sql, int n,
                           const char *const *values, const int *lengths, const int *formats,
                           int result_format);

/* db_exec_prepared with text parameters and results, like db_query. */
PGresult *db_query_prepared(PGconn *conn, const char *name, const char *sql, int n,
                            const char *const *values);

/* An id of conn's database session as this thread sees it, unique in the process: it changes
 * when the connection reaches a new backend (a reconnect, a restart or restore of the
 * database), so a module can start over what it remembers of the old session's data. */
unsigned long db_session(PGconn *conn);

/* True if the result has the expected status; otherwise logs the error with the request id
 * and returns false (the caller still PQclear()s). */
bool db_ok(PGresult *res, ExecStatusType expected, const char *request_id, const char *what);

/* The SQLSTATE of the last failure db_ok saw on this thread ("" when none had one), e.g.
 * "40P01" for a deadlock: transient failures deserve a 503, not a 500. */
const char *db_last_sqlstate(void);

/* Forgets it (at the start of each request). */
void db_clear_last_sqlstate(void);

/* Value of a result cell as int64 / double / string (NULL for SQL NULL). */
int64_t db_int64(const PGresult *res, int row, int col);
double db_double(const PGresult *res, int row, int col);
const char *db_text(const PGresult *res, int row, int col);

#endif
