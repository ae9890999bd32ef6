/* libFuzzer target: obs_parse_dhis2_csv, then obs_validate, on any body (see fuzz_obs.c). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_obs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_obs_input(data, size, FUZZ_FORMAT_DHIS2_CSV);
    return 0;
}
