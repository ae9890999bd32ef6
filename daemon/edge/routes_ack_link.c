/* One-click acknowledgement from an e-mail (services/ack_link.h), public: GET /ack?token=…
 * shows a small page and acknowledges nothing (mail scanners and link previews fetch GETs);
 * the page POSTs the same URL as soon as it loads (a button when scripts are off), and
 * POST acknowledges. An expired, forged or malformed token gets a page that says so (4xx). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scaleupd/core/clock.h"
#include "scaleupd/core/config.h"
#include "scaleupd/core/dynbuf.h"
#include "scaleupd/edge/app.h"
#include "scaleupd/edge/handlers.h"
#include "scaleupd/services/ack_link.h"

#define PAGE_MAX ((size_t)64 * 1024)

static void escaped(struct dynbuf *b, const char *s)
{
    for (; s && *s; s++) {
        const char *e = *s == '<'   ? "&lt;"
                        : *s == '>' ? "&gt;"
                        : *s == '&' ? "&amp;"
                        : *s == '"' ? "&quot;"
                                    : NULL;
        bool ok = e ? dynbuf_addstr(b, e) : dynbuf_add(b, s, 1);
        if (!ok)
            return;
    }
}

static void page_start(struct dynbuf *b, const char *title)
{
    dynbuf_init(b, PAGE_MAX);
    if (!dynbuf_addstr(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                          "<meta name=\"referrer\" content=\"no-referrer\"><title>"))
        return;
    escaped(b, title);
    if (!dynbuf_addstr(b, " \xe2\x80\x94 scaleupd</title></head>\n<body style=\"font-family:Arial,"
                          "Helvetica,sans-serif;max-width:560px;margin:40px auto;padding:0 16px;"
                          "color:#1f2933;line-height:1.45\">\n<main id=\"ack\">\n<h1>"))
        return;
    escaped(b, title);
    if (!dynbuf_addstr(b, "</h1>\n"))
        return;
}

/* Ends the page with a link to the dashboard's alerts and replies with it. */
static void page_reply(struct request *req, struct dynbuf *b, int status, const char *state)
{
    const char *base = req->config->base_url;
    size_t len = strlen(base);
    if (dynbuf_addf(b, "<p><a href=\"%.*s/#/alerts\">Open the alerts in the dashboard</a></p>\n",
                    (int)(len > 0 && base[len - 1] == '/' ? len - 1 : len), base) &&
        dynbuf_addf(b,
                    "</main>\n<script>document.getElementById(\"ack\").dataset.state = \"%s\";"
                    "</script>\n</body></html>\n",
                    state)) {
        size_t n = 0;
        char *body = dynbuf_take(b, &n);
        request_add_response_header(req, "Cache-Control", "no-store");
        request_reply_raw(req, status, "text/html; charset=utf-8", body, n);
        return;
    }
    dynbuf_free(b);
    request_reply_error(req, 500, "page_too_large", "the page could not be written");
}

/* The page of a token that does not work: 400 malformed, 403 forged, 410 expired, 404 gone,
 * 503 when the daemon has no key. */
static void refuse(struct request *req, enum ack_link_status status, const struct ack_claim *c)
{
    struct dynbuf b;
    char date[64] = "";
    time_t t = (time_t)c->expires_at;
    struct tm tm;
    if (status == ACK_LINK_EXPIRED && gmtime_r(&t, &tm) != NULL)
        strftime(date, sizeof(date), "%d %b %Y %H:%M UTC", &tm);
    static const struct {
        int status;
        const char *title, *text, *state;
    } pages[] = {
        [ACK_LINK_MALFORMED] = {400, "Not an acknowledgement link",
                                "This address is not a whole acknowledgement link: copy the "
                                "whole link from the e-mail, or acknowledge in the dashboard.",
                                "malformed"},
        [ACK_LINK_FORGED] = {403, "This link is not valid",
                             "This link was altered, or made by another scaleupd: nothing was "
                             "acknowledged.",
                             "forged"},
        [ACK_LINK_EXPIRED] = {410, "This link has expired",
                              "Acknowledgement links work for a limited time; this one expired "
                              "on ",
                              "expired"},
        [ACK_LINK_GONE] = {404, "Nothing to acknowledge",
                           "The alerts of this link have resolved or no longer exist.", "gone"},
        [ACK_LINK_DISABLED] = {503, "Links are off",
                               "This scaleupd has no key for acknowledgement links.", "disabled"},
    };
    page_start(&b, pages[status].title);
    bool ok = dynbuf_addf(&b, "<p id=\"ack-refused\">%s%s%s</p>\n", pages[status].text, date,
                          date[0] ? ". Acknowledge in the dashboard instead." : "");
    (void)ok; /* over the cap: page_reply answers 500 */
    page_reply(req, &b, pages[status].status, pages[status].state);
}

static const char *token_of(struct request *req)
{
    const char *token = request_query(req, "token");
    return token ? token : "";
}

void handle_get_ack_link(struct request *req, PGconn *conn, struct app *app)
{
    (void)conn, (void)app;
    struct ack_claim claim = {0};
    enum ack_link_status status = ack_link_check(token_of(req), clock_now(), &claim);
    if (status != ACK_LINK_OK) {
        refuse(req, status, &claim);
        return;
    }
    struct dynbuf b;
    page_start(&b, "Acknowledge this incident");
    bool ok = dynbuf_addstr(&b, "<p>As <strong>");
    escaped(&b, claim.who);
    ok = ok && dynbuf_addf(&b,
                           "</strong>: %zu alert%s. Repeat notices stop until they resolve.</p>\n"
                           "<form method=\"post\" id=\"ack-form\"><button type=\"submit\" "
                           "style=\"font-size:16px;padding:8px 18px\">Acknowledge</button></form>\n"
                           "<p id=\"ack-status\" role=\"status\"></p>\n<script>"
                           "document.getElementById(\"ack-status\").textContent = "
                           "\"Acknowledging\xe2\x80\xa6\";"
                           "document.getElementById(\"ack-form\").submit();</script>\n",
                           claim.n_alerts, claim.n_alerts == 1 ? "" : "s");
    (void)ok; /* over the cap: page_reply answers 500 */
    page_reply(req, &b, 200, "ready");
}

void handle_post_ack_link(struct request *req, PGconn *conn, struct app *app)
{
    (void)app;
    struct ack_claim claim = {0};
    size_t acked = 0;
    enum ack_link_status status =
        ack_link_acknowledge(conn, token_of(req), clock_now(), &claim, &acked);
    if (status == ACK_LINK_DB_ERROR) {
        handler_db_error(req, conn);
        return;
    }
    if (status != ACK_LINK_OK) {
        refuse(req, status, &claim);
        return;
    }
    struct dynbuf b;
    page_start(&b, "Acknowledged");
    bool ok = dynbuf_addf(&b, "<p id=\"ack-done\">%zu alert%s acknowledged as <strong>", acked,
                          acked == 1 ? "" : "s");
    escaped(&b, claim.who);
    ok = ok && dynbuf_addstr(&b, "</strong>. Repeat notices stop until they resolve; a new "
                                 "signal notifies again.</p>\n");
    (void)ok;
    page_reply(req, &b, 200, "acknowledged");
}
