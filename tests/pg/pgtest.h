/* Helpers of the pg tests: a fresh database per test binary in the throwaway cluster that
 * the ctest fixture "pg_cluster" starts (its conninfo is in $SCALEUPD_TEST_PGDIR/conninfo). */
#ifndef SCALEUPD_PGTEST_H
#define SCALEUPD_PGTEST_H

#include <libpq-fe.h>

/* Drops and creates database `name` (a-z, 0-9, _), applies the migrations and returns a
 * connection to it; aborts the test on failure. The caller PQfinish()es. */
PGconn *pgtest_fresh_database(const char *name);

/* The conninfo of database `name` in the test cluster; a static buffer. */
const char *pgtest_conninfo(const char *name);

/* Runs SQL and returns the first column of the first row as a malloc'd string (NULL for
 * SQL NULL); aborts the test when the statement fails. */
char *pgtest_scalar(PGconn *conn, const char *sql);

#endif
