/* options.h -- kedro-eventd's command line. */
#ifndef KE_OPTIONS_H
#define KE_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "errors.h"
#include "graphql.h"

#define KE_DEFAULT_LISTEN "127.0.0.1:50051"
#define KE_DEFAULT_MAX_MESSAGE_BYTES (4u << 20)
#define KE_DEFAULT_DATA_DIR "kedro-events-data"
#define KE_DEFAULT_GRACE_SECONDS 10
#define KE_DEFAULT_HTTP_URL "http://127.0.0.1:5000" /* kedro-event-shim's default address */
#define KE_MAX_THREADS 256
/* Limits on what callers can make the server hold (--help says why each default). */
#define KE_DEFAULT_MAX_INFLIGHT_BYTES (16u << 20) /* 4 requests of the default maximum size */
#define KE_DEFAULT_MAX_CALLS 1024                 /* calls being handled at once */
#define KE_DEFAULT_HANDSHAKE_SECONDS 10           /* a new connection's handshake deadline */
#define KE_DEFAULT_IDLE_SECONDS 300               /* a connection without calls is closed */
#define KE_DEFAULT_MAX_STORE_BYTES 0              /* the database's size cap; 0 = none */

/* Settings from the command line, with defaults filled in. */
typedef struct ke_options {
    const char *listen;         /* --listen ADDR */
    const char *events_config;  /* --events-config JSON|@FILE, or NULL */
    const char *data_dir;       /* --data-dir DIR */
    const char *dotenv;         /* --dotenv FILE (default ".env") */
    size_t max_message_bytes;   /* --max-message-bytes N */
    int threads;                /* --threads N */
    int grace_seconds;          /* --shutdown-grace SECONDS */
    int run_local;              /* --runner local (1) or none (0) */
    const char *kedro_project;  /* --kedro-project DIR */
    const char *kedro_bin;      /* --kedro-bin PATH */
    const char *kedro_env;      /* --env ENV, or NULL */
    int max_runs;               /* --max-runs N */
    int run_timeout;            /* --run-timeout SECONDS, 0 = none */
    int requeue_interrupted;    /* --requeue-interrupted */
    const char *http_url;       /* --http-url URL, exported to runs; "" = none */
    size_t max_inflight_bytes;  /* --max-inflight-bytes N, 0 = no limit */
    int max_calls;              /* --max-calls N, 0 = no limit */
    int max_streams;            /* --max-streams N, 0 = no limit */
    int handshake_timeout;      /* --handshake-timeout SECONDS */
    int max_idle;               /* --max-connection-idle SECONDS, 0 = never */
    long long max_store_bytes;  /* --max-store-bytes N, 0 = no limit */
    int help;                   /* --help was given */
    int version;                /* --version was given */
    const char *tls_cert;       /* --tls-cert FILE (PEM), or NULL: plaintext */
    const char *tls_key;        /* --tls-key FILE (PEM), given with --tls-cert */
    const char *tls_client_ca;  /* --tls-client-ca FILE (PEM): mutual TLS, or NULL */
    const char *auth_tokens;    /* --auth-tokens FILE: tokens calls need, or NULL */
    const char *run_token_file; /* --run-token-file FILE: KEDRO_EVENTS_TOKEN of runs, or NULL */
    int run_graphql;            /* --runner kedro-graphql */
    const char *graphql_url;    /* --graphql-url URL, or NULL */
    const char *graphql_headers[KE_GQL_MAX_HEADERS]; /* --graphql-header 'Name: value' */
    size_t n_graphql_headers;                        /* how many */
    const char *graphql_headers_file;                /* --graphql-headers-file FILE, or NULL */
    int graphql_timeout;                             /* --graphql-timeout SECONDS */
    int max_forwards;                                /* --max-forwards N */
    const char *graphql_ca;   /* --graphql-ca FILE, or NULL: the system's roots */
    int graphql_poll_ms;      /* --graphql-poll-interval SECONDS, in ms */
    const char *graphql_flag; /* the first kedro-graphql flag given, or NULL */
} ke_options;

/* The kedro-graphql runner's flags (options_graphql.c), in longopts order. */
enum {
    KE_OPT_GQL_URL,
    KE_OPT_GQL_HEADER,
    KE_OPT_GQL_HEADERS_FILE,
    KE_OPT_GQL_TIMEOUT,
    KE_OPT_GQL_MAX_FORWARDS,
    KE_OPT_GQL_CA,
    KE_OPT_GQL_POLL,
    KE_OPT_GQL_COUNT
};

/* Sets the defaults of the kedro-graphql flags. */
void ke_options_graphql_defaults(ke_options *o);

/* Parses kedro-graphql flag `which` (KE_OPT_GQL_*). KE_OK or KE_EINVAL naming the flag. */
int ke_options_graphql_flag(int which, const char *arg, ke_options *o, ke_error *err);

/* After parsing: --graphql-url is required with --runner kedro-graphql, and its flags are
 * refused with another runner. */
int ke_options_graphql_check(const ke_options *o, ke_error *err);

/* The kedro-graphql part of --help. */
void ke_options_graphql_usage(FILE *f);

/* Parses argv into opts. Returns KE_OK, or KE_EINVAL with err naming the
 * flag and what is wrong with its value. */
int ke_options_parse(int argc, char **argv, ke_options *opts, ke_error *err);

/* Prints the --help text. */
void ke_options_usage(FILE *f);

#endif
