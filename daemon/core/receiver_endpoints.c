/* Receivers' webhooks and Alertmanagers (receiver_endpoints.h): the check of their options
 * and credentials, the rows storage keeps, the plain URL lists of the receiver table, and
 * the redacted view GET receivers answers. */
#include "scaleupd/core/receiver_endpoints.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "scaleupd/core/am_webhook.h"
#include "scaleupd/core/problems.h"

/* The same rule as receiver_doc.c's webhook URLs: http(s), no bytes that split a header. */
static bool valid_url(const char *s)
{
    if (s == NULL || strlen(s) >= 512 || strpbrk(s, "\r\n<> ,") != NULL)
        return false;
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* Printable ASCII of 1 to max bytes (space allowed when with_space), none of except. */
static bool valid_token(const char *s, size_t max, bool with_space, const char *except)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c > 0x7e || c < (with_space ? 0x20 : 0x21) || (except && strchr(except, c)))
            return false;
    }
    return true;
}

/* A secret: a string, not the redaction GET shows. */
static void check_secret(const json_t *v, const char *path, bool with_space, json_t **problems)
{
    const char *s = json_string_value(v);
    if (s != NULL && strcmp(s, RECEIVER_SECRET_REDACTED) == 0)
        problems_add(problems, path, "redacted_secret",
                     "give the secret itself: GET receivers never shows it");
    else if (!valid_token(s, RECEIVER_SECRET_MAX, with_space, NULL))
        problems_add(problems, path, "invalid_value",
                     "a secret is 1 to %d printable ASCII characters", RECEIVER_SECRET_MAX);
}

/* Problems for each key of obj not in allowed (a NULL-terminated list). */
static void check_keys(const json_t *obj, const char *base, const char *const *allowed,
                       json_t **problems)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        bool known = false;
        for (const char *const *a = allowed; *a && !known; a++)
            known = strcmp(*a, key) == 0;
        if (known)
            continue;
        char path[160];
        snprintf(path, sizeof(path), "%s.%.40s", base, key);
        problems_add(problems, path, "unknown_field", "unknown field \"%.40s\"", key);
    }
}

static void check_bearer(const json_t *auth, const char *base, json_t **problems)
{
    static const char *const keys[] = {"type", "credentials", NULL};
    char path[160];
    snprintf(path, sizeof(path), "%s.authorization", base);
    if (!json_is_object(auth)) {
        problems_add(problems, path, "invalid_type", "authorization is an object");
        return;
    }
    check_keys(auth, path, keys, problems);
    const json_t *type = json_object_get(auth, "type");
    snprintf(path, sizeof(path), "%s.authorization.type", base);
    if (type != NULL && (!json_is_string(type) || strcmp(json_string_value(type), "Bearer") != 0))
        problems_add(problems, path, "invalid_value",
                     "the authorization type is \"Bearer\" (for a user and password use "
                     "basic_auth)");
    snprintf(path, sizeof(path), "%s.authorization.credentials", base);
    check_secret(json_object_get(auth, "credentials"), path, false, problems);
}

static void check_basic(const json_t *auth, const char *base, json_t **problems)
{
    static const char *const keys[] = {"username", "password", NULL};
    char path[160];
    snprintf(path, sizeof(path), "%s.basic_auth", base);
    if (!json_is_object(auth)) {
        problems_add(problems, path, "invalid_type", "basic_auth is an object");
        return;
    }
    check_keys(auth, path, keys, problems);
    snprintf(path, sizeof(path), "%s.basic_auth.username", base);
    if (!valid_token(json_string_value(json_object_get(auth, "username")), 255, true, ":"))
        problems_add(problems, path, "invalid_value",
                     "a user name is 1 to 255 printable ASCII characters without ':'");
    snprintf(path, sizeof(path), "%s.basic_auth.password", base);
    check_secret(json_object_get(auth, "password"), path, true, problems);
}

/* The url and the credentials, shared by webhooks and Alertmanagers. */
static void check_common(const json_t *e, const char *base, json_t **problems)
{
    char path[160];
    snprintf(path, sizeof(path), "%s.url", base);
    if (!valid_url(json_string_value(json_object_get(e, "url"))))
        problems_add(problems, path, "invalid_url", "a URL must start with http:// or https://");
    const json_t *bearer = json_object_get(e, "authorization");
    const json_t *basic = json_object_get(e, "basic_auth");
    if (bearer != NULL && basic != NULL) {
        problems_add(problems, base, "conflicting_fields",
                     "give authorization or basic_auth, not both");
        return;
    }
    if (bearer != NULL)
        check_bearer(bearer, base, problems);
    if (basic != NULL)
        check_basic(basic, base, problems);
}

/* An optional integer of key in lo..hi. */
static void check_integer(const json_t *e, const char *base, const char *key, long long lo,
                          long long hi, json_t **problems)
{
    const json_t *v = json_object_get(e, key);
    if (v == NULL)
        return;
    char path[160];
    snprintf(path, sizeof(path), "%s.%s", base, key);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        problems_add(problems, path, "invalid_value", "%s is an integer from %lld to %lld", key, lo,
                     hi);
}

void receiver_endpoints_check_webhook(const json_t *w, size_t i, size_t j, json_t **problems)
{
    static const char *const keys[] = {"url",           "send_resolved", "max_alerts",
                                       "authorization", "basic_auth",    NULL};
    char base[96];
    snprintf(base, sizeof(base), "$.receivers[%zu].webhook[%zu]", i, j);
    check_keys(w, base, keys, problems);
    check_common(w, base, problems);
    const json_t *send_resolved = json_object_get(w, "send_resolved");
    if (send_resolved != NULL && !json_is_boolean(send_resolved)) {
        char path[128];
        snprintf(path, sizeof(path), "%s.send_resolved", base);
        problems_add(problems, path, "invalid_type", "send_resolved is true or false");
    }
    check_integer(w, base, "max_alerts", 0, AM_WEBHOOK_MAX_ALERTS, problems);
}

static void check_alertmanager(const json_t *a, size_t i, size_t j, json_t **problems)
{
    static const char *const keys[] = {"url", "resend_interval", "authorization", "basic_auth",
                                       NULL};
    char base[96];
    snprintf(base, sizeof(base), "$.receivers[%zu].alertmanager[%zu]", i, j);
    if (!json_is_object(a)) {
        problems_add(problems, base, "invalid_type",
                     "an Alertmanager is an object with its \"url\"");
        return;
    }
    check_keys(a, base, keys, problems);
    check_common(a, base, problems);
    check_integer(a, base, "resend_interval", RECEIVER_RESEND_MIN, RECEIVER_RESEND_MAX, problems);
}

/* The URL of an entry: the string itself or its "url". */
static const char *entry_url(const json_t *entry)
{
    return json_is_string(entry) ? json_string_value(entry)
                                 : json_string_value(json_object_get(entry, "url"));
}

/* A problem when two entries of receiver i's list key share a URL. */
static void check_duplicates(const json_t *list, size_t i, const char *key, json_t **problems)
{
    json_t *seen = json_object();
    size_t j;
    const json_t *entry;
    json_array_foreach(list, j, entry)
    {
        const char *url = entry_url(entry);
        if (url == NULL)
            continue;
        if (json_object_get(seen, url) != NULL) {
            char path[96];
            snprintf(path, sizeof(path), "$.receivers[%zu].%s[%zu]", i, key, j);
            problems_add(problems, path, "duplicate_url", "this URL is listed twice");
        }
        json_object_set_new(seen, url, json_true());
    }
    json_decref(seen);
}

void receiver_endpoints_check(const json_t *r, size_t i, json_t **problems)
{
    const json_t *webhooks = json_object_get(r, "webhook");
    if (json_is_array(webhooks))
        check_duplicates(webhooks, i, "webhook", problems);
    const json_t *list = json_object_get(r, "alertmanager");
    if (list == NULL)
        return;
    if (!json_is_array(list)) {
        char path[96];
        snprintf(path, sizeof(path), "$.receivers[%zu].alertmanager", i);
        problems_add(problems, path, "invalid_type", "alertmanager must be an array of objects");
        return;
    }
    size_t j;
    const json_t *a;
    json_array_foreach(list, j, a) check_alertmanager(a, i, j, problems);
    check_duplicates(list, i, "alertmanager", problems);
}

/* The storage row of one checked entry. */
static json_t *endpoint_row(const char *receiver, const char *kind, size_t position,
                            const json_t *entry)
{
    bool object = json_is_object(entry);
    const json_t *bearer = object ? json_object_get(entry, "authorization") : NULL;
    const json_t *basic = object ? json_object_get(entry, "basic_auth") : NULL;
    const json_t *send_resolved = object ? json_object_get(entry, "send_resolved") : NULL;
    const json_t *max_alerts = object ? json_object_get(entry, "max_alerts") : NULL;
    const json_t *resend = object ? json_object_get(entry, "resend_interval") : NULL;
    json_t *row =
        json_pack("{s:s,s:s,s:s,s:I,s:O,s:I,s:I}", "receiver", receiver, "kind", kind, "url",
                  entry_url(entry), "position", (json_int_t)position, "send_resolved",
                  send_resolved ? send_resolved : json_null(), "max_alerts",
                  max_alerts ? json_integer_value(max_alerts) : 0, "resend_interval",
                  resend ? json_integer_value(resend) : RECEIVER_RESEND_DEFAULT);
    if (bearer != NULL) {
        json_object_set_new(row, "auth_type", json_string("bearer"));
        json_object_set(row, "auth_secret", json_object_get(bearer, "credentials"));
    } else if (basic != NULL) {
        json_object_set_new(row, "auth_type", json_string("basic"));
        json_object_set(row, "auth_username", json_object_get(basic, "username"));
        json_object_set(row, "auth_secret", json_object_get(basic, "password"));
    }
    return row;
}

json_t *receiver_endpoints_rows(const json_t *receivers)
{
    json_t *rows = json_array();
    size_t i;
    const json_t *r;
    json_array_foreach(receivers, i, r)
    {
        const char *name = json_string_value(json_object_get(r, "name"));
        static const char *const kinds[] = {"webhook", "alertmanager"};
        for (size_t k = 0; k < 2; k++) {
            size_t j;
            const json_t *entry;
            json_array_foreach(json_object_get(r, kinds[k]), j, entry)
                json_array_append_new(rows, endpoint_row(name, kinds[k], j, entry));
        }
    }
    return rows;
}

json_t *receiver_endpoints_plain(const json_t *receivers)
{
    json_t *plain = json_deep_copy(receivers);
    size_t i;
    json_t *r;
    json_array_foreach(plain, i, r)
    {
        json_object_del(r, "alertmanager");
        json_t *webhooks = json_object_get(r, "webhook");
        size_t j;
        json_t *entry;
        json_array_foreach(webhooks, j, entry)
        {
            if (json_is_object(entry))
                json_array_set_new(webhooks, j, json_string(entry_url(entry)));
        }
    }
    return plain;
}

/* The object GET shows for a stored row, its secret redacted. */
static json_t *shown(const json_t *row, bool webhook)
{
    json_t *e = json_pack("{s:O}", "url", json_object_get(row, "url"));
    const char *auth = json_string_value(json_object_get(row, "auth_type"));
    if (webhook) {
        json_t *send_resolved = json_object_get(row, "send_resolved");
        if (json_is_boolean(send_resolved))
            json_object_set(e, "send_resolved", send_resolved);
        json_object_set(e, "max_alerts", json_object_get(row, "max_alerts"));
    } else {
        json_object_set(e, "resend_interval", json_object_get(row, "resend_interval"));
    }
    if (auth != NULL && strcmp(auth, "bearer") == 0)
        json_object_set_new(
            e, "authorization",
            json_pack("{s:s,s:s}", "type", "Bearer", "credentials", RECEIVER_SECRET_REDACTED));
    else if (auth != NULL)
        json_object_set_new(e, "basic_auth",
                            json_pack("{s:O,s:s}", "username",
                                      json_object_get(row, "auth_username"), "password",
                                      RECEIVER_SECRET_REDACTED));
    return e;
}

/* True when a webhook row carries anything a plain URL does not. */
static bool has_options(const json_t *row)
{
    return json_is_boolean(json_object_get(row, "send_resolved")) ||
           json_integer_value(json_object_get(row, "max_alerts")) != 0 ||
           json_is_string(json_object_get(row, "auth_type"));
}

/* Puts row (of the receiver r) in its place. */
static void show_row(json_t *r, const json_t *row)
{
    bool webhook = strcmp(json_string_value(json_object_get(row, "kind")), "webhook") == 0;
    if (!webhook) {
        json_t *list = json_object_get(r, "alertmanager");
        if (list == NULL) {
            list = json_array();
            json_object_set_new(r, "alertmanager", list);
        }
        json_array_append_new(list, shown(row, false));
        return;
    }
    if (!has_options(row))
        return;
    json_t *webhooks = json_object_get(r, "webhook");
    const char *url = json_string_value(json_object_get(row, "url"));
    size_t j;
    json_t *entry;
    json_array_foreach(webhooks, j, entry)
    {
        if (json_is_string(entry) && strcmp(json_string_value(entry), url) == 0)
            json_array_set_new(webhooks, j, shown(row, true));
    }
}

void receiver_endpoints_show(json_t *receivers, const json_t *rows)
{
    size_t i, k;
    json_t *r;
    const json_t *row;
    json_array_foreach(receivers, i, r)
    {
        const char *name = json_string_value(json_object_get(r, "name"));
        json_array_foreach(rows, k, row)
        {
            const char *receiver = json_string_value(json_object_get(row, "receiver"));
            if (name != NULL && receiver != NULL && strcmp(name, receiver) == 0)
                show_row(r, row);
        }
    }
}

static const char base64_digits[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* base64 (RFC 4648, padded) of n bytes of s at out; false when it does not fit in size. */
static bool base64(const unsigned char *s, size_t n, char *out, size_t size)
{
    if ((n + 2) / 3 * 4 >= size)
        return false;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16;
        v |= i + 1 < n ? (unsigned)s[i + 1] << 8 : 0;
        v |= i + 2 < n ? (unsigned)s[i + 2] : 0;
        out[o++] = base64_digits[(v >> 18) & 63];
        out[o++] = base64_digits[(v >> 12) & 63];
        out[o++] = i + 1 < n ? base64_digits[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? base64_digits[v & 63] : '=';
    }
    out[o] = '\0';
    return true;
}

bool receiver_endpoints_authorization(const char *type, const char *username, const char *secret,
                                      char *buf, size_t size)
{
    if (size > 0)
        buf[0] = '\0';
    if (type == NULL || secret == NULL || size == 0)
        return false;
    int n = -1;
    if (strcmp(type, "bearer") == 0) {
        n = snprintf(buf, size, "Authorization: Bearer %s", secret);
    } else if (strcmp(type, "basic") == 0 && username != NULL) {
        char pair[RECEIVER_SECRET_MAX + 300];
        int m = snprintf(pair, sizeof(pair), "%s:%s", username, secret);
        static const char prefix[] = "Authorization: Basic ";
        n = (int)sizeof(prefix) - 1;
        bool ok = m > 0 && (size_t)m < sizeof(pair) && (size_t)n < size &&
                  base64((const unsigned char *)pair, (size_t)m, buf + n, size - (size_t)n);
        memset(pair, 0, sizeof(pair));
        if (ok)
            memcpy(buf, prefix, (size_t)n);
        n = ok ? n : -1;
    }
    if (n < 0 || (size_t)n >= size) {
        buf[0] = '\0';
        return false;
    }
    return true;
}
