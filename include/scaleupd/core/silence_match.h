/* Silence matchers, Alertmanager's kind: a label (programme, indicator, site, region, rule,
 * kind), an operator (=, !=, =~, !~) and a value, all of which must hold for a silence to
 * mute an alert. Regular expressions are POSIX extended (regcomp), fully anchored as
 * Alertmanager anchors its RE2 ones; the constructs where RE2 and POSIX read the same text
 * differently are refused rather than read differently (docs/ARCHITECTURE.md, "Silences and
 * acknowledgements"). Pure: no I/O. */
#ifndef SCALEUPD_CORE_SILENCE_MATCH_H
#define SCALEUPD_CORE_SILENCE_MATCH_H

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#define SILENCE_MATCHERS_MAX 32 /* matchers of one silence */
#define SILENCE_VALUE_MAX 256   /* bytes of one matcher's value */

enum silence_label {
    SILENCE_LABEL_PROGRAMME, /* the programme's slug */
    SILENCE_LABEL_INDICATOR, /* the indicator's code */
    SILENCE_LABEL_SITE,      /* the alert's own site code */
    SILENCE_LABEL_REGION,    /* the site's code and each of its ancestors' (site_tree) */
    SILENCE_LABEL_RULE,      /* the rule's name */
    SILENCE_LABEL_KIND,      /* the rule's kind: spc, threshold, late_feed, self, ... */
    SILENCE_LABEL_COUNT
};

enum silence_op { SILENCE_OP_EQUAL, SILENCE_OP_NOT_EQUAL, SILENCE_OP_REGEX, SILENCE_OP_NOT_REGEX };

struct silence_matcher {
    enum silence_label label;
    enum silence_op op;
    char *value;   /* owned */
    regex_t regex; /* compiled "^(value)$" when op is a regex */
};

/* A compiled list of matchers; all must hold. */
struct silence_matchers {
    struct silence_matcher *items; /* owned */
    size_t n;
};

/* What an alert is matched on. A missing label (an alert without a site or an indicator) is
 * NULL and reads as "", as in Alertmanager. */
struct silence_labels {
    const char *programme, *indicator, *site, *rule, *kind;
    const char *const *regions; /* the site's code, then its ancestors'; n_regions 0: none */
    size_t n_regions;
};

/* An alert's labels with room for its regions, as a read fills them from a row. */
#define SILENCE_REGIONS_MAX 66 /* the site and its ancestors (site_tree stops at depth 64) */
struct silence_alert {
    struct silence_labels labels;
    const char *regions[SILENCE_REGIONS_MAX];
    json_t *held; /* the parsed list the regions point into */
};

/* Sets a->labels.regions (and n_regions) from codes_json, a JSON list of site codes (the
 * site's own first; NULL, "" or not a list: none), kept in a->held. Past SILENCE_REGIONS_MAX
 * the rest are left out. Free with silence_alert_clear. */
void silence_alert_regions(struct silence_alert *a, const char *codes_json);

/* Frees what a holds (its regions) and empties them. */
void silence_alert_clear(struct silence_alert *a);

/* Why value cannot be a matcher's regular expression: NULL when it can, else a message (a
 * static one, or the regcomp error written into why[0..why_size)). Refused: what regcomp
 * refuses, and what RE2 reads differently (\\d and other RE2 escapes, back-references,
 * (?...) groups and flags, lazy quantifiers, a backslash inside a bracket expression). */
const char *silence_regex_problem(const char *value, char *why, size_t why_size);

/* True when the matcher (label op value) holds for an alert without that label (""): the
 * matches_everything check. A regex that does not compile holds for nothing. */
bool silence_matcher_matches_empty(enum silence_label label, enum silence_op op, const char *value);

/* Compiles a list in the stored form into *out (free with silence_matchers_free). False,
 * with why[0..why_size) saying what, when it is not one (a row written by hand). */
bool silence_matchers_compile(const json_t *stored, struct silence_matchers *out, char *why,
                              size_t why_size) __attribute__((warn_unused_result));

/* Frees what *m holds and empties it. */
void silence_matchers_free(struct silence_matchers *m);

/* True when every matcher of m holds for labels. The region label holds several values: a
 * positive matcher (=, =~) holds when one of them matches, a negative one (!=, !~) when none
 * does, so "region=BE-WAL" mutes Wallonia and every site under it and "region!=BE-WAL" every
 * site outside it. */
bool silence_matchers_match(const struct silence_matchers *m, const struct silence_labels *labels);

/* The name of a label ("region"), and the label of a name (false when there is none). */
const char *silence_label_name(enum silence_label label);
bool silence_label_from_name(const char *name, enum silence_label *label);

/* The silences in force at one moment, as a read loads them (storage/silence_store.h). */
struct silence_active {
    long long id;
    char *programme; /* the silence's programme slug, owned; NULL for every programme */
    struct silence_matchers matchers;
};
struct silence_set {
    struct silence_active *items; /* owned */
    size_t n;
};

/* Adds silence id (programme NULL for all; copied) with matchers in the stored form. False
 * (nothing added) when they do not compile, with why set. */
bool silence_set_add(struct silence_set *set, long long id, const char *programme,
                     const json_t *stored, char *why, size_t why_size)
    __attribute__((warn_unused_result));

/* The ids of the silences of set that mute an alert with labels (its programme too), in the
 * order of set, as a JSON array (owned by the caller; [] when none). */
json_t *silence_set_muting(const struct silence_set *set, const struct silence_labels *labels);

/* True when a silence of set mutes an alert with labels. */
bool silence_set_mutes(const struct silence_set *set, const struct silence_labels *labels);

/* Frees what *set holds and empties it. */
void silence_set_free(struct silence_set *set);

#endif
