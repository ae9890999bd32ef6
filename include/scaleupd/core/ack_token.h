/* One-click acknowledgement links (docs/ARCHITECTURE.md, notification and delivery): a
 * token that names the alerts of one incident, the address it was sent to and when it
 * expires, signed with HMAC-SHA256 under the daemon's link key, so that whoever holds the
 * e-mail can acknowledge that incident without a login, and nobody can make one up.
 * Text: base64url(claim) "." base64url(HMAC-SHA256(key, first part)), no padding. */
#ifndef SCALEUPD_ACK_TOKEN_H
#define SCALEUPD_ACK_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define ACK_TOKEN_ALERTS_MAX 64 /* alerts one token acknowledges */
#define ACK_TOKEN_WHO_MAX 320   /* bytes of the address (RFC 5321's longest path) */
#define ACK_TOKEN_MAX 2048      /* bytes of the longest token text, with its NUL */
#define ACK_TOKEN_KEY_MIN 32    /* bytes a key must have */

struct ack_claim {
    long long programme_id;
    long long expires_at; /* seconds since 1970 */
    long long alerts[ACK_TOKEN_ALERTS_MAX];
    size_t n_alerts;                 /* 1 .. ACK_TOKEN_ALERTS_MAX */
    char who[ACK_TOKEN_WHO_MAX + 1]; /* the receiver's address: who acknowledges */
};

enum ack_token_status {
    ACK_TOKEN_OK,
    ACK_TOKEN_MALFORMED, /* not a token at all */
    ACK_TOKEN_FORGED,    /* the signature does not match: altered, or another key's */
    ACK_TOKEN_EXPIRED,   /* genuine, but past expires_at */
};

/* Writes the token of claim into buf (size bytes, ACK_TOKEN_MAX is always enough). False
 * when the claim is not valid (no alert, too many, an address with a newline or too long) or
 * the key is shorter than ACK_TOKEN_KEY_MIN. */
bool ack_token_sign(const unsigned char *key, size_t key_len, const struct ack_claim *claim,
                    char *buf, size_t size) __attribute__((warn_unused_result));

/* Checks token under key at now (seconds since 1970) and, when it is genuine (OK or
 * EXPIRED), reads its claim into *claim. The signature is compared in constant time before
 * the claim is read. */
enum ack_token_status ack_token_verify(const unsigned char *key, size_t key_len, const char *token,
                                       double now, struct ack_claim *claim)
    __attribute__((warn_unused_result));

/* Reads a key written as hex (at least ACK_TOKEN_KEY_MIN bytes, at most size) into key;
 * *len is set. False when the text is not such hex. */
bool ack_token_key_from_hex(const char *hex, unsigned char *key, size_t size, size_t *len)
    __attribute__((warn_unused_result));

#endif
