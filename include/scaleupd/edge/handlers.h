/* Route handlers of the features, listed in the route table (routes.c). Each answers
 * one endpoint; see the route table for methods, paths and access. */
#ifndef SCALEUPD_HANDLERS_H
#define SCALEUPD_HANDLERS_H

#include "scaleupd/edge/app.h"

/* feeds (routes_feeds.c) */
void handle_post_observations(struct request *req, PGconn *conn, struct app *app);
void handle_post_data_value_sets(struct request *req, PGconn *conn, struct app *app);
void handle_get_series(struct request *req, PGconn *conn, struct app *app);

/* The options every feed write shares (dry_run, atomic, Idempotency-Key and the request's
 * fingerprint) into w, as the feeds' routes read them (routes_feeds.c); false when it answered
 * 400. */
struct ingest_request;
bool feed_write_options(struct request *req, struct ingest_request *w, const char *media);

/* Reads an acknowledgement's optional body {"by", "comment"} (core/ack_doc.h) into *by: the
 * person defaults to the token's name, kept as the credential either way; *doc holds the
 * strings (json_decref it after use). False when it answered (400 unreadable, 422 with the
 * problems). routes_alerts.c */
struct ack_by;
bool handler_ack_body(struct request *req, json_t **doc, struct ack_by *by);

/* FHIR (routes_fhir.c): POST /fhir/MeasureReport, POST /fhir (a batch or transaction
 * Bundle of MeasureReports) and GET /fhir/metadata (the CapabilityStatement, on the loop) */
void handle_post_fhir_measure_report(struct request *req, PGconn *conn, struct app *app);
void handle_post_fhir_bundle(struct request *req, PGconn *conn, struct app *app);
void handle_get_fhir_metadata(struct request *req, PGconn *conn, struct app *app);

/* DHIS2's task endpoints of async imports (routes_dhis2_tasks.c) */
void handle_get_dhis2_task(struct request *req, PGconn *conn, struct app *app);
void handle_get_dhis2_task_summary(struct request *req, PGconn *conn, struct app *app);
/* DHIS2's complete data set registrations of the token's programme (?programme= for an admin),
 * filtered by dataSet, period and orgUnit (routes_dhis2_tasks.c) */
void handle_get_dhis2_registrations(struct request *req, PGconn *conn, struct app *app);

/* roadmaps and progress (routes_progress.c) */
void handle_put_roadmap(struct request *req, PGconn *conn, struct app *app);
void handle_get_roadmap(struct request *req, PGconn *conn, struct app *app);
void handle_get_roadmap_version(struct request *req, PGconn *conn, struct app *app);
void handle_get_progress(struct request *req, PGconn *conn, struct app *app);
void handle_get_progress_history(struct request *req, PGconn *conn, struct app *app);

/* dashboard: the page and its files, on the loop (static_files.c); chart (routes_web.c);
 * feeds status, its summary and its pages of sites (routes_feeds_status.c) */
void handle_get_index(struct request *req, PGconn *conn, struct app *app);
void handle_get_static(struct request *req, PGconn *conn, struct app *app);
void handle_get_vendor_uplot(struct request *req, PGconn *conn, struct app *app);
void handle_get_chart(struct request *req, PGconn *conn, struct app *app);
void handle_get_feeds_status(struct request *req, PGconn *conn, struct app *app);
void handle_get_feeds_sites(struct request *req, PGconn *conn, struct app *app);

/* alerting (routes_alerts.c): rules, receivers, alerts, acknowledgements, silences */
void handle_post_rule(struct request *req, PGconn *conn, struct app *app);
void handle_get_rules(struct request *req, PGconn *conn, struct app *app);
void handle_delete_rule(struct request *req, PGconn *conn, struct app *app);
void handle_put_receivers(struct request *req, PGconn *conn, struct app *app);
void handle_get_receivers(struct request *req, PGconn *conn, struct app *app);
void handle_post_receiver_test(struct request *req, PGconn *conn, struct app *app);
void handle_get_alerts(struct request *req, PGconn *conn, struct app *app);
void handle_post_alert_ack(struct request *req, PGconn *conn, struct app *app);
void handle_get_alert(struct request *req, PGconn *conn, struct app *app);
void handle_post_silence(struct request *req, PGconn *conn, struct app *app);
void handle_get_silences(struct request *req, PGconn *conn, struct app *app);
void handle_delete_silence(struct request *req, PGconn *conn, struct app *app);

/* one-click acknowledgement from an e-mail, public (routes_ack_link.c) */
void handle_get_ack_link(struct request *req, PGconn *conn, struct app *app);
void handle_post_ack_link(struct request *req, PGconn *conn, struct app *app);

/* the revision history of a programme (routes_revisions.c) */
void handle_get_revisions(struct request *req, PGconn *conn, struct app *app);

#endif
