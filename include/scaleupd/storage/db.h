/* The database toolkit of the storage modules: connecting, schema migrations (numbered SQL
 * files embedded at build time), one statement runner that logs and keeps the SQLSTATE,
 * transactions and savepoints, and one set of cell readers. Storage modules use these and
 * nothing else of their own; layers above see only the failure kind (db_failure_of). */
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

/* Whether schema_migration records a migration this build does not know (a newer scaleupd
 * migrated the database): 1, with what names it ("migration 32 (032_x)"); 0 when not; -1 when
 * the database cannot be asked (what says why; also when schema_migration does not exist). */
int db_schema_unknown(PGconn *conn, char *what, size_t what_size);

/* Applies every migration not yet recorded in schema_migration, each in its own transaction,
 * under an advisory lock so that several daemons starting at once apply each only once.
 * Refuses (false) a database that a newer build migrated (db_schema_unknown): this build would
 * write to a schema it does not know. */
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

/* ---- statements: one runner ---------------------------------------------------------
 * db_run executes sql with text parameters — through a statement prepared once per session
 * when name is not NULL (see db_exec_prepared) — and checks that its status is `expected`
 * (PGRES_COMMAND_OK or PGRES_TUPLES_OK). On failure it logs "could not <what>: <message>"
 * with the request id (may be NULL), keeps the SQLSTATE for db_last_sqlstate(), clears the
 * result and returns NULL; on success the caller PQclear()s what it returns. */
PGresult *db_run(PGconn *conn, const char *name, const char *sql, int n, const char *const *values,
                 ExecStatusType expected, const char *request_id, const char *what)
    __attribute__((warn_unused_result));

/* db_run for a statement whose rows are not wanted (a command, or a query run for its
 * effect): true when it succeeded. */
bool db_command(PGconn *conn, const char *name, const char *sql, int n, const char *const *values,
                const char *request_id, const char *what) __attribute__((warn_unused_result));

/* ---- transactions and savepoints ----------------------------------------------------
 * BEGIN / COMMIT / ROLLBACK, and SAVEPOINT / RELEASE / ROLLBACK TO of a savepoint name (an
 * identifier of the code, never of input). Failures are logged and kept like db_run's.
 * db_rollback is best effort (a lost connection has rolled back already). */
bool db_begin(PGconn *conn, const char *request_id) __attribute__((warn_unused_result));
/*
 * BEGIN of a short transaction of statements that find their rows by key (a small feed
 * write): within it the session's prepared statements reuse one generic plan each
 * (plan_cache_mode = force_generic_plan) made without sequential scans (enable_seqscan off),
 * where every other transaction plans each statement for its parameters (db_connect). In one
 * round trip with the BEGIN. Planning the ingest path's statements was half of PostgreSQL's
 * CPU for 1-point POSTs (bench/single_point.sh).
 */
bool db_begin_keyed(PGconn *conn, const char *request_id) __attribute__((warn_unused_result));
/* db_commit is false also when the transaction had failed (COMMIT then rolls it back). */
bool db_commit(PGconn *conn, const char *request_id) __attribute__((warn_unused_result));
void db_rollback(PGconn *conn, const char *request_id);
bool db_savepoint(PGconn *conn, const char *name, const char *request_id)
    __attribute__((warn_unused_result));
bool db_release(PGconn *conn, const char *name, const char *request_id)
    __attribute__((warn_unused_result));
bool db_rollback_to(PGconn *conn, const char *name, const char *request_id)
    __attribute__((warn_unused_result));

/* Runs body(conn, arg) in a transaction: BEGIN, body, then COMMIT when it returned true or
 * ROLLBACK when it returned false. True only when the body succeeded and COMMIT did. */
bool db_transaction(PGconn *conn, const char *request_id, bool (*body)(PGconn *conn, void *arg),
                    void *arg) __attribute__((warn_unused_result));

/* ---- failures as the layers above see them ------------------------------------------ */
enum db_failure {
    DB_FAILURE_RETRY,       /* a deadlock, serialization failure, lock or statement timeout:
                               try again */
    DB_FAILURE_UNAVAILABLE, /* the connection is lost, or the server is out of a resource
                               (class 53: memory, disk, connections): 503 */
    DB_FAILURE_INTERNAL,    /* anything else (a bug, or a constraint the code did not expect) */
};

/* What the last failure on this thread (db_last_sqlstate) and conn's state amount to. */
enum db_failure db_failure_of(PGconn *conn);

/* ---- cell readers -------------------------------------------------------------------
 * db_int64 and db_double read SQL NULL as 0: use them only for NOT NULL columns. A value
 * that may be missing is read with db_is_null or the _opt readers, never as a zero. */
bool db_is_null(const PGresult *res, int row, int col);
bool db_bool(const PGresult *res, int row, int col); /* 't' → true; NULL → false */
bool db_int64_opt(const PGresult *res, int row, int col, int64_t *out); /* false for NULL */
bool db_double_opt(const PGresult *res, int row, int col, double *out); /* false for NULL */

/* Value of a result cell as int64 / double / string (NULL for SQL NULL). */
int64_t db_int64(const PGresult *res, int row, int col);
double db_double(const PGresult *res, int row, int col);
const char *db_text(const PGresult *res, int row, int col);

#endif
