/* scaleupctl commands of the features: pushing data, roadmaps and progress, rules and
 * alerts. Each is a thin layer over one HTTP endpoint. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

const struct command ctl_feature_commands[] = {
    {NULL, NULL, NULL},
};
