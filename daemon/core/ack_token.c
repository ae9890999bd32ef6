/* Signed acknowledgement tokens (ack_token.h): the claim as text lines, base64url, and its
 * HMAC-SHA256 with OpenSSL, compared in constant time. Pure: the key is given. */
#include "scaleupd/core/ack_token.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAC_SIZE 32
#define CLAIM_TEXT_MAX 1400 /* the longest claim text: 64 ids, the address, the numbers */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url of in[0..n) without padding into out (NUL-terminated); false when it does not
 * fit. */
static bool encode(const unsigned char *in, size_t n, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        size_t chars = n - i >= 3 ? 4 : n - i + 1;
        if (o + chars + 1 > size)
            return false;
        for (size_t c = 0; c < chars; c++)
            out[o++] = b64url[(v >> (18 - 6 * c)) & 63];
    }
    if (o + 1 > size)
        return false;
    out[o] = '\0';
    return true;
}

static int sextet(char c)
{
    const char *at = c ? strchr(b64url, c) : NULL;
    return at ? (int)(at - b64url) : -1;
}

/* Strict base64url (no padding, no stray bits) of in[0..n) into out; *len set. */
static bool decode(const char *in, size_t n, unsigned char *out, size_t size, size_t *len)
{
    if (n % 4 == 1)
        return false;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        size_t chars = n - i >= 4 ? 4 : n - i;
        unsigned v = 0;
        for (size_t c = 0; c < 4; c++) {
            int s = c < chars ? sextet(in[i + c]) : 0;
            if (s < 0)
                return false;
            v = v << 6 | (unsigned)s;
        }
        size_t bytes = chars - 1;
        if (o + bytes > size || (bytes < 3 && (v & (0xffffffu >> (8 * bytes))) != 0))
            return false;
        for (size_t b = 0; b < bytes; b++)
            out[o++] = (unsigned char)(v >> (16 - 8 * b));
    }
    *len = o;
    return true;
}

static bool mac(const unsigned char *key, size_t key_len, const char *text, size_t n,
                unsigned char out[MAC_SIZE])
{
    unsigned int out_len = 0;
    return HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)text, n, out, &out_len) !=
               NULL &&
           out_len == MAC_SIZE;
}

/* "1\n{programme}\n{expires}\n{id,id,...}\n{who}" */
static bool claim_text(const struct ack_claim *c, char *buf, size_t size)
{
    int n = snprintf(buf, size, "1\n%lld\n%lld\n", c->programme_id, c->expires_at);
    for (size_t i = 0; n > 0 && (size_t)n < size && i < c->n_alerts; i++)
        n += snprintf(buf + n, size - (size_t)n, "%s%lld", i ? "," : "", c->alerts[i]);
    if (n > 0 && (size_t)n < size)
        n += snprintf(buf + n, size - (size_t)n, "\n%s", c->who);
    return n > 0 && (size_t)n < size;
}

bool ack_token_sign(const unsigned char *key, size_t key_len, const struct ack_claim *claim,
                    char *buf, size_t size)
{
    char text[CLAIM_TEXT_MAX];
    unsigned char sig[MAC_SIZE];
    if (key_len < ACK_TOKEN_KEY_MIN || claim->n_alerts == 0 ||
        claim->n_alerts > ACK_TOKEN_ALERTS_MAX || strpbrk(claim->who, "\r\n") != NULL ||
        strlen(claim->who) > ACK_TOKEN_WHO_MAX || !claim_text(claim, text, sizeof(text)))
        return false;
    if (!encode((const unsigned char *)text, strlen(text), buf, size))
        return false;
    size_t head = strlen(buf);
    if (head + 2 > size || !mac(key, key_len, buf, head, sig))
        return false;
    buf[head] = '.';
    return encode(sig, sizeof(sig), buf + head + 1, size - head - 1);
}

/* A decimal integer of s up to the character end; false unless it is all digits. */
static bool whole(const char *s, char end, long long *out, const char **next)
{
    char *stop;
    errno = 0;
    long long v = strtoll(s, &stop, 10);
    if (errno != 0 || stop == s || *stop != end || (*s < '0' || *s > '9'))
        return false;
    *out = v;
    *next = stop + 1;
    return true;
}

/* Parses the claim text (NUL-terminated) into *c. */
static bool claim_parse(const char *s, struct ack_claim *c)
{
    memset(c, 0, sizeof(*c));
    if (strncmp(s, "1\n", 2) != 0)
        return false;
    s += 2;
    if (!whole(s, '\n', &c->programme_id, &s) || !whole(s, '\n', &c->expires_at, &s))
        return false;
    for (;;) {
        if (c->n_alerts == ACK_TOKEN_ALERTS_MAX)
            return false;
        const char *next;
        long long id;
        bool last = whole(s, '\n', &id, &next);
        if (!last && !whole(s, ',', &id, &next))
            return false;
        c->alerts[c->n_alerts++] = id;
        s = next;
        if (last)
            break;
    }
    if (strlen(s) > ACK_TOKEN_WHO_MAX || strchr(s, '\n') != NULL)
        return false;
    memcpy(c->who, s, strlen(s) + 1);
    return true;
}

enum ack_token_status ack_token_verify(const unsigned char *key, size_t key_len, const char *token,
                                       double now, struct ack_claim *claim)
{
    const char *dot = token ? strchr(token, '.') : NULL;
    unsigned char sig[MAC_SIZE + 3], want[MAC_SIZE];
    char text[CLAIM_TEXT_MAX + 1];
    size_t sig_len = 0, text_len = 0, head = dot ? (size_t)(dot - token) : 0;
    if (dot == NULL || strlen(token) >= ACK_TOKEN_MAX ||
        !decode(dot + 1, strlen(dot + 1), sig, sizeof(sig), &sig_len) || sig_len != MAC_SIZE)
        return ACK_TOKEN_MALFORMED;
    if (key_len < ACK_TOKEN_KEY_MIN || !mac(key, key_len, token, head, want) ||
        CRYPTO_memcmp(sig, want, MAC_SIZE) != 0)
        return ACK_TOKEN_FORGED;
    if (!decode(token, head, (unsigned char *)text, sizeof(text) - 1, &text_len))
        return ACK_TOKEN_MALFORMED;
    text[text_len] = '\0';
    if (strlen(text) != text_len || !claim_parse(text, claim))
        return ACK_TOKEN_MALFORMED;
    return now > (double)claim->expires_at ? ACK_TOKEN_EXPIRED : ACK_TOKEN_OK;
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool ack_token_key_from_hex(const char *hex, unsigned char *key, size_t size, size_t *len)
{
    size_t n = strlen(hex);
    if (n % 2 != 0 || n / 2 < ACK_TOKEN_KEY_MIN || n / 2 > size)
        return false;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        key[i] = (unsigned char)(hi << 4 | lo);
    }
    *len = n / 2;
    return true;
}
