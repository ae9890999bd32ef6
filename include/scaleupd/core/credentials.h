/* The credentials of an HTTP Authorization header value, as scaleupd's own clients and
 * DHIS2's send them: "Bearer <token>", "ApiToken <token>" (DHIS2's personal access tokens),
 * and "Basic base64(user:password)" with the token as the password (dhis2.py and other
 * clients of DHIS2's Web API; the user name is not checked). Pure. */
#ifndef SCALEUPD_CORE_CREDENTIALS_H
#define SCALEUPD_CORE_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>

#define CREDENTIALS_SECRET_MAX 256      /* a secret this long or longer is no token of ours */
#define CREDENTIALS_TOKEN_PREFIX "sud_" /* how scaleupd's tokens begin (storage/tokens.h) */

enum credentials_kind {
    CREDENTIALS_NONE,      /* no header value, or a scheme we do not take */
    CREDENTIALS_BEARER,    /* "Bearer <token>" */
    CREDENTIALS_API_TOKEN, /* "ApiToken <token>" */
    CREDENTIALS_BASIC,     /* "Basic …" with the token as the password */
    CREDENTIALS_MALFORMED, /* a scheme we take, without a usable secret */
};

/* Parses header (may be NULL) and copies the secret it carries into secret (NUL-terminated,
 * at most CREDENTIALS_SECRET_MAX - 1 bytes, printable ASCII); "" unless BEARER, API_TOKEN or
 * BASIC. Scheme names are case-insensitive (RFC 9110); Basic's base64 is strict (RFC 4648,
 * padding required, unused bits zero) and its user-pass must hold a colon; Basic whose
 * password does not begin like our tokens (CREDENTIALS_TOKEN_PREFIX) is NONE: another
 * system's login (a proxy in front of the dashboard), not a wrong token. */
enum credentials_kind credentials_parse(const char *header, char secret[CREDENTIALS_SECRET_MAX]);

/* The scheme's name for messages ("Bearer", "ApiToken", "Basic"; "" for the others). */
const char *credentials_scheme_name(enum credentials_kind kind);

#endif
