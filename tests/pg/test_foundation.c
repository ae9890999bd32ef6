/*
 * The foundation's storage against a throwaway PostgreSQL: schema migrations, API tokens
 * (created, authenticated, revoked, stored only as hashes) and programme documents (validated
 * with JSON paths, applied idempotently, updated).
 */
#include <criterion/criterion.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "scaleupd/storage/db.h"
#include "scaleupd/core/programme_doc.h"
#include "scaleupd/services/programme_apply.h"
#include "scaleupd/storage/programmes.h"
#include "scaleupd/storage/tokens.h"

/* /work/shared/examples/programme-icp-be.json, the same document */
static const char ICP_BE[] =
    "{\"slug\": \"icp-t2d-htn-be\", \"name\": \"Integrated care package for type 2 diabetes and "
    "hypertension, Belgium\", \"time_zone\": \"Europe/Brussels\",\n"
    " \"sites\": [\n"
    "  {\"code\": \"BE\", \"name\": \"Belgium\", \"level\": \"country\"},\n"
    "  {\"code\": \"BE-VLG\", \"name\": \"Flanders\", \"level\": \"region\", \"parent\": \"BE\"},\n"
    "  {\"code\": \"BE-WAL\", \"name\": \"Wallonia\", \"level\": \"region\", \"parent\": \"BE\"},\n"
    "  {\"code\": \"BE-BRU\", \"name\": \"Brussels\", \"level\": \"region\", \"parent\": \"BE\"},\n"
    "  {\"code\": \"BE-VLG-GP001\", \"name\": \"Huisartsenpraktijk De Linde\", \"level\": "
    "\"practice\", \"parent\": \"BE-VLG\", \"adopted\": \"2025-01-01\"},\n"
    "  {\"code\": \"BE-VLG-GP002\", \"name\": \"Groepspraktijk Zuid\", \"level\": \"practice\", "
    "\"parent\": \"BE-VLG\", \"adopted\": \"2025-04-01\"},\n"
    "  {\"code\": \"BE-WAL-GP001\", \"name\": \"Maison medicale du Centre\", \"level\": "
    "\"practice\", \"parent\": \"BE-WAL\", \"adopted\": \"2025-09-01\"},\n"
    "  {\"code\": \"BE-BRU-GP001\", \"name\": \"Wijkgezondheidscentrum Noord\", \"level\": "
    "\"practice\", \"parent\": \"BE-BRU\", \"status\": \"planned\"}\n"
    " ],\n"
    " \"indicators\": [\n"
    "  {\"code\": \"patients_enrolled\", \"name\": \"Patients enrolled in the care package\", "
    "\"unit\": \"patients\", \"value_type\": \"count\", \"period_type\": \"monthly\", "
    "\"direction\": \"up\", \"aggregate\": \"sum\", \"dimension\": \"coverage\"},\n"
    "  {\"code\": \"eligible_population\", \"name\": \"Registered patients with type 2 diabetes or "
    "hypertension\", \"unit\": \"patients\", \"value_type\": \"count\", \"period_type\": "
    "\"monthly\", \"direction\": \"none\", \"aggregate\": \"sum\", \"dimension\": \"coverage\"},\n"
    "  {\"code\": \"hba1c_tested_pct\", \"name\": \"Enrolled diabetes patients with an HbA1c test "
    "in the last 12 months\", \"unit\": \"%\", \"value_type\": \"percentage\", \"period_type\": "
    "\"monthly\", \"direction\": \"up\", \"aggregate\": \"weighted\"},\n"
    "  {\"code\": \"bp_controlled_pct\", \"name\": \"Enrolled hypertension patients with blood "
    "pressure under 140/90\", \"unit\": \"%\", \"value_type\": \"percentage\", \"period_type\": "
    "\"monthly\", \"direction\": \"up\", \"aggregate\": \"weighted\"},\n"
    "  {\"code\": \"inst_fee_code\", \"name\": \"Fee code for the package in the nomenclature "
    "(0-4)\", \"unit\": \"score\", \"value_type\": \"score\", \"period_type\": \"quarterly\", "
    "\"direction\": \"up\", \"aggregate\": \"last\", \"dimension\": \"institutionalisation\"},\n"
    "  {\"code\": \"inst_national_indicators\", \"name\": \"Package indicators in the national "
    "primary-care data system (0-4)\", \"unit\": \"score\", \"value_type\": \"score\", "
    "\"period_type\": \"quarterly\", \"direction\": \"up\", \"aggregate\": \"last\", "
    "\"dimension\": \"institutionalisation\"},\n"
    "  {\"code\": \"inst_nurse_role\", \"name\": \"Practice-nurse role in job classification "
    "(0-4)\", \"unit\": \"score\", \"value_type\": \"score\", \"period_type\": \"quarterly\", "
    "\"direction\": \"up\", \"aggregate\": \"last\", \"dimension\": \"institutionalisation\"}\n"
    " ]}\n";

static PGconn *conn;

static void fresh(void)
{
    conn = pgtest_fresh_database("t_foundation");
}

static void finish(void)
{
    PQfinish(conn);
    conn = NULL;
}

TestSuite(migrations, .init = fresh, .fini = finish);
TestSuite(tokens, .init = fresh, .fini = finish);
TestSuite(programmes, .init = fresh, .fini = finish);

/* The first cell of a query with text parameters, malloc'd ("" for SQL NULL); aborts the
 * test when the query fails or returns no row. */
static char *query_text(const char *sql, int n, const char *const *values)
{
    PGresult *res = db_query(conn, sql, n, values);
    cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(conn));
    cr_assert_eq(PQntuples(res), 1, "%s: %d rows", sql, PQntuples(res));
    char *value = strdup(PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
    PQclear(res);
    cr_assert_not_null(value);
    return value;
}

static long long query_count(const char *sql, int n, const char *const *values)
{
    char *text = query_text(sql, n, values);
    char *end;
    long long v = strtoll(text, &end, 10);
    cr_assert(*end == '\0' && end != text, "%s: not a number: %s", sql, text);
    free(text);
    return v;
}

static void exec_ok(const char *sql)
{
    char err[512];
    cr_assert(db_exec(conn, sql, err, sizeof(err)), "%s: %s", sql, err);
}

/* ---------------------------------------------------------------- migrations */

/* The versions and names of db_migrations as "1 001_x,2 002_y". */
static void expected_migrations(char *buf, size_t size, int *count)
{
    size_t used = 0;
    *count = 0;
    buf[0] = '\0';
    int previous = 0;
    for (const struct db_migration *m = db_migrations; m->name != NULL; m++) {
        cr_assert_gt(m->version, previous, "migration %s is out of order", m->name);
        previous = m->version;
        int n = snprintf(buf + used, size - used, "%s%d %s", used ? "," : "", m->version, m->name);
        cr_assert(n > 0 && (size_t)n < size - used);
        used += (size_t)n;
        (*count)++;
    }
}

static const char SQL_RECORDED[] =
    "SELECT string_agg(version || ' ' || name, ',' ORDER BY version) FROM schema_migration";

Test(migrations, an_empty_database_gets_every_version)
{
    exec_ok("DROP SCHEMA public CASCADE");
    exec_ok("CREATE SCHEMA public");
    cr_expect_eq(db_schema_version(conn), 0, "an empty database is at version 0");
    char err[512];
    cr_assert(db_migrate(conn, err, sizeof(err)), "%s", err);

    char want[4096];
    int n;
    expected_migrations(want, sizeof(want), &n);
    cr_assert_gt(n, 0);
    char *recorded = query_text(SQL_RECORDED, 0, NULL);
    cr_expect_str_eq(recorded, want);
    free(recorded);
    cr_expect_eq(query_count("SELECT count(*) FROM schema_migration", 0, NULL), n);
    cr_expect_eq(db_schema_version(conn), db_schema_head());
    /* the foundation's tables exist */
    static const char *const tables[] = {
        "programme", "site",        "membership",           "indicator",  "token",
        "series",    "observation", "observation_revision", "idempotency"};
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        const char *values[] = {tables[i]};
        char *oid = query_text("SELECT to_regclass($1)::text", 1, values);
        cr_expect_str_eq(oid, tables[i], "table %s is missing", tables[i]);
        free(oid);
    }
}

Test(migrations, a_database_a_newer_build_migrated_is_refused)
{
    char err[512] = "", what[256] = "";
    cr_assert(db_migrate(conn, err, sizeof(err)), "%s", err);
    cr_expect_eq(db_schema_unknown(conn, what, sizeof(what)), 0, "%s", what);
    int future = db_schema_head() + 1;
    char version[16];
    snprintf(version, sizeof(version), "%d", future);
    const char *values[] = {version};
    cr_assert_eq(query_count("WITH a AS (INSERT INTO schema_migration (version, name)"
                             " VALUES ($1::int, 'from_a_newer_scaleupd') RETURNING 1)"
                             " SELECT count(*) FROM a",
                             1, values),
                 1);
    cr_expect_eq(db_schema_unknown(conn, what, sizeof(what)), 1);
    char want[64];
    snprintf(want, sizeof(want), "migration %d (from_a_newer_scaleupd)", future);
    cr_expect_str_eq(what, want);
    cr_expect_not(db_migrate(conn, err, sizeof(err)));
    cr_expect(strstr(err, "migrated by a newer scaleupd") != NULL, "%s", err);
    cr_expect(strstr(err, want) != NULL, "%s", err);
    exec_ok("DELETE FROM schema_migration WHERE name = 'from_a_newer_scaleupd'");
    cr_expect(db_migrate(conn, err, sizeof(err)), "%s", err);

    /* a number below this build's newest that it does not have (sql/ skips 015): not "newer" */
    exec_ok("INSERT INTO schema_migration (version, name) VALUES (15, 'from_another_branch')");
    cr_expect_eq(db_schema_unknown(conn, what, sizeof(what)), 1);
    cr_expect_not(db_migrate(conn, err, sizeof(err)));
    cr_expect(strstr(err, "migrated by another build of scaleupd") != NULL, "%s", err);
    cr_expect(strstr(err, "migration 15 (from_another_branch)") != NULL, "%s", err);
    exec_ok("DELETE FROM schema_migration WHERE name = 'from_another_branch'");
    cr_expect(db_migrate(conn, err, sizeof(err)), "%s", err);
}

Test(migrations, migrating_again_changes_nothing)
{
    static const char fingerprint[] =
        "SELECT count(*) || ' ' || max(applied_at)::text || ' ' || "
        "(SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace) "
        "FROM schema_migration";
    char *before = query_text(fingerprint, 0, NULL);
    char *recorded_before = query_text(SQL_RECORDED, 0, NULL);
    char err[512] = "";
    for (int i = 0; i < 2; i++)
        cr_expect(db_migrate(conn, err, sizeof(err)), "run %d: %s", i + 2, err);
    char *after = query_text(fingerprint, 0, NULL);
    char *recorded_after = query_text(SQL_RECORDED, 0, NULL);
    cr_expect_str_eq(after, before);
    cr_expect_str_eq(recorded_after, recorded_before);
    cr_expect_eq(db_schema_version(conn), db_schema_head());
    free(before);
    free(after);
    free(recorded_before);
    free(recorded_after);
}

/* ---------------------------------------------------------------- programmes (fixture) */

static json_t *load(const char *text)
{
    json_error_t error;
    json_t *doc = json_loads(text, JSON_DECODE_ANY, &error);
    cr_assert_not_null(doc, "test document does not parse: %s (line %d)", error.text, error.line);
    return doc;
}

static int64_t apply(const json_t *doc, enum programme_result want)
{
    int64_t id = 0;
    json_t *problems = NULL;
    enum programme_result got = programme_apply(conn, doc, &id, &problems, "pgtest");
    char *dump = problems ? json_dumps(problems, JSON_COMPACT) : NULL;
    cr_assert_eq(got, want, "programme_apply gave %d, expected %d; problems %s", got, want,
                 dump ? dump : "none");
    free(dump);
    json_decref(problems);
    return id;
}

static int64_t apply_example(void)
{
    json_t *doc = load(ICP_BE);
    int64_t id = apply(doc, PROGRAMME_CREATED);
    json_decref(doc);
    cr_assert_gt(id, 0);
    return id;
}

/* ---------------------------------------------------------------- tokens */

static bool secret_well_formed(const char *secret)
{
    if (strlen(secret) != 47 || strncmp(secret, "sud_", 4) != 0)
        return false;
    return strspn(secret + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
           43;
}

Test(tokens, generate_gives_distinct_47_character_secrets)
{
    enum { N = 200 };
    static char secrets[N][TOKEN_SECRET_SIZE];
    for (int i = 0; i < N; i++) {
        cr_assert(token_generate(secrets[i]));
        /* "sud_" + 43 base64url characters (ceil(256 / 6) = 43) */
        cr_expect(secret_well_formed(secrets[i]), "malformed secret \"%s\"", secrets[i]);
        for (int j = 0; j < i; j++)
            cr_expect_str_neq(secrets[i], secrets[j], "secrets %d and %d are equal", i, j);
    }
}

static int64_t create(enum token_scope scope, const char *programme, const char *name,
                      char secret[TOKEN_SECRET_SIZE])
{
    char err[256] = "";
    int64_t id = 0;
    cr_assert(token_create(conn, scope, programme, name, secret, &id, err, sizeof(err)),
              "token_create(%s, %s): %s", token_scope_name(scope), programme ? programme : "-",
              err);
    cr_expect(secret_well_formed(secret), "%s", secret);
    cr_expect_gt(id, 0);
    return id;
}

Test(tokens, create_and_authenticate_each_scope)
{
    int64_t programme_id = apply_example();
    struct {
        enum token_scope scope;
        const char *programme;
        const char *name;
        int64_t want_programme;
    } cases[] = {
        {TOKEN_SCOPE_ADMIN, NULL, "ops", 0},
        {TOKEN_SCOPE_READ, NULL, "dashboard", 0},
        /* a programme given with a non-feed scope is ignored */
        {TOKEN_SCOPE_READ, "icp-t2d-htn-be", "reader", 0},
        {TOKEN_SCOPE_FEED, "icp-t2d-htn-be", "flanders feed", programme_id},
        {TOKEN_SCOPE_ADMIN, NULL, NULL, 0}, /* no name: "" */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char secret[TOKEN_SECRET_SIZE];
        int64_t id = create(cases[i].scope, cases[i].programme, cases[i].name, secret);
        struct request_auth auth = {0};
        cr_expect_eq(token_authenticate(conn, secret, &auth), TOKEN_OK, "case %zu", i);
        cr_expect(auth.authenticated);
        cr_expect_eq(auth.token_id, id);
        cr_expect_eq(auth.scope, cases[i].scope, "case %zu", i);
        cr_expect_eq(auth.programme_id, cases[i].want_programme, "case %zu", i);
        cr_expect_str_eq(auth.name, cases[i].name ? cases[i].name : "");
    }
}

Test(tokens, feed_tokens_need_an_existing_programme)
{
    apply_example();
    char secret[TOKEN_SECRET_SIZE], err[256];
    int64_t id = 0;
    cr_expect_not(token_create(conn, TOKEN_SCOPE_FEED, NULL, "x", secret, &id, err, sizeof(err)));
    cr_expect(strstr(err, "needs a programme") != NULL, "%s", err);
    cr_expect_not(token_create(conn, TOKEN_SCOPE_FEED, "", "x", secret, &id, err, sizeof(err)));
    cr_expect_not(token_create(conn, TOKEN_SCOPE_FEED, "no-such-programme", "x", secret, &id, err,
                               sizeof(err)));
    cr_expect_str_eq(err, "no programme \"no-such-programme\"");
    cr_expect_eq(query_count("SELECT count(*) FROM token", 0, NULL), 0, "nothing stored");
}

Test(tokens, wrong_or_revoked_secrets_are_unknown)
{
    char secret[TOKEN_SECRET_SIZE];
    int64_t id = create(TOKEN_SCOPE_ADMIN, NULL, "ops", secret);
    struct request_auth auth = {0};

    char wrong[TOKEN_SECRET_SIZE];
    memcpy(wrong, secret, sizeof(wrong));
    wrong[46] = wrong[46] == 'A' ? 'B' : 'A'; /* last character changed */
    char longer[TOKEN_SECRET_SIZE + 1];
    snprintf(longer, sizeof(longer), "%sA", secret);
    char shorter[TOKEN_SECRET_SIZE];
    snprintf(shorter, sizeof(shorter), "%.46s", secret);
    char huge[400];
    memset(huge, 'a', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    const char *bad[] = {wrong, longer, shorter, "", "sud_", "x", huge};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_expect_eq(token_authenticate(conn, bad[i], &auth), TOKEN_UNKNOWN, "\"%.60s\"", bad[i]);
        cr_expect_not(auth.authenticated);
    }
    cr_expect_eq(token_authenticate(conn, secret, &auth), TOKEN_OK);

    bool none = true;
    cr_assert(token_no_admin(conn, &none));
    cr_expect_not(none, "a live admin token exists");
    cr_expect_eq(token_revoke(conn, id), TOKEN_OK);
    struct request_auth after = {0};
    cr_expect_eq(token_authenticate(conn, secret, &after), TOKEN_UNKNOWN, "revoked");
    cr_expect_not(after.authenticated);
    cr_expect_eq(token_revoke(conn, id), TOKEN_UNKNOWN, "already revoked");
    cr_expect_eq(token_revoke(conn, id + 1000), TOKEN_UNKNOWN, "no such token");
    cr_assert(token_no_admin(conn, &none));
    cr_expect(none, "the only admin token was revoked");
}

Test(tokens, use_is_recorded_at_most_once_a_minute)
{
    char secret[TOKEN_SECRET_SIZE], sql[160];
    int64_t id = create(TOKEN_SCOPE_READ, NULL, "dashboard", secret);
    snprintf(sql, sizeof(sql), "SELECT last_used_at IS NULL FROM token WHERE id = %lld",
             (long long)id);
    char *never = pgtest_scalar(conn, sql);
    cr_expect_str_eq(never, "t", "a new token was never used");
    free(never);

    struct request_auth auth = {0};
    cr_assert_eq(token_authenticate(conn, secret, &auth), TOKEN_OK);
    snprintf(sql, sizeof(sql), "SELECT last_used_at::text FROM token WHERE id = %lld",
             (long long)id);
    char *first = pgtest_scalar(conn, sql);
    cr_assert_not_null(first, "the first use is recorded");
    cr_assert_eq(token_authenticate(conn, secret, &auth), TOKEN_OK);
    char *second = pgtest_scalar(conn, sql);
    cr_expect_str_eq(second, first, "a second use within the minute writes nothing");
    free(first);
    free(second);

    snprintf(sql, sizeof(sql),
             "UPDATE token SET last_used_at = now() - interval '2 minutes' WHERE id = %lld",
             (long long)id);
    char err[256];
    cr_assert(db_exec(conn, sql, err, sizeof(err)), "%s", err);
    cr_assert_eq(token_authenticate(conn, secret, &auth), TOKEN_OK);
    snprintf(sql, sizeof(sql),
             "SELECT last_used_at > now() - interval '1 minute' FROM token WHERE id = %lld",
             (long long)id);
    char *fresh = pgtest_scalar(conn, sql);
    cr_expect_str_eq(fresh, "t", "a use after a minute is recorded again");
    free(fresh);
}

Test(tokens, only_the_hash_is_stored)
{
    apply_example();
    char secrets[3][TOKEN_SECRET_SIZE];
    int64_t ids[3];
    ids[0] = create(TOKEN_SCOPE_ADMIN, NULL, "a", secrets[0]);
    ids[1] = create(TOKEN_SCOPE_READ, NULL, "r", secrets[1]);
    ids[2] = create(TOKEN_SCOPE_FEED, "icp-t2d-htn-be", "f", secrets[2]);
    for (int i = 0; i < 3; i++) {
        char id[24];
        snprintf(id, sizeof(id), "%lld", (long long)ids[i]);
        /* the stored hash is SHA-256 of the secret */
        const char *v1[] = {id, secrets[i]};
        cr_expect_eq(query_count("SELECT count(*) FROM token WHERE id = $1 "
                                 "AND hash = sha256(convert_to($2, 'UTF8'))",
                                 2, v1),
                     1, "token %s: hash is not sha256(secret)", id);
        /* and the secret appears nowhere: not as text, not as hex of its bytes, in no row */
        const char *v2[] = {secrets[i]};
        cr_expect_eq(query_count("SELECT count(*) FROM token t WHERE strpos(t::text, $1) > 0 "
                                 "OR strpos(t::text, encode(convert_to($1, 'UTF8'), 'hex')) > 0 "
                                 "OR strpos(t::text, substr($1, 5)) > 0",
                                 1, v2),
                     0, "secret of token %s is stored", id);
    }
    /* the list shows the tokens but never a secret */
    json_t *list = token_list(conn);
    cr_assert_not_null(list);
    cr_expect_eq(json_array_size(list), 3);
    char *dump = json_dumps(list, JSON_COMPACT);
    for (int i = 0; i < 3; i++)
        cr_expect_null(strstr(dump, secrets[i] + 4), "token_list shows a secret: %s", dump);
    cr_expect_null(strstr(dump, "\"hash\""), "%s", dump);
    json_t *feed = json_array_get(list, 2);
    cr_expect_str_eq(json_string_value(json_object_get(feed, "scope")), "feed");
    cr_expect_str_eq(json_string_value(json_object_get(feed, "programme")), "icp-t2d-htn-be");
    cr_expect(json_is_null(json_object_get(feed, "revoked_at")) ||
              json_object_get(feed, "revoked_at") == NULL);
    free(dump);
    json_decref(list);
}

/* ---------------------------------------------------------------- programmes */

/* What the example must leave in site/membership: code, level, parent, membership status
 * and adoption ("" for none). Only sites with "adopted" or "status" are members; a given
 * adoption date without a status makes the site active. */
static const struct {
    const char *code, *level, *parent, *status, *adopted;
} example_sites[] = {
    {"BE", "country", "", "", ""},
    {"BE-VLG", "region", "BE", "", ""},
    {"BE-WAL", "region", "BE", "", ""},
    {"BE-BRU", "region", "BE", "", ""},
    {"BE-VLG-GP001", "practice", "BE-VLG", "active", "2025-01-01"},
    {"BE-VLG-GP002", "practice", "BE-VLG", "active", "2025-04-01"},
    {"BE-WAL-GP001", "practice", "BE-WAL", "active", "2025-09-01"},
    {"BE-BRU-GP001", "practice", "BE-BRU", "planned", ""},
};

static const char SQL_SITE[] =
    "SELECT concat_ws('|', s.level, coalesce(p.code, ''), coalesce(m.status, ''), "
    "coalesce(m.adopted_on::text, '')) FROM site s "
    "JOIN programme g ON g.id = s.programme_id AND g.slug = 'icp-t2d-htn-be' "
    "LEFT JOIN site p ON p.programme_id = s.programme_id AND p.id = s.parent_id "
    "LEFT JOIN membership m ON m.programme_id = s.programme_id AND m.site_id = s.id "
    "WHERE s.code = $1";

static void expect_site(const char *code, const char *level, const char *parent, const char *status,
                        const char *adopted)
{
    char want[200];
    snprintf(want, sizeof(want), "%s|%s|%s|%s", level, parent, status, adopted);
    const char *values[] = {code};
    char *got = query_text(SQL_SITE, 1, values);
    cr_expect_str_eq(got, want, "site %s", code);
    free(got);
}

/* Rows of the programme's tables: "programmes sites members indicators". */
static char *row_counts(void)
{
    return query_text("SELECT (SELECT count(*) FROM programme) || ' ' || "
                      "(SELECT count(*) FROM site) || ' ' || "
                      "(SELECT count(*) FROM membership) || ' ' || "
                      "(SELECT count(*) FROM indicator)",
                      0, NULL);
}

Test(programmes, apply_creates_sites_membership_and_indicators)
{
    json_t *doc = load(ICP_BE);
    json_t *problems = programme_doc_validate(doc);
    cr_expect_null(problems, "the example is valid");
    json_decref(problems);
    int64_t id = apply(doc, PROGRAMME_CREATED);
    json_decref(doc);

    /* 1 programme, 8 sites, 4 members (3 adopted + 1 planned), 7 indicators */
    char *counts = row_counts();
    cr_expect_str_eq(counts, "1 8 4 7");
    free(counts);
    char idtext[24];
    snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
    const char *v[] = {idtext};
    char *prog = query_text("SELECT slug || '|' || name || '|' || time_zone FROM programme "
                            "WHERE id = $1",
                            1, v);
    cr_expect_str_eq(prog, "icp-t2d-htn-be|Integrated care package for type 2 diabetes and "
                           "hypertension, Belgium|Europe/Brussels");
    free(prog);
    for (size_t i = 0; i < sizeof(example_sites) / sizeof(example_sites[0]); i++)
        expect_site(example_sites[i].code, example_sites[i].level, example_sites[i].parent,
                    example_sites[i].status, example_sites[i].adopted);

    static const struct {
        const char *code, *want; /* unit|value_type|period_type|direction|aggregate|dimension */
    } indicators[] = {
        {"patients_enrolled", "patients|count|monthly|up|sum|coverage"},
        {"eligible_population", "patients|count|monthly|none|sum|coverage"},
        {"hba1c_tested_pct", "%|percentage|monthly|up|weighted|"},
        {"bp_controlled_pct", "%|percentage|monthly|up|weighted|"},
        {"inst_fee_code", "score|score|quarterly|up|last|institutionalisation"},
        {"inst_national_indicators", "score|score|quarterly|up|last|institutionalisation"},
        {"inst_nurse_role", "score|score|quarterly|up|last|institutionalisation"},
    };
    for (size_t i = 0; i < sizeof(indicators) / sizeof(indicators[0]); i++) {
        const char *values[] = {idtext, indicators[i].code};
        char *got = query_text("SELECT concat_ws('|', unit, value_type, period_type, direction, "
                               "aggregate, coalesce(dimension, '')) FROM indicator "
                               "WHERE programme_id = $1 AND code = $2",
                               2, values);
        cr_expect_str_eq(got, indicators[i].want, "indicator %s", indicators[i].code);
        free(got);
    }
}

Test(programmes, applying_again_is_idempotent)
{
    int64_t first = apply_example();
    static const char ids[] = "SELECT (SELECT string_agg(code || '=' || id, ',' ORDER BY code) "
                              "FROM site) || ';' || (SELECT string_agg(code || '=' || id, ',' "
                              "ORDER BY code) FROM indicator)";
    char *counts_before = row_counts();
    char *ids_before = query_text(ids, 0, NULL);
    for (int round = 0; round < 2; round++) {
        json_t *doc = load(ICP_BE);
        int64_t again = apply(doc, PROGRAMME_UPDATED);
        json_decref(doc);
        cr_expect_eq(again, first, "the same programme");
        char *counts = row_counts();
        char *ids_after = query_text(ids, 0, NULL);
        cr_expect_str_eq(counts, counts_before);
        cr_expect_str_eq(ids_after, ids_before, "rows were replaced rather than kept");
        free(counts);
        free(ids_after);
    }
    for (size_t i = 0; i < sizeof(example_sites) / sizeof(example_sites[0]); i++)
        expect_site(example_sites[i].code, example_sites[i].level, example_sites[i].parent,
                    example_sites[i].status, example_sites[i].adopted);
    free(counts_before);
    free(ids_before);
}

static json_t *site_of(json_t *doc, const char *code)
{
    size_t i;
    json_t *site;
    json_array_foreach(json_object_get(doc, "sites"), i, site)
    {
        if (strcmp(json_string_value(json_object_get(site, "code")), code) == 0)
            return site;
    }
    cr_assert_fail("no site %s in the document", code);
    return NULL;
}

Test(programmes, changes_are_stored)
{
    int64_t first = apply_example();
    json_t *doc = load(ICP_BE);
    json_object_set_new(doc, "name", json_string("ICP Belgium, second wave"));
    json_object_set_new(doc, "time_zone", json_string("UTC"));
    json_object_set_new(site_of(doc, "BE-VLG-GP002"), "adopted", json_string("2025-05-01"));
    json_t *bru = site_of(doc, "BE-BRU-GP001");
    json_object_set_new(bru, "status", json_string("active"));
    json_object_set_new(bru, "adopted", json_string("2025-10-01"));
    json_object_set_new(site_of(doc, "BE-WAL-GP001"), "status", json_string("withdrawn"));
    json_object_set_new(site_of(doc, "BE-WAL"), "name", json_string("Wallonie"));
    /* a new site, and a practice moved to another region */
    json_array_append_new(json_object_get(doc, "sites"),
                          json_pack("{s:s,s:s,s:s,s:s,s:s}", "code", "BE-VLG-GP003", "name",
                                    "Praktijk Oost", "level", "practice", "parent", "BE-VLG",
                                    "adopted", "2026-01-01"));
    json_object_set_new(site_of(doc, "BE-VLG-GP001"), "parent", json_string("BE-BRU"));
    json_t *hba1c = json_array_get(json_object_get(doc, "indicators"), 2);
    json_object_set_new(hba1c, "target", json_real(80));
    json_object_set_new(hba1c, "name", json_string("HbA1c tested"));

    cr_expect_eq(apply(doc, PROGRAMME_UPDATED), first);
    json_decref(doc);

    char *prog = query_text("SELECT name || '|' || time_zone FROM programme", 0, NULL);
    cr_expect_str_eq(prog, "ICP Belgium, second wave|UTC");
    free(prog);
    /* 9 sites (8 + GP003), 5 members (4 + GP003), still 7 indicators */
    char *counts = row_counts();
    cr_expect_str_eq(counts, "1 9 5 7");
    free(counts);
    expect_site("BE-VLG-GP001", "practice", "BE-BRU", "active", "2025-01-01");
    expect_site("BE-VLG-GP002", "practice", "BE-VLG", "active", "2025-05-01");
    expect_site("BE-BRU-GP001", "practice", "BE-BRU", "active", "2025-10-01");
    expect_site("BE-WAL-GP001", "practice", "BE-WAL", "withdrawn", "2025-09-01");
    expect_site("BE-VLG-GP003", "practice", "BE-VLG", "active", "2026-01-01");
    char *wal = query_text("SELECT name FROM site WHERE code = 'BE-WAL'", 0, NULL);
    cr_expect_str_eq(wal, "Wallonie");
    free(wal);
    cr_expect_eq(query_count("SELECT count(*) FROM membership WHERE status = 'withdrawn' "
                             "AND withdrawn_on IS NOT NULL",
                             0, NULL),
                 1, "a withdrawal is dated");
    char *ind = query_text("SELECT name || '|' || target FROM indicator "
                           "WHERE code = 'hba1c_tested_pct'",
                           0, NULL);
    cr_expect_str_eq(ind, "HbA1c tested|80");
    free(ind);

    /* a site left out of a later version is kept (it may carry data) */
    doc = load(ICP_BE);
    json_t *sites = json_object_get(doc, "sites");
    json_array_remove(sites, json_array_size(sites) - 1); /* BE-BRU-GP001 */
    cr_expect_eq(apply(doc, PROGRAMME_UPDATED), first);
    json_decref(doc);
    cr_expect_eq(query_count("SELECT count(*) FROM site WHERE code = 'BE-BRU-GP001'", 0, NULL), 1);
    expect_site("BE-VLG-GP001", "practice", "BE-VLG", "active", "2025-01-01");
}

/* programme_apply checks the document itself (core/programme_doc.c), so that no caller can
 * store one the API would refuse. */
Test(programmes, apply_refuses_an_invalid_document_and_stores_nothing)
{
    json_t *doc = load("{\"slug\":\"Bad Slug\",\"name\":\"x\",\"sites\":[{\"code\":\"A\"}]}");
    json_t *problems = NULL;
    int64_t id = 0;
    cr_expect_eq(programme_apply(conn, doc, &id, &problems, "pgtest"), PROGRAMME_INVALID);
    cr_assert_eq(json_array_size(problems), 3);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(problems, 0), "path")),
                     "$.slug");
    json_decref(problems);
    json_decref(doc);
    char *counts = row_counts();
    cr_expect_str_eq(counts, "0 0 0 0", "nothing stored");
    free(counts);
}

Test(programmes, an_unknown_time_zone_is_invalid)
{
    json_t *doc = load(ICP_BE);
    json_object_set_new(doc, "time_zone", json_string("Europe/Atlantis"));
    json_t *problems = programme_doc_validate(doc);
    cr_expect_null(problems, "a well-formed name: only the database knows");
    json_decref(problems);
    problems = NULL;
    int64_t id = 0;
    cr_expect_eq(programme_apply(conn, doc, &id, &problems, "pgtest"), PROGRAMME_INVALID);
    cr_assert_eq(json_array_size(problems), 1);
    json_t *p = json_array_get(problems, 0);
    cr_expect_str_eq(json_string_value(json_object_get(p, "path")), "$.time_zone");
    cr_expect_str_eq(json_string_value(json_object_get(p, "code")), "unknown_time_zone");
    json_decref(problems);
    json_decref(doc);
    char *counts = row_counts();
    cr_expect_str_eq(counts, "0 0 0 0", "nothing stored");
    free(counts);

    /* no time zone at all: UTC */
    doc = load("{\"slug\":\"tiny\",\"name\":\"Tiny\"}");
    apply(doc, PROGRAMME_CREATED);
    json_decref(doc);
    char *tz = query_text("SELECT time_zone FROM programme WHERE slug = 'tiny'", 0, NULL);
    cr_expect_str_eq(tz, "UTC");
    free(tz);
}

Test(programmes, find_get_and_list)
{
    int64_t id = 0;
    cr_expect_eq(programme_find(conn, "icp-t2d-htn-be", &id), 0);
    bool db_error = true;
    cr_expect_null(programme_get(conn, "icp-t2d-htn-be", &db_error));
    cr_expect_not(db_error);
    json_t *list = programme_list(conn);
    cr_expect_eq(json_array_size(list), 0);
    json_decref(list);

    int64_t created = apply_example();
    cr_expect_eq(programme_find(conn, "icp-t2d-htn-be", &id), 1);
    cr_expect_eq(id, created);
    json_t *doc = programme_get(conn, "icp-t2d-htn-be", &db_error);
    cr_assert_not_null(doc);
    cr_expect_not(db_error);
    cr_expect_str_eq(json_string_value(json_object_get(doc, "time_zone")), "Europe/Brussels");
    cr_expect_eq(json_array_size(json_object_get(doc, "sites")), 8);
    cr_expect_eq(json_array_size(json_object_get(doc, "indicators")), 7);
    json_t *gp = json_array_get(json_object_get(doc, "sites"), 4);
    cr_expect_str_eq(json_string_value(json_object_get(gp, "code")), "BE-VLG-GP001");
    cr_expect_str_eq(json_string_value(json_object_get(gp, "parent")), "BE-VLG");
    cr_expect_str_eq(json_string_value(json_object_get(gp, "adopted")), "2025-01-01");
    cr_expect_str_eq(json_string_value(json_object_get(gp, "status")), "active");
    json_decref(doc);

    list = programme_list(conn);
    cr_assert_eq(json_array_size(list), 1);
    json_t *row = json_array_get(list, 0);
    cr_expect_str_eq(json_string_value(json_object_get(row, "slug")), "icp-t2d-htn-be");
    cr_expect_eq(json_integer_value(json_object_get(row, "sites")), 8);
    cr_expect_eq(json_integer_value(json_object_get(row, "indicators")), 7);
    json_decref(list);
}

/* COMMIT of a transaction that a failed statement aborted answers with the tag ROLLBACK and
 * no error: db_commit must still report the failure. */
Test(foundation, db_commit_of_a_failed_transaction_is_a_failure)
{
    PGconn *conn = PQconnectdb(pgtest_conninfo("postgres"));
    cr_assert_eq(PQstatus(conn), CONNECTION_OK);
    cr_assert(db_begin(conn, NULL));
    cr_assert_not(db_command(conn, NULL, "SELECT 1/0", 0, NULL, NULL, "divide by zero"));
    cr_expect_not(db_commit(conn, NULL), "the transaction was rolled back, not committed");
    cr_expect_eq(PQtransactionStatus(conn), PQTRANS_IDLE);
    cr_assert(db_begin(conn, NULL));
    cr_expect(db_commit(conn, NULL), "a transaction that did not fail commits");
    PQfinish(conn);
}
