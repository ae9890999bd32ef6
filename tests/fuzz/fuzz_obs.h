/*
 * The body of the three observation-parser fuzz targets (fuzz_obs_json, fuzz_obs_csv,
 * fuzz_obs_dhis2): parse, check the documented contracts of the batch, validate against the
 * catalog of /work/shared/examples/programme-icp-be.json, check again.
 */
#ifndef SCALEUPD_FUZZ_OBS_H
#define SCALEUPD_FUZZ_OBS_H

#include <stddef.h>
#include <stdint.h>

#include "scaleupd/core/obs_parse.h"

/* The DHIS2 syntaxes beyond JSON, as pseudo formats of fuzz_obs_input (their batches are
 * OBS_FORMAT_DHIS2): CSV with a header row, and ADX. */
#define FUZZ_FORMAT_DHIS2_CSV ((enum obs_format)101)
#define FUZZ_FORMAT_DHIS2_ADX ((enum obs_format)102)

/* Runs one input through the parser of format and obs_validate; aborts on a broken contract. */
void fuzz_obs_input(const uint8_t *data, size_t size, enum obs_format format);

#endif /* SCALEUPD_FUZZ_OBS_H */
