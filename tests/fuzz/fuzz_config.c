/*
 * libFuzzer target: config_parse_string (core/config.c) on any INI text, then the reload
 * rule (config_keep_fixed) against the defaults. A parsed config must hold every key within
 * the bounds of the config_keys table; a refused one must say why and leave *out alone.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "scaleupd/core/config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    unsetenv("SCALEUPD_DATABASE"); /* the text alone decides */
    return 0;
}

/* True when s is exactly one of the comma-separated options. */
static bool one_of(const char *options, const char *s)
{
    size_t len = strlen(s);
    for (const char *o = options;; o++) {
        size_t olen = strcspn(o, ",");
        if (olen == len && memcmp(o, s, len) == 0)
            return true;
        o += olen;
        if (*o == '\0')
            return false;
    }
}

/* One key of a parsed config lies within the table's bounds. */
static void check_key(const struct config *config, const struct config_key *key)
{
    const char *field = (const char *)config + key->offset;
    switch (key->type) {
    case CONFIG_STRING: {
        const char *s = *(const char *const *)(const void *)field;
        FUZZ_CHECK(s != NULL);
        if (key->options != NULL)
            FUZZ_CHECK(one_of(key->options, s));
        break;
    }
    case CONFIG_INT:
    case CONFIG_DURATION: {
        int v = *(const int *)(const void *)field;
        FUZZ_CHECK(v >= key->min && v <= key->max);
        break;
    }
    case CONFIG_BOOL:
        break;
    }
}

static void check_config(const struct config *config)
{
    FUZZ_CHECK(config->refs == 1);
    for (const struct config_key *key = config_keys; key->name != NULL; key++)
        check_key(config, key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);
    struct config *config = NULL;
    char err[256];
    err[0] = '\0';
    if (config_parse_string(text, "fuzz.conf", &config, err, sizeof err)) {
        FUZZ_CHECK(config != NULL);
        check_config(config);
        struct config *defaults = config_new_defaults();
        char note[512];
        config_keep_fixed(defaults, config, note, sizeof note);
        FUZZ_CHECK(fuzz_terminated(note, sizeof note));
        check_config(config);
        config_free(&defaults);
        config_free(&config);
        FUZZ_CHECK(config == NULL);
    } else {
        FUZZ_CHECK(config == NULL);
        FUZZ_CHECK(fuzz_terminated(err, sizeof err) && err[0] != '\0');
    }
    free(text);
    return 0;
}
