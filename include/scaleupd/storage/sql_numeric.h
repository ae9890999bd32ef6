/* SQL fragments that keep arithmetic over stored values inside double's range
 * (docs/ARCHITECTURE.md, "The path of an evaluation"): observations are float8, and
 * PostgreSQL raises "value out of range: overflow" when a float8 sum or mean leaves the range
 * (two counts near 1e308 are enough), which failed the whole statement. Aggregates are
 * computed exactly in numeric instead (SQL_EXACT), and brought back to float8 only when the
 * result fits (SQL_FLOAT8_OF): a result that does not is NULL, shown as missing, never a
 * zero and never an error. Each macro takes an SQL expression (a column name) as a string
 * literal and expands to a string literal. */
#ifndef SCALEUPD_STORAGE_SQL_NUMERIC_H
#define SCALEUPD_STORAGE_SQL_NUMERIC_H

/* The largest finite double, as an SQL numeric literal. */
#define SQL_DBL_MAX "1.7976931348623157e308"

/* x (float8) as an exact numeric: through its shortest text, which reads back as the same
 * double (float8::numeric keeps only 15 digits). NaN and ±Infinity stay what they are. */
#define SQL_EXACT(x) "(" x ")::text::numeric"

/* x (float8) when it is finite, else NULL (NaN and ±Infinity, which older versions could
 * store, are missing values). */
#define SQL_FINITE(x) "CASE WHEN " x " BETWEEN -" SQL_DBL_MAX " AND " SQL_DBL_MAX " THEN " x " END"

/* x (numeric) as float8 when it is within double's range, else NULL; a magnitude below
 * 1e-300 becomes 0 (the cast would refuse it as an underflow). */
#define SQL_FLOAT8_OF(x)                                                                           \
    "CASE WHEN abs(" x ") <= " SQL_DBL_MAX " THEN CASE WHEN abs(" x ") < 1e-300 THEN 0::float8"    \
    " ELSE (" x ")::float8 END END"

#endif
