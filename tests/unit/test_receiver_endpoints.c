/* Receivers' webhooks and Alertmanagers (core/receiver_endpoints.c) through the receivers
 * document check: each problem with its path and code (table-driven), the rows storage
 * keeps, the plain URL lists, the redacted view and the Authorization header line. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "scaleupd/core/receiver_doc.h"
#include "scaleupd/core/receiver_endpoints.h"

/* "path code" of each problem, ';'-separated ("" for none). */
static void describe(const json_t *problems, char *out, size_t size)
{
    size_t used = 0, k;
    const json_t *p;
    out[0] = '\0';
    json_array_foreach(problems, k, p)
    {
        int n = snprintf(out + used, size - used, "%s%s %s", used ? ";" : "",
                         json_string_value(json_object_get(p, "path")),
                         json_string_value(json_object_get(p, "code")));
        cr_assert(n > 0 && (size_t)n < size - used);
        used += (size_t)n;
    }
}

#define R(list) "{\"receivers\":[{\"name\":\"ops\"," list "}]}"
#define W(entry) R("\"webhook\":[" entry "]")
#define A(entry) R("\"alertmanager\":[" entry "]")
#define P "$.receivers[0]"

static const struct {
    const char *doc;
    const char *want;
} cases[] = {
    {W("\"https://h.example/a\",{\"url\":\"https://h.example/b\"}"), ""},
    {W("{\"url\":\"https://h.example/b\",\"send_resolved\":false,\"max_alerts\":10,"
       "\"authorization\":{\"type\":\"Bearer\",\"credentials\":\"tok\"}}"),
     ""},
    {W("{\"url\":\"https://h.example/b\",\"basic_auth\":{\"username\":\"u\",\"password\":\"p "
       "w\"}}"),
     ""},
    {W("{}"), P ".webhook[0].url invalid_url"},
    {W("{\"url\":\"ftp://x\"}"), P ".webhook[0].url invalid_url"},
    {W("{\"url\":\"https://h.example/b\",\"send_resolve\":true}"),
     P ".webhook[0].send_resolve unknown_field"},
    {W("{\"url\":\"https://h.example/b\",\"send_resolved\":1}"),
     P ".webhook[0].send_resolved invalid_type"},
    {W("{\"url\":\"https://h.example/b\",\"max_alerts\":-1}"),
     P ".webhook[0].max_alerts invalid_value"},
    {W("{\"url\":\"https://h.example/b\",\"max_alerts\":1.5}"),
     P ".webhook[0].max_alerts invalid_value"},
    {W("{\"url\":\"https://h.example/b\",\"authorization\":\"tok\"}"),
     P ".webhook[0].authorization invalid_type"},
    {W("{\"url\":\"https://h.example/b\",\"authorization\":{\"type\":\"Basic\","
       "\"credentials\":\"x\"}}"),
     P ".webhook[0].authorization.type invalid_value"},
    {W("{\"url\":\"https://h.example/b\",\"authorization\":{\"credentials\":\"a\\r\\nX: y\"}}"),
     P ".webhook[0].authorization.credentials invalid_value"},
    {W("{\"url\":\"https://h.example/b\",\"authorization\":{\"credentials\":\"\"}}"),
     P ".webhook[0].authorization.credentials invalid_value"},
    {W("{\"url\":\"https://h.example/b\",\"authorization\":{\"credentials\":\"<redacted>\"}}"),
     P ".webhook[0].authorization.credentials redacted_secret"},
    {W("{\"url\":\"https://h.example/b\",\"basic_auth\":{\"username\":\"a:b\","
       "\"password\":\"<redacted>\"}}"),
     P ".webhook[0].basic_auth.username invalid_value;" P
       ".webhook[0].basic_auth.password redacted_secret"},
    {W("{\"url\":\"https://h.example/b\",\"basic_auth\":{\"username\":\"u\"},"
       "\"authorization\":{\"credentials\":\"t\"}}"),
     P ".webhook[0] conflicting_fields"},
    {W("\"https://h.example/a\",{\"url\":\"https://h.example/a\"}"), P ".webhook[1] duplicate_url"},
    {A("{\"url\":\"http://127.0.0.1:9093\"}"), ""},
    {A("{\"url\":\"http://am.example:9093/\",\"resend_interval\":30,"
       "\"basic_auth\":{\"username\":\"u\",\"password\":\"p\"}}"),
     ""},
    {A("\"http://127.0.0.1:9093\""), P ".alertmanager[0] invalid_type"},
    {R("\"alertmanager\":{}"), P ".alertmanager invalid_type"},
    {A("{\"url\":\"http://a\",\"resend_interval\":0}"),
     P ".alertmanager[0].resend_interval invalid_value"},
    {A("{\"url\":\"http://a\",\"resend_interval\":3601}"),
     P ".alertmanager[0].resend_interval invalid_value"},
    {A("{\"url\":\"http://a\",\"max_alerts\":3}"), P ".alertmanager[0].max_alerts unknown_field"},
    {A("{\"url\":\"http://a\"},{\"url\":\"http://a\"}"), P ".alertmanager[1] duplicate_url"},
};

Test(receiver_endpoints, each_problem_names_its_path_and_code)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_error_t error;
        json_t *doc = json_loads(cases[i].doc, 0, &error);
        cr_assert_not_null(doc, "case %zu: %s", i, error.text);
        const json_t *list = NULL;
        json_t *problems = receiver_doc_parse(doc, &list);
        char got[1024];
        describe(problems, got, sizeof(got));
        cr_expect_str_eq(got, cases[i].want, "case %zu: %s", i, cases[i].doc);
        cr_expect(problems != NULL || list != NULL, "case %zu: no list", i);
        json_decref(problems);
        json_decref(doc);
    }
}

static const char doc_text[] =
    "{\"receivers\":[{\"name\":\"ops\",\"email\":[\"a@b.example\"],\"webhook\":["
    "\"https://h.example/a\",{\"url\":\"https://h.example/b\",\"send_resolved\":false,"
    "\"max_alerts\":5,\"authorization\":{\"credentials\":\"tok\"}}],"
    "\"alertmanager\":[{\"url\":\"http://am:9093\",\"basic_auth\":{\"username\":\"u\","
    "\"password\":\"pw\"}}]}]}";

static json_t *checked(json_t **doc)
{
    *doc = json_loads(doc_text, 0, NULL);
    const json_t *list = NULL;
    json_t *problems = receiver_doc_parse(*doc, &list);
    cr_assert_null(problems);
    return (json_t *)list;
}

Test(receiver_endpoints, rows_and_plain_lists)
{
    json_t *doc;
    json_t *list = checked(&doc);
    json_t *rows = receiver_endpoints_rows(list);
    cr_assert_eq(json_array_size(rows), 3);
    json_t *want =
        json_loads("[{\"receiver\":\"ops\",\"kind\":\"webhook\",\"url\":\"https://h.example/a\","
                   "\"position\":0,\"send_resolved\":null,\"max_alerts\":0,\"resend_interval\":60},"
                   "{\"receiver\":\"ops\",\"kind\":\"webhook\",\"url\":\"https://h.example/b\","
                   "\"position\":1,\"send_resolved\":false,\"max_alerts\":5,\"resend_interval\":60,"
                   "\"auth_type\":\"bearer\",\"auth_secret\":\"tok\"},"
                   "{\"receiver\":\"ops\",\"kind\":\"alertmanager\",\"url\":\"http://am:9093\","
                   "\"position\":0,\"send_resolved\":null,\"max_alerts\":0,\"resend_interval\":60,"
                   "\"auth_type\":\"basic\",\"auth_username\":\"u\",\"auth_secret\":\"pw\"}]",
                   0, NULL);
    cr_expect(json_equal(rows, want), "rows %s", json_dumps(rows, JSON_COMPACT));
    json_decref(want);
    json_t *plain = receiver_endpoints_plain(list);
    want = json_loads("[{\"name\":\"ops\",\"email\":[\"a@b.example\"],\"webhook\":["
                      "\"https://h.example/a\",\"https://h.example/b\"]}]",
                      0, NULL);
    cr_expect(json_equal(plain, want), "plain %s", json_dumps(plain, JSON_COMPACT));
    json_decref(want);
    json_decref(plain);
    json_decref(rows);
    json_decref(doc);
}

/* GET receivers: the options shown, the secrets never. */
Test(receiver_endpoints, shown_redacted)
{
    json_t *doc;
    json_t *list = checked(&doc);
    json_t *rows = receiver_endpoints_rows(list);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) json_object_del(row, "auth_secret");
    json_t *stored = receiver_endpoints_plain(list);
    receiver_endpoints_show(stored, rows);
    char *text = json_dumps(stored, JSON_COMPACT);
    cr_expect_str_eq(text, "[{\"name\":\"ops\",\"email\":[\"a@b.example\"],\"webhook\":["
                           "\"https://h.example/a\",{\"url\":\"https://h.example/b\","
                           "\"send_resolved\":false,\"max_alerts\":5,\"authorization\":"
                           "{\"type\":\"Bearer\",\"credentials\":\"<redacted>\"}}],"
                           "\"alertmanager\":[{\"url\":\"http://am:9093\",\"resend_interval\":60,"
                           "\"basic_auth\":{\"username\":\"u\",\"password\":\"<redacted>\"}}]}]");
    cr_expect_null(strstr(text, "tok"));
    cr_expect_null(strstr(text, "pw"));
    free(text);
    json_decref(stored);
    json_decref(rows);
    json_decref(doc);
}

Test(receiver_endpoints, authorization_header_line)
{
    char buf[200];
    cr_expect(receiver_endpoints_authorization("bearer", NULL, "tok", buf, sizeof(buf)));
    cr_expect_str_eq(buf, "Authorization: Bearer tok");
    cr_expect(
        receiver_endpoints_authorization("basic", "Aladdin", "open sesame", buf, sizeof(buf)));
    cr_expect_str_eq(buf, "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="); /* RFC 7617 */
    cr_expect(receiver_endpoints_authorization("basic", "u", "pw", buf, sizeof(buf)));
    cr_expect_str_eq(buf, "Authorization: Basic dTpwdw==");
    cr_expect_not(receiver_endpoints_authorization(NULL, NULL, NULL, buf, sizeof(buf)));
    cr_expect_str_eq(buf, "");
    cr_expect_not(receiver_endpoints_authorization("digest", "u", "pw", buf, sizeof(buf)));
    cr_expect_not(receiver_endpoints_authorization("basic", NULL, "pw", buf, sizeof(buf)));
    /* too long for the buffer: nothing rather than half a secret */
    cr_expect_not(receiver_endpoints_authorization("bearer", NULL, "tok", buf, 20));
    cr_expect_str_eq(buf, "");
    cr_expect_not(receiver_endpoints_authorization("basic", "u", "pw", buf, 24));
    cr_expect_str_eq(buf, "");
}
