/* config.h -- the event configuration: which pipelines an event starts.
 *
 * Parsed and validated once at start-up into an immutable ke_config; the
 * request path only sees the router built from it. */
#ifndef KE_CONFIG_H
#define KE_CONFIG_H

#include <stddef.h>

#include "errors.h"

/* The variable the configuration is read from, and the names it is known by. */
#define KE_CONFIG_ENV "KEDRO_GRAPHQL_EVENTS_CONFIG"
#define KE_CONFIG_ENV_ALIAS "KEDRO_GRAPHQL_EVENT_CONFIG"  /* accepted, with a warning */
#define KE_CONFIG_ENV_TYPO "KEDROG_GRAPHQL_EVENTS_CONFIG" /* ignored, with a warning */

/* Limits: a configuration larger than these is refused at start-up. */
#define KE_CONFIG_MAX_BYTES (1 << 20) /* the JSON text */
#define KE_CONFIG_MAX_ROUTES 10000    /* entries */
#define KE_CONFIG_MAX_EXTRAS 100      /* static parameters (and tags) per entry */

/* A static parameter or tag of a route. */
typedef struct ke_kv {
    char *key;   /* parameter name or tag key */
    char *value; /* value as text */
    char *type;  /* parameters: "string", "int", "float" or "bool"; tags: "string" */
} ke_kv;

/* One entry of the configuration: events with this source and type start
 * the named pipeline. */
typedef struct ke_route {
    char *pipeline;  /* Kedro pipeline name (the entry's key) */
    char *source;    /* exact CloudEvents source to match */
    char *type;      /* exact CloudEvents type to match */
    ke_kv *params;   /* static parameters added to every run, in file order */
    size_t n_params; /* number of params */
    ke_kv *tags;     /* static tags added to every run, in file order */
    size_t n_tags;   /* number of tags */
} ke_route;

/* A parsed configuration. */
typedef struct ke_config {
    ke_route *routes; /* entries, in the order the JSON object lists them */
    size_t n_routes;  /* number of routes (may be 0: nothing matches) */
    char *origin;     /* where it came from, e.g. "KEDRO_GRAPHQL_EVENTS_CONFIG (environment)" */
} ke_config;

/* Receives one warning line (alias or typo in a variable name, and such). */
typedef void (*ke_warn_fn)(void *ud, const char *msg);

/* Parses the JSON text of a configuration: an object whose keys are pipeline
 * names and whose values are objects with string "source" and "type", and
 * optionally "parameters" (object of string/number/boolean values) and "tags"
 * (object of string values). Unknown keys, reserved names (parameters "id",
 * "event"; tags "event_id", "event_source", "event_type") and wrong types are
 * refused. origin is copied into messages and into the result.
 * Returns KE_OK with *out owned by the caller (ke_config_free), or KE_ECONFIG
 * with err saying what is wrong and where (origin, entry, key; line and
 * column for JSON syntax errors). */
int ke_config_parse(const char *json, size_t len, const char *origin, ke_config **out,
                    ke_error *err);

/* Finds and parses the configuration. Precedence: flag (the --events-config
 * value: JSON text, or "@FILE" to read a file) over the environment
 * (KE_CONFIG_ENV, then KE_CONFIG_ENV_ALIAS) over the .env file at dotenv_path
 * (same names; may be NULL or missing). Warns through warn (may be NULL) for
 * the alias and the typo. Returns KE_OK with *out NULL when no configuration
 * is set anywhere (dispatch disabled), KE_OK with *out set, or KE_ECONFIG. */
int ke_config_load(const char *flag, const char *dotenv_path, ke_warn_fn warn, void *ud,
                   ke_config **out, ke_error *err);

/* Frees a configuration; NULL is fine. */
void ke_config_free(ke_config *cfg);

#endif
