/* reload.h -- SIGHUP's reload of the event configuration: re-read from where it came, a valid
 * one swapped in for calls that start afterwards, an invalid one refused with the old kept. */
#ifndef KE_RELOAD_H
#define KE_RELOAD_H

#include "metrics.h"
#include "options.h"
#include "router.h"

/* Re-reads the event configuration as at start (--events-config @FILE, or the .env file; one
 * given inline or by the environment cannot change: logged, nothing counted). A valid one
 * replaces the router in routes; an invalid one, a file gone, or a configuration no longer set
 * while one is in use is refused and the old one kept. Each outcome is one line on stderr and
 * counted in m (may be NULL). Never fails. */
void ke_reload_events(const ke_options *o, ke_routes *routes, ke_metrics *m);

#endif
