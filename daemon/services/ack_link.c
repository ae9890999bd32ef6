/* One-click acknowledgement (ack_link.h): the process-wide link key, read or generated at
 * start-up and never changed after, the tokens signed with it, and the acknowledgement of a
 * token's alerts through storage/ack_store.c. */
#include "scaleupd/services/ack_link.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scaleupd/core/config.h"
#include "scaleupd/core/log.h"
#include "scaleupd/storage/ack_store.h"
#include "scaleupd/storage/db.h"

#define KEY_MAX 128

/* Written once by ack_link_start before any thread starts, read only after. */
static unsigned char link_key[KEY_MAX];
static size_t link_key_len;

static const char *why(int err, char *buf, size_t size)
{
    if (strerror_r(err, buf, size) != 0)
        snprintf(buf, size, "error %d", err);
    return buf;
}

/* Creates the key file with a new key; false when it exists (or on error, logged). */
static bool key_create(const char *path, bool *exists)
{
    unsigned char raw[32];
    char hex[65], err[128];
    *exists = false;
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return false;
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        *exists = errno == EEXIST;
        if (!*exists)
            log_warning("could not create the link key %s: %s", path, why(errno, err, sizeof(err)));
        return false;
    }
    bool ok = write(fd, hex, 64) == 64 && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    close(fd);
    if (!ok)
        log_warning("could not write the link key %s", path);
    else
        log_info("created the link key of one-click acknowledgements in %s", path);
    return ok;
}

static bool key_read(const char *path)
{
    char hex[2 * KEY_MAX + 2], err[128];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        log_warning("could not read the link key %s: %s", path, why(errno, err, sizeof(err)));
        return false;
    }
    ssize_t n = read(fd, hex, sizeof(hex) - 1);
    close(fd);
    hex[n > 0 ? n : 0] = '\0';
    hex[strcspn(hex, "\r\n")] = '\0';
    if (!ack_token_key_from_hex(hex, link_key, sizeof(link_key), &link_key_len)) {
        log_warning("could not use the link key %s: not hex of 32 to %d bytes", path, KEY_MAX);
        return false;
    }
    return true;
}

bool ack_link_start(const struct config *config)
{
    link_key_len = 0;
    if (config->ack_key[0] != '\0') {
        if (ack_token_key_from_hex(config->ack_key, link_key, sizeof(link_key), &link_key_len))
            return true;
        log_warning("[links] ack_key is not hex of 32 to %d bytes: e-mails carry no "
                    "one-click acknowledgement",
                    KEY_MAX);
        return false;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", config->state_directory, ACK_LINK_KEY_FILE);
    (void)mkdir(config->state_directory, 0700);
    bool exists = false;
    if (key_create(path, &exists) || exists) {
        if (key_read(path))
            return true;
    }
    link_key_len = 0;
    log_warning("no link key in %s: e-mails carry no one-click acknowledgement",
                config->state_directory);
    return false;
}

bool ack_link_enabled(void)
{
    return link_key_len > 0;
}

bool ack_link_token(int64_t programme_id, const long long *alerts, size_t n, const char *who,
                    double now, int ttl, char *buf, size_t size)
{
    static struct ack_claim empty;
    struct ack_claim claim = empty;
    if (!ack_link_enabled() || n == 0 || strlen(who) > ACK_TOKEN_WHO_MAX)
        return false;
    claim.programme_id = (long long)programme_id;
    claim.expires_at = (long long)now + ttl;
    claim.n_alerts = n < ACK_TOKEN_ALERTS_MAX ? n : ACK_TOKEN_ALERTS_MAX;
    memcpy(claim.alerts, alerts, claim.n_alerts * sizeof(*alerts));
    memcpy(claim.who, who, strlen(who) + 1);
    return ack_token_sign(link_key, link_key_len, &claim, buf, size);
}

enum ack_link_status ack_link_check(const char *token, double now, struct ack_claim *claim)
{
    if (!ack_link_enabled())
        return ACK_LINK_DISABLED;
    switch (ack_token_verify(link_key, link_key_len, token, now, claim)) {
    case ACK_TOKEN_OK:
        return ACK_LINK_OK;
    case ACK_TOKEN_EXPIRED:
        return ACK_LINK_EXPIRED;
    case ACK_TOKEN_FORGED:
        return ACK_LINK_FORGED;
    case ACK_TOKEN_MALFORMED:
        break;
    }
    return ACK_LINK_MALFORMED;
}

struct ack_run {
    const struct ack_claim *claim;
    double now;
    size_t acked;
};

/* Acknowledges the alerts of the claim in one statement, as the claim's address, with the
 * link as the credential. */
static bool ack_each(PGconn *conn, void *arg)
{
    struct ack_run *run = arg;
    struct ack_by by = {.person = run->claim->who, .comment = NULL, .token = "e-mail link"};
    int64_t ids[ACK_TOKEN_ALERTS_MAX];
    size_t n =
        run->claim->n_alerts < ACK_TOKEN_ALERTS_MAX ? run->claim->n_alerts : ACK_TOKEN_ALERTS_MAX;
    for (size_t i = 0; i < n; i++)
        ids[i] = (int64_t)run->claim->alerts[i];
    return alerts_ack_ids(conn, ids, n, &by, run->now, &run->acked) != ALERTS_DB_ERROR;
}

enum ack_link_status ack_link_acknowledge(PGconn *conn, const char *token, double now,
                                          struct ack_claim *claim, size_t *acked)
{
    *acked = 0;
    enum ack_link_status status = ack_link_check(token, now, claim);
    if (status != ACK_LINK_OK)
        return status;
    struct ack_run run = {.claim = claim, .now = now};
    if (!db_transaction(conn, NULL, ack_each, &run))
        return ACK_LINK_DB_ERROR;
    *acked = run.acked;
    return run.acked > 0 ? ACK_LINK_OK : ACK_LINK_GONE;
}
