/* Connections, migrations and result helpers over libpq. */
#include "scaleupd/storage/db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

#include "scaleupd/core/log.h"

#define MIGRATION_LOCK 7242001 /* advisory lock key held while migrating */

int db_schema_head(void)
{
    int head = 0;
    for (const struct db_migration *m = db_migrations; m->name != NULL; m++)
        head = m->version;
    return head;
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    log_debug("database notice: %s", message);
}

static void forget_session(const PGconn *conn);

PGconn *db_connect(const char *conninfo, char *err, size_t err_size)
{
    /* dbname with expand_dbname=1 takes a whole conninfo string or URI; an empty one leaves
     * everything to libpq's environment (PGHOST, PGDATABASE…) */
    const char *keys[] = {"dbname", "connect_timeout", "fallback_application_name", NULL};
    const char *values[] = {conninfo, "5", "scaleupd", NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (conn == NULL) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        snprintf(err, err_size, "%s", PQerrorMessage(conn));
        size_t len = strlen(err);
        while (len > 0 && (err[len - 1] == '\n' || err[len - 1] == ' '))
            err[--len] = '\0';
        PQfinish(conn);
        return NULL;
    }
    /* a new connection may get the address (and, in a restarted container, even the backend
     * pid) of one this thread closed: nothing it prepared is on this one */
    forget_session(conn);
    PQsetNoticeProcessor(conn, ignore_notice, NULL);
    /* jit off: the daemon's statements are short, and at national scale PostgreSQL 15's JIT
     * spent 0.2-2.5 s compiling each large aggregate it would then run in less (measured with
     * bench/scale.sh's plans) */
    /* custom plans always: the daemon's tables start empty at installation, and a prepared
     * statement's generic plan made then (a sequential scan of a table of one page) is kept
     * while the table grows until an analyze invalidates it, never within a transaction: the
     * first timer pass after a national backfill scanned `alert` once per alert it opened
     * (140,000 of them, 2-30 ms each and growing). Planning the daemon's short statements
     * costs a fraction of a millisecond each. */
    PGresult *res = PQexec(conn, "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO'; "
                                 "SET lock_timeout = '10s'; SET jit = off; "
                                 "SET plan_cache_mode = force_custom_plan");
    PQclear(res);
    return conn;
}

bool db_exec(PGconn *conn, const char *sql, char *err, size_t err_size)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) {
        snprintf(err, err_size, "%s", PQerrorMessage(conn));
        size_t len = strlen(err);
        while (len > 0 && err[len - 1] == '\n')
            err[--len] = '\0';
    }
    PQclear(res);
    return ok;
}

int db_schema_version(PGconn *conn)
{
    PGresult *res = PQexec(conn, "SELECT coalesce(max(version), 0) FROM schema_migration");
    int version = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        version = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
    else if (strstr(PQerrorMessage(conn), "does not exist") != NULL)
        version = 0;
    PQclear(res);
    return version;
}

/* 1 when migration version is recorded, 0 when not, -1 on error. */
static int migration_applied(PGconn *conn, int version)
{
    char text[16];
    snprintf(text, sizeof(text), "%d", version);
    const char *params[] = {text};
    PGresult *res =
        db_query(conn, "SELECT count(*) FROM schema_migration WHERE version = $1", 1, params);
    int applied = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        applied = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
    PQclear(res);
    return applied;
}

static bool apply_one(PGconn *conn, const struct db_migration *m, char *err, size_t err_size)
{
    char why[512];
    if (!db_exec(conn, "BEGIN", why, sizeof(why)) || !db_exec(conn, m->sql, why, sizeof(why))) {
        snprintf(err, err_size, "could not apply migration %s: %s", m->name, why);
        if (!db_exec(conn, "ROLLBACK", why, sizeof(why)))
            log_warning("could not roll back: %s", why);
        return false;
    }
    char version[16];
    snprintf(version, sizeof(version), "%d", m->version);
    const char *params[] = {version, m->name};
    PGresult *res =
        db_query(conn, "INSERT INTO schema_migration (version, name) VALUES ($1, $2)", 2, params);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok || !db_exec(conn, "COMMIT", why, sizeof(why))) {
        snprintf(err, err_size, "could not record migration %s: %s", m->name, PQerrorMessage(conn));
        if (!db_exec(conn, "ROLLBACK", why, sizeof(why)))
            log_warning("could not roll back: %s", why);
        return false;
    }
    log_info("applied migration %s", m->name);
    return true;
}

int db_schema_unknown(PGconn *conn, char *what, size_t what_size)
{
    char known[4096] = "{";
    size_t len = 1;
    for (const struct db_migration *m = db_migrations; m->name != NULL && len < sizeof(known); m++)
        len += (size_t)snprintf(known + len, sizeof(known) - len, "%s%d",
                                m == db_migrations ? "" : ",", m->version);
    if (len + 2 > sizeof(known)) {
        snprintf(what, what_size, "too many migrations to compare");
        return -1;
    }
    snprintf(known + len, sizeof(known) - len, "}");
    const char *params[] = {known};
    PGresult *res = db_query(conn,
                             "SELECT version::text, name FROM schema_migration"
                             " WHERE version <> ALL ($1::int[]) ORDER BY version DESC LIMIT 1",
                             1, params);
    int unknown = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        unknown = PQntuples(res) > 0;
        if (unknown)
            snprintf(what, what_size, "migration %s (%s)", PQgetvalue(res, 0, 0),
                     PQgetvalue(res, 0, 1));
    } else {
        snprintf(what, what_size, "%s", PQerrorMessage(conn));
    }
    PQclear(res);
    return unknown;
}

bool db_migrate(PGconn *conn, char *err, size_t err_size)
{
    char why[512];
    bool ok = false;
    char lock_sql[64];
    snprintf(lock_sql, sizeof(lock_sql), "SELECT pg_advisory_lock(%d)", MIGRATION_LOCK);
    if (!db_exec(conn, lock_sql, why, sizeof(why))) {
        snprintf(err, err_size, "could not take the migration lock: %s", why);
        return false;
    }
    /* under the lock, so that daemons starting together do not race to create it */
    if (!db_exec(conn,
                 "CREATE TABLE IF NOT EXISTS schema_migration (version integer PRIMARY KEY, "
                 "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                 why, sizeof(why))) {
        snprintf(err, err_size, "could not create the schema_migration table: %s", why);
        goto out;
    }
    char what[256];
    int unknown = db_schema_unknown(conn, what, sizeof(what));
    if (unknown != 0) {
        static const char prefix[] = "migration ";
        long version = 0;
        if (unknown > 0 && strncmp(what, prefix, sizeof(prefix) - 1) == 0) {
            char *end = NULL;
            version = strtol(what + sizeof(prefix) - 1, &end, 10);
            if (end == what + sizeof(prefix) - 1)
                version = 0;
        }
        if (unknown > 0 && version > 0 &&
            version < db_schema_head()) /* a number this build skips: another line of work */
            snprintf(err, err_size,
                     "the database was migrated by another build of scaleupd (it records %s,"
                     " which this scaleupd %s does not have): run the build that migrated it",
                     what, SCALEUPD_VERSION);
        else if (unknown > 0)
            snprintf(err, err_size,
                     "the database was migrated by a newer scaleupd (it records %s, and this"
                     " scaleupd %s knows migrations up to %d): run the newer version",
                     what, SCALEUPD_VERSION, db_schema_head());
        else
            snprintf(err, err_size, "could not read the migrations applied: %s", what);
        goto out;
    }
    /* every migration not recorded yet, in order: not only those after the newest recorded,
     * so that one numbered below a migration already applied (two lines of work merged)
     * still runs */
    for (const struct db_migration *m = db_migrations; m->name != NULL; m++) {
        int applied = migration_applied(conn, m->version);
        if (applied < 0) {
            snprintf(err, err_size, "could not read the migrations applied: %s",
                     PQerrorMessage(conn));
            goto out;
        }
        if (!applied && !apply_one(conn, m, err, err_size))
            goto out;
    }
    ok = true;
out:
    snprintf(lock_sql, sizeof(lock_sql), "SELECT pg_advisory_unlock(%d)", MIGRATION_LOCK);
    if (!db_exec(conn, lock_sql, why, sizeof(why)))
        log_debug("could not release the migration lock: %s", why);
    return ok;
}

bool db_connection_lost(PGconn *conn)
{
    return conn == NULL || PQstatus(conn) != CONNECTION_OK;
}

PGresult *db_query(PGconn *conn, const char *sql, int n, const char *const *values)
{
    return PQexecParams(conn, sql, n, NULL, values, NULL, NULL, 0);
}

/* Which statements are prepared on which session, per thread: pool workers and the delivery
 * thread each own one connection, tests may use a few. A connection this thread has not seen
 * in its current session (a new one, a reconnect: a new backend pid) starts with the names
 * the session already has, read from pg_prepared_statements, so preparing never fails on a
 * name that exists (an error would abort the caller's transaction). */
#define DB_PREPARED_MAX 48
#define DB_SESSION_SLOTS 4

struct prepared_session {
    const PGconn *conn;
    int pid;
    unsigned long id;
    int n;
    char names[DB_PREPARED_MAX][64];
};

static _Thread_local struct prepared_session sessions_seen[DB_SESSION_SLOTS];
static _Thread_local unsigned next_slot;
static atomic_ulong sessions;

static void forget_session(const PGconn *conn)
{
    for (int i = 0; i < DB_SESSION_SLOTS; i++)
        if (sessions_seen[i].conn == conn)
            sessions_seen[i].conn = NULL;
}

static struct prepared_session *session_of(PGconn *conn)
{
    int pid = PQbackendPID(conn);
    for (int i = 0; i < DB_SESSION_SLOTS; i++)
        if (sessions_seen[i].conn == conn && sessions_seen[i].pid == pid)
            return &sessions_seen[i];
    struct prepared_session *s = &sessions_seen[next_slot++ % DB_SESSION_SLOTS];
    s->conn = conn;
    s->pid = pid;
    s->id = atomic_fetch_add(&sessions, 1) + 1;
    s->n = 0;
    PGresult *res = PQexec(conn, "SELECT name FROM pg_prepared_statements");
    bool seeded = PQresultStatus(res) == PGRES_TUPLES_OK;
    for (int r = 0; seeded && r < PQntuples(res) && s->n < DB_PREPARED_MAX; r++)
        snprintf(s->names[s->n++], sizeof(s->names[0]), "%s", PQgetvalue(res, r, 0));
    PQclear(res);
    if (!seeded) /* (an aborted transaction, a cancel): read it again next time */
        s->conn = NULL;
    return s;
}

unsigned long db_session(PGconn *conn)
{
    return session_of(conn)->id;
}

PGresult *db_exec_prepared(PGconn *conn, const char *name, const char *sql, int n,
                           const char *const *values, const int *lengths, const int *formats,
                           int result_format)
{
    struct prepared_session *s = session_of(conn);
    bool known = false;
    for (int i = 0; i < s->n && !known; i++)
        known = strcmp(s->names[i], name) == 0;
    if (!known && (s->n == DB_PREPARED_MAX || strlen(name) >= sizeof(s->names[0])))
        /* more names than we track: this one runs unprepared */
        return PQexecParams(conn, sql, n, NULL, values, lengths, formats, result_format);
    if (!known) {
        PGresult *res = PQprepare(conn, name, sql, n, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            return res; /* the caller reports the error */
        PQclear(res);
        snprintf(s->names[s->n++], sizeof(s->names[0]), "%s", name);
    }
    PGresult *res = PQexecPrepared(conn, name, n, values, lengths, formats, result_format);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (state != NULL && strcmp(state, "26000") == 0)
        s->conn = NULL; /* not prepared after all: read the session's names again */
    return res;
}

PGresult *db_query_prepared(PGconn *conn, const char *name, const char *sql, int n,
                            const char *const *values)
{
    return db_exec_prepared(conn, name, sql, n, values, NULL, NULL, 0);
}

static _Thread_local char last_sqlstate[6];

const char *db_last_sqlstate(void)
{
    return last_sqlstate;
}

void db_clear_last_sqlstate(void)
{
    last_sqlstate[0] = '\0';
}

bool db_ok(PGresult *res, ExecStatusType expected, const char *request_id, const char *what)
{
    if (PQresultStatus(res) == expected)
        return true;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(last_sqlstate, sizeof(last_sqlstate), "%s", state ? state : "");
    const char *msg = res ? PQresultErrorMessage(res) : "no result";
    char clean[512];
    snprintf(clean, sizeof(clean), "%s", msg);
    size_t len = strlen(clean);
    while (len > 0 && clean[len - 1] == '\n')
        clean[--len] = '\0';
    log_write(LOG_LEVEL_WARNING, request_id, "could not %s: %s", what, clean);
    return false;
}

int64_t db_int64(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return 0;
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

double db_double(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return 0.0;
    return strtod(PQgetvalue(res, row, col), NULL);
}

const char *db_text(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return PQgetvalue(res, row, col);
}

PGresult *db_run(PGconn *conn, const char *name, const char *sql, int n, const char *const *values,
                 ExecStatusType expected, const char *request_id, const char *what)
{
    PGresult *res = name != NULL ? db_query_prepared(conn, name, sql, n, values)
                    : n == 0     ? PQexec(conn, sql)
                                 : db_query(conn, sql, n, values);
    if (!db_ok(res, expected, request_id, what)) {
        PQclear(res);
        return NULL;
    }
    return res;
}

bool db_command(PGconn *conn, const char *name, const char *sql, int n, const char *const *values,
                const char *request_id, const char *what)
{
    PGresult *res = name != NULL ? db_query_prepared(conn, name, sql, n, values)
                    : n == 0     ? PQexec(conn, sql)
                                 : db_query(conn, sql, n, values);
    ExecStatusType st = PQresultStatus(res);
    bool ok =
        db_ok(res, st == PGRES_TUPLES_OK ? PGRES_TUPLES_OK : PGRES_COMMAND_OK, request_id, what);
    PQclear(res);
    return ok;
}

/* A transaction-control statement with an optional savepoint name. */
static bool control(PGconn *conn, const char *verb, const char *name, const char *request_id)
{
    char sql[96];
    int len = snprintf(sql, sizeof(sql), "%s%s%s", verb, name ? " " : "", name ? name : "");
    if (len < 0 || (size_t)len >= sizeof(sql))
        return false;
    PGresult *res = PQexec(conn, sql);
    bool ok = db_ok(res, PGRES_COMMAND_OK, request_id, sql);
    PQclear(res);
    return ok;
}

bool db_begin(PGconn *conn, const char *request_id)
{
    return control(conn, "BEGIN", NULL, request_id);
}

bool db_begin_keyed(PGconn *conn, const char *request_id)
{
    /* a generic plan made while a table was empty is kept as it grows (db_connect's reason for
     * custom plans), so it is made without sequential scans: the statements of these
     * transactions all have an index path, and take it whatever the statistics said */
    static const char sql[] = "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan;"
                              " SET LOCAL enable_seqscan = off";
    PGresult *res = PQexec(conn, sql);
    bool ok = db_ok(res, PGRES_COMMAND_OK, request_id, "BEGIN");
    PQclear(res);
    if (!ok && PQtransactionStatus(conn) != PQTRANS_IDLE)
        db_rollback(conn, request_id); /* BEGIN ran but a SET failed: not half set up */
    return ok;
}

bool db_commit(PGconn *conn, const char *request_id)
{
    /* COMMIT of a transaction that a failed statement aborted "succeeds" with the tag
     * ROLLBACK: that is a failure, whatever the caller did not check */
    bool aborted = PQtransactionStatus(conn) == PQTRANS_INERROR;
    if (!control(conn, "COMMIT", NULL, request_id))
        return false;
    if (aborted) {
        log_write(LOG_LEVEL_WARNING, request_id,
                  "could not COMMIT: the transaction had failed and was rolled back");
        return false;
    }
    return true;
}

void db_rollback(PGconn *conn, const char *request_id)
{
    /* keep the SQLSTATE of the failure that made the caller roll back */
    char kept[sizeof(last_sqlstate)];
    memcpy(kept, last_sqlstate, sizeof(kept));
    (void)control(conn, "ROLLBACK", NULL, request_id);
    memcpy(last_sqlstate, kept, sizeof(kept));
}

bool db_savepoint(PGconn *conn, const char *name, const char *request_id)
{
    return control(conn, "SAVEPOINT", name, request_id);
}

bool db_release(PGconn *conn, const char *name, const char *request_id)
{
    return control(conn, "RELEASE SAVEPOINT", name, request_id);
}

bool db_rollback_to(PGconn *conn, const char *name, const char *request_id)
{
    return control(conn, "ROLLBACK TO SAVEPOINT", name, request_id);
}

bool db_transaction(PGconn *conn, const char *request_id, bool (*body)(PGconn *conn, void *arg),
                    void *arg)
{
    if (!db_begin(conn, request_id))
        return false;
    if (!body(conn, arg)) {
        db_rollback(conn, request_id);
        return false;
    }
    return db_commit(conn, request_id);
}

enum db_failure db_failure_of(PGconn *conn)
{
    /* class 40 (deadlock, serialization failure) and 55P03 (lock not available) pass if
     * the client tries again */
    const char *state = db_last_sqlstate();
    if (strncmp(state, "40", 2) == 0 || strcmp(state, "55P03") == 0 ||
        strcmp(state, "57014") == 0) /* and a statement timeout or cancel */
        return DB_FAILURE_RETRY;
    if (strncmp(state, "53", 2) == 0) /* out of memory, disk full, too many connections */
        return DB_FAILURE_UNAVAILABLE;
    if (db_connection_lost(conn) || PQstatus(conn) != CONNECTION_OK)
        return DB_FAILURE_UNAVAILABLE;
    return DB_FAILURE_INTERNAL;
}

bool db_is_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col);
}

bool db_bool(const PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

bool db_int64_opt(const PGresult *res, int row, int col, int64_t *out)
{
    if (PQgetisnull(res, row, col))
        return false;
    *out = strtoll(PQgetvalue(res, row, col), NULL, 10);
    return true;
}

bool db_double_opt(const PGresult *res, int row, int col, double *out)
{
    if (PQgetisnull(res, row, col))
        return false;
    *out = strtod(PQgetvalue(res, row, col), NULL);
    return true;
}
