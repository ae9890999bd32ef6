/* The credentials of an Authorization header (credentials.h): the scheme, and the token
 * carried as a bearer or API token, or as the password of HTTP Basic. */
#include "scaleupd/core/credentials.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

/* The value of a base64 character (RFC 4648, the standard alphabet), or -1. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes len characters of strict base64 (a multiple of 4, '=' only as the padding of the
 * last group) into out (room for size bytes); the decoded length, or -1. */
static long b64_decode(const char *in, size_t len, unsigned char *out, size_t size)
{
    if (len == 0 || len % 4 != 0)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)in[i + k];
            if (c == '=' && i + 4 == len && k >= 2 && (k == 3 || in[i + 3] == '=')) {
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad > 0 || (v[k] = b64_value(c)) < 0)
                return -1;
        }
        if ((pad == 2 && (v[1] & 15) != 0) || (pad == 1 && (v[2] & 3) != 0))
            return -1; /* bits beyond the last byte must be zero: one text per value */
        uint32_t group =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        unsigned char bytes[3] = {(unsigned char)(group >> 16), (unsigned char)(group >> 8),
                                  (unsigned char)group};
        for (int k = 0; k < 3 - pad; k++) {
            if (n >= size)
                return -1;
            out[n++] = bytes[k];
        }
    }
    return (long)n;
}

/* Copies a token of len bytes into secret: printable ASCII only, cut at the maximum (no
 * token of ours is that long: a cut one matches none, and is answered as an unknown token). */
static bool copy_secret(const char *token, size_t len, char secret[CREDENTIALS_SECRET_MAX])
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)token[i] <= ' ' || (unsigned char)token[i] >= 0x7f)
            return false;
    size_t n = len < CREDENTIALS_SECRET_MAX - 1 ? len : CREDENTIALS_SECRET_MAX - 1;
    memcpy(secret, token, n);
    secret[n] = '\0';
    return true;
}

/* The password of a Basic user-pass (base64 in value[0..len)) as the secret. */
static enum credentials_kind parse_basic(const char *value, size_t len,
                                         char secret[CREDENTIALS_SECRET_MAX])
{
    unsigned char pass[CREDENTIALS_SECRET_MAX * 2];
    long n = b64_decode(value, len, pass, sizeof(pass));
    const unsigned char *colon = n > 0 ? memchr(pass, ':', (size_t)n) : NULL;
    if (colon == NULL)
        return CREDENTIALS_MALFORMED;
    size_t at = (size_t)(colon - pass) + 1;
    /* a password that is no scaleupd token is another system's (a proxy's Basic login in
     * front of the dashboard): no credentials of ours, not a wrong token */
    size_t prefix = strlen(CREDENTIALS_TOKEN_PREFIX);
    if ((size_t)n - at < prefix || memcmp(pass + at, CREDENTIALS_TOKEN_PREFIX, prefix) != 0)
        return CREDENTIALS_NONE;
    return copy_secret((const char *)pass + at, (size_t)n - at, secret) ? CREDENTIALS_BASIC
                                                                        : CREDENTIALS_MALFORMED;
}

enum credentials_kind credentials_parse(const char *header, char secret[CREDENTIALS_SECRET_MAX])
{
    secret[0] = '\0';
    if (header == NULL)
        return CREDENTIALS_NONE;
    static const struct {
        const char *name;
        enum credentials_kind kind;
    } schemes[] = {{"Bearer", CREDENTIALS_BEARER},
                   {"ApiToken", CREDENTIALS_API_TOKEN},
                   {"Basic", CREDENTIALS_BASIC}};
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t n = strlen(schemes[i].name);
        if (strncasecmp(header, schemes[i].name, n) != 0 || (header[n] != ' ' && header[n] != '\0'))
            continue;
        const char *value = header + n;
        while (*value == ' ')
            value++;
        size_t len = strlen(value);
        while (len > 0 && value[len - 1] == ' ')
            len--;
        if (schemes[i].kind == CREDENTIALS_BASIC)
            return parse_basic(value, len, secret);
        return copy_secret(value, len, secret) ? schemes[i].kind : CREDENTIALS_MALFORMED;
    }
    return CREDENTIALS_NONE;
}

const char *credentials_scheme_name(enum credentials_kind kind)
{
    switch (kind) {
    case CREDENTIALS_BEARER:
        return "Bearer";
    case CREDENTIALS_API_TOKEN:
        return "ApiToken";
    case CREDENTIALS_BASIC:
        return "Basic";
    case CREDENTIALS_NONE:
    case CREDENTIALS_MALFORMED:
        break;
    }
    return "";
}
