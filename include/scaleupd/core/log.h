/* Logging to stderr in a form journald keeps: one line per message, with a syslog
 * priority prefix ("<3>") when stderr is the journal, a timestamp otherwise. */
#ifndef SCALEUPD_LOG_H
#define SCALEUPD_LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Chooses the output form (journal or plain) from the environment; call once at start-up. */
void log_init(void);

/* Sets the most verbose level that is written; thread-safe. */
void log_set_level(enum log_level level);

/* Parses "error", "warning", "info" or "debug"; false for anything else. */
bool log_level_from_name(const char *name, enum log_level *out) __attribute__((warn_unused_result));

/* Writes one line; request_id may be NULL or "" for lines that concern no request. */
void log_write(enum log_level level, const char *request_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(...) log_write(LOG_LEVEL_ERROR, NULL, __VA_ARGS__)
#define log_warning(...) log_write(LOG_LEVEL_WARNING, NULL, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, NULL, __VA_ARGS__)
#define log_debug(...) log_write(LOG_LEVEL_DEBUG, NULL, __VA_ARGS__)

#endif
