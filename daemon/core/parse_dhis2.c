/*
 * DHIS2 dataValueSets JSON: the set's own period and orgUnit are the defaults of its data
 * values, which are read by the JSON row reader (parse_json.c) with DHIS2's field names.
 */
#include "parse_json_doc.h"

static enum obs_parse_status dhis2_data_values(struct obs_batch *b, const char *body, size_t len,
                                               struct obs_parse_error *err)
{
    static const struct field_key keys[] = {FIELD_KEY("dataValues"), FIELD_KEY("period"),
                                            FIELD_KEY("orgUnit")};
    struct json_doc d;
    int vals[3], bad_key;
    enum obs_parse_status status = json_doc_open(b, body, len, &d, err);
    if (status != OBS_PARSE_OK)
        return status;
    if (json_doc_members(&d, 0, keys, 3, false, vals, &bad_key) != MEMBERS_OK)
        return json_doc_duplicate_key(&d, bad_key, err);
    struct dhis2_defaults defaults = {.period = vals[1], .org_unit = vals[2]};
    return parse_json_rows(b, &d, vals[0], "dataValues", &defaults, err);
}

enum obs_parse_status obs_parse_dhis2(const char *body, size_t len, struct obs_batch *batch,
                                      struct obs_parse_error *err)
{
    parse_begin(batch, err, OBS_FORMAT_DHIS2);
    return parse_end(batch, dhis2_data_values(batch, body, len, err));
}
