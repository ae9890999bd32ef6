/*
 * libFuzzer target: the FHIR routes' readers of request headers and parameters
 * (core/fhir_http.h) on any text: as _format, as Accept, as Prefer, as a path. A verdict is
 * one of its enum's; a refusal says why in a NUL-terminated sentence within its buffer, and
 * JSON is let through exactly when no refusal is written.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "scaleupd/core/fhir_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WHY_SIZE 300

/* A verdict of fhir_format_check, and its sentence when it refuses. */
static void check_format(const char *format, const char *accept)
{
    char why[WHY_SIZE + 1];
    memset(why, 0, sizeof(why));
    why[WHY_SIZE] = 'X'; /* past the size given: never written */
    enum fhir_format_verdict v = fhir_format_check(format, accept, why, WHY_SIZE);
    FUZZ_CHECK(v == FHIR_FORMAT_JSON || v == FHIR_FORMAT_NOT_JSON || v == FHIR_FORMAT_UNACCEPTABLE);
    FUZZ_CHECK(why[WHY_SIZE] == 'X');
    if (v == FHIR_FORMAT_JSON)
        FUZZ_CHECK(why[0] == '\0');
    else
        FUZZ_CHECK(why[0] != '\0' && memchr(why, '\0', WHY_SIZE) != NULL);
}

static void check_prefer(const char *prefer)
{
    char why[WHY_SIZE + 1];
    memset(why, 0, sizeof(why));
    why[WHY_SIZE] = 'X';
    enum fhir_return r = fhir_prefer_return(prefer, why, WHY_SIZE);
    FUZZ_CHECK(r >= FHIR_RETURN_DEFAULT && r <= FHIR_RETURN_INVALID);
    FUZZ_CHECK(why[WHY_SIZE] == 'X');
    FUZZ_CHECK((r == FHIR_RETURN_INVALID) == (why[0] != '\0'));
    FUZZ_CHECK((fhir_return_name(r) == NULL) ==
               (r == FHIR_RETURN_DEFAULT || r == FHIR_RETURN_INVALID));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0'; /* a header value ends at its first NUL, as the request's copy does */
    check_format(text, NULL);
    check_format(NULL, text);
    check_format(text, text);
    check_prefer(text);
    FUZZ_CHECK(fhir_is_path(text) ==
               (strncmp(text, "/fhir", 5) == 0 && (text[5] == '\0' || text[5] == '/')));
    free(text);
    return 0;
}
