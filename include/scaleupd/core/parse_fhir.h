/*
 * FHIR R4 MeasureReport as an ingest format: one MeasureReport, or a Bundle of type batch or
 * transaction whose entries are MeasureReports, becomes a batch of observation rows
 * (obs_parse.h) through the programme's FHIR mapping (fhir_map.h). Each mapped group of a
 * report is one row; a report refused as a whole (not a summary, unknown measure or reporter,
 * no period, ...) is one rejected row. Where each row came from (entry, group, population) is
 * kept in batch->fhir, so that answers can point at the element with a FHIRPath expression.
 *
 * Only type "summary" is taken: individual and subject-list reports are about patients, and
 * data-collection (R4) / data-exchange (R5) reports carry the data a measure is computed from,
 * not its result; each is refused by name. Only status "complete" is taken: a "pending" report
 * is not final (storing it would raise alerts on half-counted data) and an "error" report is
 * one its producer says is wrong. Stratifiers and supplemental data are not read: a row is a
 * group's total.
 *
 * The body is read by jansson after a scan that bounds it: nesting deeper than
 * FHIR_DEPTH_MAX is too_deep; more than FHIR_VALUES_MAX weighted JSON values (an object weighs
 * 8, an array 2, a string, key or number 1, about what jansson spends on each) is too_large,
 * so that the tree jansson builds stays within about 25 MB whatever the body (the HL7 CMS146
 * summary weighs about 1,800, the WHO ANC report 270); duplicate keys are malformed_json.
 */
#ifndef SCALEUPD_CORE_PARSE_FHIR_H
#define SCALEUPD_CORE_PARSE_FHIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/fhir_map.h"
#include "scaleupd/core/obs_parse.h"

#define FHIR_DEPTH_MAX 64       /* objects and arrays nested in a body */
#define FHIR_VALUES_MAX 500000u /* JSON values in a body */

/* What the route takes: POST /fhir/MeasureReport or POST /fhir. */
enum fhir_expect {
    FHIR_EXPECT_MEASURE_REPORT,
    FHIR_EXPECT_BUNDLE,
};

/* What the body was. */
enum fhir_kind {
    FHIR_KIND_MEASURE_REPORT,
    FHIR_KIND_BATCH,       /* each entry stored or refused on its own */
    FHIR_KIND_TRANSACTION, /* all entries or none */
};

/* Where a row came from: -1 where it does not apply. */
struct obs_fhir_origin {
    int32_t entry;      /* Bundle.entry index; -1 for a lone MeasureReport */
    int32_t group;      /* MeasureReport.group index; -1: the report as a whole */
    int32_t value_from; /* population index of the value; -1: measureScore or computed */
    int32_t numerator_from;
    int32_t denominator_from;
    enum fhir_value_source source;
};

struct obs_fhir {
    enum fhir_kind kind;
    size_t n_entries;                /* 1 for a lone MeasureReport */
    struct obs_fhir_origin *origins; /* origins[i] is rows[i]'s */
    size_t n_origins;
    size_t cap;
};

/*
 * Parses len bytes of body as the route expects (a MeasureReport, or a batch or transaction
 * Bundle of them) through map into batch (reset first; batch->fhir filled). Document errors
 * (the obs_parse_error codes, status as obs_parse.h says): empty_body, malformed_json (with
 * jansson's position), too_deep, too_large, invalid_document (the root is not the resource
 * the route takes, a Bundle of another type, entry not an array), empty_batch,
 * too_many_rows. Reject codes beyond obs_parse.h's: not_a_measure_report, unsupported_type,
 * unsupported_status, unsupported_request (an entry's request is not a POST or PUT of a
 * MeasureReport), unknown_measure, unknown_reporter, period_mismatch (the period is not one
 * period of the group's indicator: it names both), not_computable (a proportion over a
 * denominator of 0), and unknown_indicator for a group the measure's mapping does not name.
 */
__attribute__((warn_unused_result)) enum obs_parse_status
obs_parse_fhir(const char *body, size_t len, enum fhir_expect expect, const struct fhir_map *map,
               struct obs_batch *batch, struct obs_parse_error *err);

/*
 * After obs_validate: a MeasureReport is stored whole or not at all, so the rows of a report
 * one of whose groups was rejected are rejected too (entry_rejected, naming that group), and
 * the rejects are sorted by row again.
 */
void obs_fhir_reject_partial_entries(struct obs_batch *batch);

/* Empties f (keeps its memory); NULL is fine. */
void obs_fhir_reset(struct obs_fhir *f);

/* Frees *f and sets it to NULL; NULL is fine. */
void obs_fhir_free(struct obs_fhir **f);

#endif /* SCALEUPD_CORE_PARSE_FHIR_H */
