/* forward_graphql_internal.h -- what the kedro-graphql forwarder's files share: its pipelines in
 * hand, its HTTP requests and its state. */
#ifndef KE_FORWARD_GRAPHQL_INTERNAL_H
#define KE_FORWARD_GRAPHQL_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "forward_graphql.h"
#include "graphql.h"

#define KE_GF_STORE_RETRY_MS 1000 /* pause after a store error before trying again */
#define KE_GF_RECENT_FACTOR 4     /* hand-overs remembered: this many times --max-forwards */

/* A pipeline handed over lately: its children may have been taken before that committed. */
typedef struct ke_gf_recent {
    char id[KE_ID_LEN + 1]; /* our id */
    char *remote_id;        /* kedro-graphql's */
} ke_gf_recent;

typedef enum phase {
    PH_LOOKUP, /* find it in kedro-graphql by our id's tag first */
    PH_CREATE, /* create it STAGED */
    PH_UPDATE, /* update it READY (launches it) */
    PH_APPLY,  /* record upd in the store */
} phase;

typedef enum req_kind { RK_LOOKUP, RK_CREATE, RK_UPDATE, RK_MIRROR } req_kind;

/* One pipeline in hand, from the take until its outcome is recorded. */
typedef struct item {
    int used;             /* the slot holds a pipeline */
    int busy;             /* a request for it is in flight */
    phase ph;             /* what it needs next */
    int solo;             /* a request carrying it was too large (HTTP 413): sent alone */
    ke_forward_item it;   /* the taken record */
    char *remote_id;      /* kedro-graphql's id once known */
    ke_remote_update upd; /* PH_APPLY: what to record (strings below owned) */
    char *remote_json;    /* upd.remote_json */
    char *status_json;    /* upd.st.remote_json */
    char *error;          /* upd.st.error */
} item;

/* One HTTP request and what it is about. */
typedef struct req {
    CURL *easy;                   /* reused for the requests of this slot */
    int active;                   /* in the multi handle */
    req_kind kind;                /* what it asks */
    int idx[KE_GQL_MAX_READ];     /* the items it carries (not RK_MIRROR) */
    size_t n;                     /* how many */
    ke_remote_ref *refs;          /* RK_MIRROR: the forwarded rows it polls */
    size_t n_refs;                /* how many */
    char *body;                   /* the request body */
    size_t body_len;              /* its bytes */
    size_t body_pos;              /* how many libcurl has read */
    int resend_refused;           /* libcurl wanted to send a mutation again: refused */
    char *resp;                   /* the answer so far */
    size_t resp_len;              /* its bytes */
    size_t resp_cap;              /* allocated */
    int too_big;                  /* the answer passed KE_GQL_ANSWER_MAX */
    struct curl_slist *hdrs;      /* its headers */
    char errbuf[CURL_ERROR_SIZE]; /* libcurl's message on a transport failure */
} req;

struct ke_graphql_forwarder {
    ke_store *store;                   /* takes and records go here */
    char *url;                         /* copies of the options ... */
    char **headers;                    /* --graphql-header lines */
    size_t n_headers;                  /* how many */
    char *ca_file;                     /* or NULL */
    int timeout_ms;                    /* per request */
    int max_forwards;                  /* items */
    int poll_ms;                       /* the mirror's interval */
    item *items;                       /* max_forwards of them */
    ke_gf_recent *recent;              /* ring of the last hand-overs */
    size_t n_recent;                   /* entries used */
    size_t recent_pos;                 /* the next to replace */
    size_t in_hand;                    /* used items */
    req reqs[KE_GQL_MAX_REQUESTS + 1]; /* the last is the mirror's */
    CURLM *multi;                      /* the connection pool */
    long long take_after;              /* the take cursor */
    int64_t take_retry_ms;             /* no take before this (after a store error) */
    int64_t next_take_ms;              /* a take without a wake-up is due then */
    int failing;                       /* kedro-graphql's last answer was retryable failure */
    int64_t backoff_ms;                /* the current pause while failing */
    int64_t resume_ms;                 /* no forwarding request before this */
    long long mirror_after;            /* the mirror's page cursor */
    int64_t mirror_due_ms;             /* the mirror's next poll */
    pthread_mutex_t lock;              /* guards file_headers, n_file_headers */
    char **file_headers;               /* --graphql-headers-file lines */
    size_t n_file_headers;             /* how many */
    atomic_int take_due;               /* there may be READY work */
    atomic_int stopping;               /* stop was called */
    pthread_t thread;                  /* the forwarder */
    int thread_started;                /* thread must be joined */
    int stopped;                       /* it was joined */
    /* The recorder threads: the store's commits (takes on one, hand-overs on the other) happen
     * there, so that kedro-graphql's answers are read on while a commit waits for the disk. */
    pthread_mutex_t rec_lock; /* guards the members below */
    pthread_cond_t rec_cond;  /* both recorder threads wait on it (broadcast) */
    item *rq;                 /* outcomes handed to the recorder (max_forwards) */
    size_t n_rq;              /* how many */
    size_t n_recording;       /* outcomes the recorder holds, not yet committed */
    size_t take_room;         /* > 0: a take of up to this many is asked for */
    long long take_from;      /* ... past this cursor */
    int take_busy;            /* a take was asked for and its result not collected */
    int take_failed;          /* ... and it failed */
    ke_forward_item *taken;   /* its result */
    size_t n_taken;           /* how many */
    size_t taken_pos;         /* the forwarder moved taken[0..taken_pos) into items */
    int rec_stop;             /* the recorder is to end */
    pthread_t rec_thread;     /* the recorder of outcomes */
    int rec_started;          /* rec_thread must be joined */
    pthread_t take_thread;    /* the taker */
    int take_started;         /* take_thread must be joined */
};

/* Monotonic milliseconds. */
int64_t ke_gf_mono_ms(void);

/* One line on stderr: "kedro-eventd: kedro-graphql: " and fmt with a and b. */
void ke_gf_log(const char *fmt, const char *a, const char *b);

/* Frees what t owns and zeroes it (not counted in in_hand). */
void ke_gf_item_release(item *t);

/* Sends r->body (owned by r) with f's URL, headers and limits. 0, or -1 (r reset). */
int ke_gf_req_send(ke_graphql_forwarder *f, req *r);

/* Frees what r's last request held; r is free again. */
void ke_gf_req_reset(req *r);

/* Polls the next page of forwarded pipelines that have not ended, when due. */
void ke_gf_mirror_tick(ke_graphql_forwarder *f, int64_t now);

/* The mirror's answer: records the changes it shows. */
void ke_gf_mirror_done(ke_graphql_forwarder *f, req *r, const ke_gql_answer *a, int64_t now);

/* Starts / stops the recorder thread (forward_graphql_rec.c). */
int ke_gf_recorder_start(ke_graphql_forwarder *f);
void ke_gf_recorder_stop(ke_graphql_forwarder *f);

#endif
