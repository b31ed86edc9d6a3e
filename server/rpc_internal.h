/* rpc_internal.h -- what rpc.c (the loop) and rpc_stream.c (server streams) share: the call
 * and server structures and the batch helpers. Private to those two files. */
#ifndef KE_RPC_INTERNAL_H
#define KE_RPC_INTERNAL_H

#include <grpc/grpc.h>
#include <pthread.h>
#include <stdatomic.h>

#include "rpc.h"

typedef struct rpc_stream rpc_stream; /* rpc_stream.c */

typedef enum call_state {
    ST_REQUESTED, /* waiting for grpc to hand us a call */
    ST_RECEIVING, /* a RECV_MESSAGE batch is out (streams) */
    ST_HANDLING,  /* the handler owns the call until it replies */
    ST_SENDING,   /* a reply batch is out; more may follow (streams) */
    ST_FINISHING, /* the final status batch is out */
} call_state;

/* One batch's completion tag: which call, and which of its two batch slots. */
typedef struct call_tag {
    ke_rpc_call *call; /* owner */
    int is_close;      /* 1: the RECV_CLOSE_ON_SERVER slot of a server stream */
} call_tag;

struct ke_rpc_call {
    ke_rpc *rpc;                    /* server */
    int cq;                         /* index of the queue the call lives on */
    int method;                     /* index into rpc->methods, or -1 for unknown methods */
    grpc_call *call;                /* the grpc call, NULL while requested */
    gpr_timespec deadline;          /* the client's deadline */
    grpc_metadata_array request_md; /* client metadata */
    grpc_call_details details;      /* method and host (unregistered calls only) */
    grpc_byte_buffer *payload;      /* received message, or NULL */
    grpc_byte_buffer *send_buf;     /* message being sent, or NULL */
    grpc_slice status_details;      /* status message being sent */
    int has_details;                /* status_details must be unreffed */
    int sent_initial_md;            /* initial metadata went out */
    int cancelled;                  /* filled by RECV_CLOSE_ON_SERVER */
    size_t charged;                 /* request bytes counted in rpc->inflight_bytes */
    int counted;                    /* counted in rpc->inflight_calls */
    int stream_counted;             /* counted in rpc->open_streams */
    call_state state;               /* where the call is */
    atomic_int refs;                /* outstanding batches + the handler's turn */
    call_tag tag;                   /* main batch slot */
    call_tag close_tag;             /* RECV_CLOSE slot (server streams) */
    ke_rpc_call *stream_prev;       /* neighbours in rpc->streams while a server stream is open */
    ke_rpc_call *stream_next;
    rpc_stream *stream;             /* a server stream's sending state, or NULL */
};

/* A registered method: what services gave us, plus grpc's handle. */
typedef struct method_entry {
    ke_rpc_method m; /* path, kind, handler, ctx */
    void *handle;    /* grpc_server_register_method's handle */
    int budgeted;    /* counts against the in-flight budget (every method but health's) */
} method_entry;

typedef struct worker {
    ke_rpc *rpc;               /* server */
    int index;                 /* queue index */
    grpc_completion_queue *cq; /* its queue */
    pthread_t thread;          /* its thread */
    int started;               /* thread is running */
} worker;

struct ke_rpc {
    grpc_server *server;          /* grpc server */
    method_entry *methods;        /* registered methods */
    size_t n_methods;             /* number of methods */
    worker *workers;              /* one per thread */
    int n_workers;                /* number of workers */
    int port;                     /* bound port */
    atomic_int stopping;          /* shutdown began: no more requests */
    pthread_mutex_t streams_lock; /* guards streams */
    ke_rpc_call *streams;         /* open server streams, ended at shutdown */
    int max_streams;              /* budget of open server streams; 0 = none */
    atomic_int open_streams;      /* server streams admitted and not yet over */
    int started;                  /* ke_rpc_start succeeded */
    int shut_down;                /* ke_rpc_shutdown ran */
    size_t max_inflight_bytes;    /* budget of request bytes held by calls; 0 = none */
    int max_calls;                /* budget of calls being handled; 0 = none */
    atomic_size_t inflight_bytes; /* request bytes of the calls admitted and not yet ended */
    atomic_int inflight_calls;    /* calls admitted and not yet ended */
    grpc_resource_quota *quota;   /* grpc core's memory quota, or NULL */
    struct kec_auth *auth;        /* tokens calls need (borrowed), or NULL */
};

/* Drops one reference; the last frees the call and gives back its budget. */
void rpc_call_unref(ke_rpc_call *c);

/* Starts a batch with one reference for its completion (dropped here when grpc refuses it). */
int rpc_start_batch(ke_rpc_call *c, const grpc_op *ops, size_t n, call_tag *tag);

/* Adds SEND_INITIAL_METADATA to ops unless it went out before. */
void rpc_add_initial_md(ke_rpc_call *c, grpc_op *ops, size_t *n);

/* A byte buffer holding a copy of len bytes at data. */
grpc_byte_buffer *rpc_make_buffer(const uint8_t *data, size_t len);

/* ---- rpc_stream.c */

/* Counts a new server stream against --max-streams (admit's rule for streams): 1 when
 * admitted; 0 past it, with msg saying so. Given back by release_budget. */
int rpc_stream_admit(ke_rpc_call *c, char *msg, size_t cap);

/* Opens a server stream for an admitted call: its sending state, its place in rpc->streams
 * and the RECV_CLOSE_ON_SERVER batch that tells when it is over. Returns 0, or -1 when out of
 * memory (the call is then ended). */
int rpc_stream_open(ke_rpc_call *c);

/* A batch of a server stream completed (is_close: its close slot). */
void rpc_stream_batch(ke_rpc_call *c, int ok, int is_close);

/* Ends every open server stream with UNAVAILABLE after what is queued (shutdown). */
void rpc_streams_end_all(ke_rpc *rpc);

/* Frees a call's stream state (the call's last reference went). */
void rpc_stream_free(rpc_stream *s);

#endif
