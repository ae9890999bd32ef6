/* One-click acknowledgement from an e-mail (docs/ARCHITECTURE.md, notification and
 * delivery): the daemon's link key (from [links] ack_key, or generated once into
 * [links] state_directory), the signed tokens the e-mails carry (core/ack_token.h) and the
 * use case that checks one and acknowledges its alerts as the address it was sent to. */
#ifndef SCALEUPD_SERVICES_ACK_LINK_H
#define SCALEUPD_SERVICES_ACK_LINK_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/ack_token.h"

struct config;

/* The name of the key file in the state directory. */
#define ACK_LINK_KEY_FILE "ack-link.key"

/* Loads the link key, once at start-up before any thread: [links] ack_key when set, else
 * the state directory's key file, created (0600, 32 random bytes as hex) when missing. False
 * when there is none to be had (logged): e-mails then carry no one-click link. Daemons that
 * share a database must share the key (the same ack_key, or the same file). */
bool ack_link_start(const struct config *config);

/* Whether e-mails carry one-click links (a key was loaded). */
bool ack_link_enabled(void);

/* The token that acknowledges alerts[0..n) (the first ACK_TOKEN_ALERTS_MAX) of programme
 * as who, valid for ttl seconds from now, into buf (ACK_TOKEN_MAX bytes). False when links
 * are disabled or the claim cannot be signed. */
bool ack_link_token(int64_t programme_id, const long long *alerts, size_t n, const char *who,
                    double now, int ttl, char *buf, size_t size)
    __attribute__((warn_unused_result));

enum ack_link_status {
    ACK_LINK_OK,
    ACK_LINK_MALFORMED, /* not a token */
    ACK_LINK_FORGED,    /* not signed by this key */
    ACK_LINK_EXPIRED,
    ACK_LINK_DISABLED, /* the daemon has no key */
    ACK_LINK_GONE,     /* genuine, but none of its alerts exists or is open any more */
    ACK_LINK_DB_ERROR, /* db_failure_of(conn) says what kind */
};

/* Checks token at now without the database; *claim is read when the token is genuine. */
enum ack_link_status ack_link_check(const char *token, double now, struct ack_claim *claim)
    __attribute__((warn_unused_result));

/* Checks token and, in one transaction of its own, acknowledges each of its alerts as the
 * address in it (storage/ack_store.h; again moves the time); *acked counts those found.
 * Call it outside a transaction. */
enum ack_link_status ack_link_acknowledge(PGconn *conn, const char *token, double now,
                                          struct ack_claim *claim, size_t *acked)
    __attribute__((warn_unused_result));

#endif
