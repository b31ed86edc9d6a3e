/* runfile.h -- the YAML run file handed to `kedro run --config`. */
#ifndef KE_RUNFILE_H
#define KE_RUNFILE_H

#include "errors.h"
#include "pipeline.h"

/* Writes, with libyaml, the run file for p at path (created 0600, replaced if
 * present):
 *   run:
 *     pipeline: "<name>"
 *     params:
 *       id: "<id>"
 *       event: "<event JSON>"
 *       <static>: "<value>"
 * Every value is a double-quoted YAML scalar with raw UTF-8, so each arrives
 * in the Kedro node as the exact str (Kedro's --params cannot carry JSON).
 * Returns KE_OK, or KE_EIO naming the path. */
int ke_runfile_write(const char *path, const ke_pipeline *p, ke_error *err);

#endif
