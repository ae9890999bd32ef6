/* Alertmanager's webhook payload, version 4 (docs/ARCHITECTURE.md, notification and
 * delivery): the JSON body a webhook receiver is POSTed for one alert group. Pure. */
#ifndef SCALEUPD_AM_WEBHOOK_H
#define SCALEUPD_AM_WEBHOOK_H

#include <jansson.h>
#include <stddef.h>

#include "scaleupd/core/notify_render.h"

/* Alertmanager's webhook payload, version 4. group_key identifies the group. The caller
 * owns the result. */
json_t *am_webhook_payload(const struct notify_group *group, const char *group_key);

/* The same payload as compact JSON text, as it is POSTed. The caller frees it; NULL when
 * over NOTIFY_RENDER_MAX. */
char *am_webhook_body(const struct notify_group *group, const char *group_key);

/* The key of a group, "programme/receiver" (the webhook's groupKey). */
void am_webhook_group_key(const struct notify_group *group, char *buf, size_t size);

#endif
