/* Logging: PostgreSQL-style messages on stderr, one write(2) per line so lines of
 * different threads never interleave; a request id prefix ties lines to a request. */
#include "scaleupd/core/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int current_level = LOG_LEVEL_INFO;
static bool to_journal;

void log_init(void)
{
    /* systemd sets JOURNAL_STREAM when stderr is connected to the journal */
    to_journal = getenv("JOURNAL_STREAM") != NULL;
}

void log_set_level(enum log_level level)
{
    atomic_store(&current_level, (int)level);
}

bool log_level_from_name(const char *name, enum log_level *out)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (enum log_level)i;
            return true;
        }
    }
    return false;
}

void log_write(enum log_level level, const char *request_id, const char *fmt, ...)
{
    static const char *const labels[] = {"ERROR", "WARNING", "INFO", "DEBUG"};
    static const int priorities[] = {3, 4, 6, 7};
    if ((int)level > atomic_load(&current_level))
        return;

    char line[2048];
    size_t used = 0;
    int n;
    if (to_journal) {
        n = snprintf(line, sizeof(line), "<%d>", priorities[level]);
    } else {
        struct timespec now;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     now.tv_nsec / 1000000);
    }
    used = n > 0 ? (size_t)n : 0;
    n = snprintf(line + used, sizeof(line) - used, "%s: ", labels[level]);
    used += n > 0 ? (size_t)n : 0;
    if (request_id != NULL && request_id[0] != '\0') {
        n = snprintf(line + used, sizeof(line) - used, "[%s] ", request_id);
        used += n > 0 ? (size_t)n : 0;
    }
    if (used < sizeof(line)) {
        va_list ap;
        va_start(ap, fmt);
        n = vsnprintf(line + used, sizeof(line) - used, fmt, ap);
        va_end(ap);
        used += n > 0 ? (size_t)n : 0;
    }
    if (used > sizeof(line) - 2)
        used = sizeof(line) - 2;
    /* one message, one line: a newline inside the message would split it in the journal */
    for (size_t i = 0; i < used; i++)
        if (line[i] == '\n')
            line[i] = ' ';
    line[used++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, used);
    (void)w;
}
