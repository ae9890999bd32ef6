/* Connection health for the layers above storage: whether a connection still works, and
 * closing one, without their calling libpq. */
#include "scaleupd/storage/db_health.h"

#include <stdio.h>
#include <string.h>

bool db_healthy(PGconn *conn, char *why, size_t why_size)
{
    if (conn == NULL) {
        snprintf(why, why_size, "no connection");
        return false;
    }
    /* twice: a backend that was terminated sends why (a FATAL message) before it closes the
     * socket, and the read that takes the message returns before it sees the end of file;
     * the second read sees it (or, on a live connection, nothing: EAGAIN) */
    if (PQconsumeInput(conn) == 1 && PQconsumeInput(conn) == 1 && PQstatus(conn) == CONNECTION_OK)
        return true;
    snprintf(why, why_size, "%s", PQerrorMessage(conn));
    size_t len = strlen(why);
    while (len > 0 && (why[len - 1] == '\n' || why[len - 1] == ' '))
        why[--len] = '\0';
    return false;
}

void db_close(PGconn **conn)
{
    if (*conn != NULL)
        PQfinish(*conn);
    *conn = NULL;
}
