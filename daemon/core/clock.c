/* The clock: real time, or the time written in the test clock file. */
#include "scaleupd/core/clock.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct timespec cached_mtime;
static double cached_value;
static bool have_cached;

static bool read_fake(const char *path, double *out)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return false;
    pthread_mutex_lock(&lock);
    bool fresh = have_cached && st.st_mtim.tv_sec == cached_mtime.tv_sec &&
                 st.st_mtim.tv_nsec == cached_mtime.tv_nsec;
    if (!fresh) {
        FILE *f = fopen(path, "r");
        char buf[64] = "";
        if (f != NULL) {
            if (fgets(buf, sizeof(buf), f) == NULL)
                buf[0] = '\0';
            fclose(f);
        }
        char *end;
        double v = strtod(buf, &end);
        if (end != buf && isfinite(v)) {
            cached_value = v;
            cached_mtime = st.st_mtim;
            have_cached = true;
        }
    }
    bool ok = have_cached;
    *out = cached_value;
    pthread_mutex_unlock(&lock);
    return ok;
}

bool clock_is_fake(void)
{
    const char *path = getenv("SCALEUPD_TEST_CLOCK_FILE");
    return path != NULL && path[0] != '\0';
}

double clock_now(void)
{
    const char *path = getenv("SCALEUPD_TEST_CLOCK_FILE");
    double fake;
    if (path != NULL && path[0] != '\0' && read_fake(path, &fake))
        return fake;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int clock_today_utc(void)
{
    return (int)floor(clock_now() / 86400.0);
}

void clock_format(double t, char *buf, unsigned size)
{
    time_t secs = (time_t)floor(t);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
