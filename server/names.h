/* names.h -- what callers and the configuration may name: pipelines and parameters.
 *
 * One rule for every source (event configuration, CreatePipeline, the shim's POST /pipelines/),
 * so a name accepted in one place is accepted in all. */
#ifndef KE_NAMES_H
#define KE_NAMES_H

#include "errors.h"

/* Pipeline names: 1 to KE_PIPELINE_NAME_MAX of [A-Za-z0-9_.-], not starting with '-' (it would
 * read as an option of `kedro run`) or '.' (a hidden or relative log file name). This covers
 * the names Kedro's pipeline registry uses in practice ("__default__", "data_processing",
 * "ds.v2"); a name outside it could not be passed safely on the command line or as a file name. */
#define KE_PIPELINE_NAME_MAX 128

/* Checks a pipeline name against the rule above; what prefixes the message ("name",
 * "--events-config: entry", ...). Returns KE_OK or KE_EINVAL with err naming it. */
int ke_pipeline_name_check(const char *name, const char *what, ke_error *err);

/* Whether a parameter name is one the server sets on every run ("id", "event"). */
int ke_param_name_reserved(const char *name);

/* The message part saying so, for "parameter \"id\": " prefixes. */
extern const char ke_param_reserved_msg[];

#endif
