/* The pg tests' database helpers. */
#include "pgtest.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scaleupd/storage/db.h"

static const char *cluster_conninfo(void)
{
    static char conninfo[1024];
    if (conninfo[0])
        return conninfo;
    const char *dir = getenv("SCALEUPD_TEST_PGDIR");
    cr_assert(dir != NULL, "SCALEUPD_TEST_PGDIR is not set: run the pg tests through ctest");
    char path[1024];
    snprintf(path, sizeof(path), "%s/conninfo", dir);
    FILE *f = fopen(path, "r");
    cr_assert(f != NULL, "no test cluster at %s", dir);
    cr_assert(fgets(conninfo, sizeof(conninfo), f) != NULL);
    fclose(f);
    conninfo[strcspn(conninfo, "\n")] = '\0';
    return conninfo;
}

const char *pgtest_conninfo(const char *name)
{
    static char buf[1200];
    /* a later dbname= overrides the cluster's dbname=postgres */
    snprintf(buf, sizeof(buf), "%s dbname=%s", cluster_conninfo(), name);
    return buf;
}

PGconn *pgtest_fresh_database(const char *name)
{
    char err[512], sql[256];
    PGconn *admin = db_connect(cluster_conninfo(), err, sizeof(err));
    cr_assert(admin != NULL, "could not connect to the test cluster: %s", err);
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    cr_assert(db_exec(admin, sql, err, sizeof(err)), "%s", err);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    cr_assert(db_exec(admin, sql, err, sizeof(err)), "%s", err);
    PQfinish(admin);
    PGconn *conn = db_connect(pgtest_conninfo(name), err, sizeof(err));
    cr_assert(conn != NULL, "%s", err);
    cr_assert(db_migrate(conn, err, sizeof(err)), "%s", err);
    return conn;
}

char *pgtest_scalar(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    cr_assert(st == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(conn));
    char *value = NULL;
    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        value = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return value;
}
