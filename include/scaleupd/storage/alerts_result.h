/* The outcome of a write to the alerting storage (rule_store, receiver_store, ack_store,
 * silence_store): one enum shared by those aggregates, so that routes render it alike. */
#ifndef SCALEUPD_STORAGE_ALERTS_RESULT_H
#define SCALEUPD_STORAGE_ALERTS_RESULT_H

enum alerts_result {
    ALERTS_OK,        /* done (an existing row was changed) */
    ALERTS_CREATED,   /* done, and a new row was made */
    ALERTS_INVALID,   /* the database refused the document: see the problems filled */
    ALERTS_NOT_FOUND, /* no such row */
    ALERTS_CONFLICT,  /* the row is not in a state that allows it (a resolved alert's ack) */
    ALERTS_DB_ERROR   /* a database failure (logged; db_failure_of says which kind) */
};

#endif
