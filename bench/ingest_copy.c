/* The COPY side of bench/ingest.sh: loads the rows of a TSV file (programme_id, series_id,
 * period_start, value, numerator, denominator, token_id) into observation with binary COPY,
 * in batches of B rows, each its own transaction, from N concurrent connections; prints the
 * seconds it took. Built by the script with cc; not part of the daemon.
 *   ingest_copy CONNINFO FILE CLIENTS BATCH */
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct obs {
    int64_t programme_id, series_id, token_id;
    int32_t day; /* days since 2000-01-01, PostgreSQL's date epoch */
    double value, numerator, denominator;
    int has_numerator, has_denominator;
};

static struct obs *rows;
static size_t n_rows, batch_size;
static const char *conninfo;
static size_t next_batch;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int failed;

static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468 - 10957; /* 1970 epoch, then 2000 */
}

/* A float8 field or \N; *p moves past it (not past the tab). */
static double field_opt(char **p, int *has)
{
    *has = strncmp(*p, "\\N", 2) != 0;
    if (!*has) {
        *p += 2;
        return 0;
    }
    return strtod(*p, p);
}

static int load(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t cap = 1024;
    rows = malloc(cap * sizeof(*rows));
    char line[512];
    while (fgets(line, sizeof(line), f) != NULL) {
        if (n_rows == cap)
            rows = realloc(rows, (cap *= 2) * sizeof(*rows));
        struct obs *o = &rows[n_rows++];
        char *p;
        o->programme_id = strtoll(line, &p, 10);
        o->series_id = strtoll(p + 1, &p, 10);
        int y = (int)strtol(p + 1, &p, 10);
        int m = (int)strtol(p + 1, &p, 10);
        int d = (int)strtol(p + 1, &p, 10);
        o->day = days_from_civil(y, m, d);
        o->value = strtod(p + 1, &p);
        p++;
        o->numerator = field_opt(&p, &o->has_numerator);
        p++;
        o->denominator = field_opt(&p, &o->has_denominator);
        o->token_id = strtoll(p + 1, &p, 10);
    }
    fclose(f);
    return 1;
}

struct buf {
    char *data;
    size_t len, cap;
};

static void put(struct buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->data = realloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void put32(struct buf *b, uint32_t v)
{
    v = htonl(v);
    put(b, &v, 4);
}

static void put64(struct buf *b, uint64_t v)
{
    put32(b, (uint32_t)(v >> 32));
    put32(b, (uint32_t)v);
}

static void put_int8(struct buf *b, int64_t v)
{
    put32(b, 8);
    put64(b, (uint64_t)v);
}

static void put_float8(struct buf *b, int has, double v)
{
    if (!has) {
        put32(b, (uint32_t)-1);
        return;
    }
    uint64_t u;
    memcpy(&u, &v, 8);
    put32(b, 8);
    put64(b, u);
}

static void encode(struct buf *b, size_t from, size_t to)
{
    static const char header[] = "PGCOPY\n\377\r\n\0";
    b->len = 0;
    put(b, header, 11);
    put32(b, 0);
    put32(b, 0);
    for (size_t i = from; i < to; i++) {
        const struct obs *o = &rows[i];
        uint16_t fields = htons(7);
        put(b, &fields, 2);
        put_int8(b, o->programme_id);
        put_int8(b, o->series_id);
        put32(b, 4);
        put32(b, (uint32_t)o->day);
        put_float8(b, 1, o->value);
        put_float8(b, o->has_numerator, o->numerator);
        put_float8(b, o->has_denominator, o->denominator);
        put_int8(b, o->token_id);
    }
    uint16_t trailer = 0xffff;
    put(b, &trailer, 2);
}

static int copy_batch(PGconn *conn, struct buf *b)
{
    PGresult *res = PQexec(conn, "COPY observation (programme_id, series_id, period_start, value,"
                                 " numerator, denominator, token_id) FROM STDIN (FORMAT binary)");
    int ok = PQresultStatus(res) == PGRES_COPY_IN;
    PQclear(res);
    if (!ok || PQputCopyData(conn, b->data, (int)b->len) != 1 || PQputCopyEnd(conn, NULL) != 1)
        return 0;
    res = PQgetResult(conn);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "ingest_copy: %s", PQerrorMessage(conn));
    PQclear(res);
    while ((res = PQgetResult(conn)) != NULL)
        PQclear(res);
    return ok;
}

static void *client(void *arg)
{
    (void)arg;
    PGconn *conn = PQconnectdb(conninfo);
    struct buf b = {NULL, 0, 0};
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "ingest_copy: %s", PQerrorMessage(conn));
        failed = 1;
        goto out;
    }
    for (;;) {
        pthread_mutex_lock(&lock);
        size_t from = next_batch;
        next_batch += batch_size;
        pthread_mutex_unlock(&lock);
        if (from >= n_rows)
            break;
        size_t to = from + batch_size < n_rows ? from + batch_size : n_rows;
        encode(&b, from, to);
        if (!copy_batch(conn, &b)) {
            failed = 1;
            break;
        }
    }
out:
    free(b.data);
    PQfinish(conn);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: ingest_copy CONNINFO FILE CLIENTS BATCH\n");
        return 2;
    }
    conninfo = argv[1];
    int clients = (int)strtol(argv[3], NULL, 10);
    batch_size = (size_t)strtol(argv[4], NULL, 10);
    if (!load(argv[2]) || clients < 1 || clients > 64 || batch_size < 1) {
        fprintf(stderr, "ingest_copy: bad arguments or unreadable %s\n", argv[2]);
        return 2;
    }
    pthread_t threads[64];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < clients; i++)
        pthread_create(&threads[i], NULL, client, NULL);
    for (int i = 0; i < clients; i++)
        pthread_join(threads[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("{\"rows\":%zu,\"seconds\":%.3f,\"rows_per_second\":%.0f}\n", n_rows, seconds,
           (double)n_rows / seconds);
    return failed;
}
