/* rpc.h -- the gRPC server loop on grpc core's completion queues.
 *
 * The only module that sees grpc core types. Services register methods by
 * path with a handler; the loop receives each request message, calls the
 * handler, and sends what the handler answers. */
#ifndef KE_RPC_H
#define KE_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

/* gRPC status code numbers used by handlers (the gRPC spec's numbering). */
enum {
    KE_GRPC_OK = 0,
    KE_GRPC_CANCELLED = 1,
    KE_GRPC_UNKNOWN = 2,
    KE_GRPC_INVALID_ARGUMENT = 3,
    KE_GRPC_NOT_FOUND = 5,
    KE_GRPC_RESOURCE_EXHAUSTED = 8,
    KE_GRPC_FAILED_PRECONDITION = 9,
    KE_GRPC_UNIMPLEMENTED = 12,
    KE_GRPC_INTERNAL = 13,
    KE_GRPC_UNAVAILABLE = 14,
    KE_GRPC_UNAUTHENTICATED = 16,
};

struct kec_auth; /* kec_tokens.h */

typedef struct ke_rpc ke_rpc;           /* the server */
typedef struct ke_rpc_call ke_rpc_call; /* one incoming call */

/* How a method exchanges messages. */
typedef enum ke_rpc_kind {
    KE_RPC_UNARY,         /* one request, one response, then the status */
    KE_RPC_BIDI,          /* each request gets one response; ends when the client half-closes */
    KE_RPC_SERVER_STREAM, /* one request, then any number of responses and the status, sent
                             with ke_rpc_stream_* (counted against max_streams, not
                             max_calls) */
} ke_rpc_kind;

/* Called with each request message (req/len valid only during the call).
 * The handler must answer exactly once per call to it with ke_rpc_reply,
 * from any thread, now or later. */
typedef void (*ke_rpc_handler)(void *ctx, ke_rpc_call *call, const uint8_t *req, size_t len);

/* One method a service offers. */
typedef struct ke_rpc_method {
    const char *path;       /* "/package.Service/Method" */
    ke_rpc_kind kind;       /* message pattern */
    ke_rpc_handler handler; /* called per request message */
    void *ctx;              /* handed to the handler */
} ke_rpc_method;

/* Answers the request a handler was called with. status KE_GRPC_OK sends the
 * len bytes at data as the response message (copied; data may be freed after
 * the call); any other status ends the call with that status and message
 * (data ignored). For a unary call KE_GRPC_OK also ends the call with OK. For a server stream
 * it is ke_rpc_stream_send (when OK) then ke_rpc_stream_end, callable from the handler or under
 * a hold, any number of times (only the first end counts). */
void ke_rpc_reply(ke_rpc_call *call, int status, const char *message, const uint8_t *data,
                  size_t len);

/* ---- server streams (KE_RPC_SERVER_STREAM)
 *
 * A stream's handler runs once, with the request. To keep the call past its return it takes a
 * hold (ke_rpc_stream_hold, from the handler only); it then sends messages and ends the stream
 * from any thread, and gives the hold back with ke_rpc_stream_release. A handler that neither
 * holds nor ends leaves the stream open, sending nothing, until the client leaves or shutdown.
 * Shutdown ends every open stream with UNAVAILABLE "server shutting down" after what is queued
 * (and cancels what is left when the grace period is over). */

/* Called once, on a server thread, when a held stream is over for any reason: the client
 * cancelled or left, its deadline passed, the server shut down, or the status that
 * ke_rpc_stream_end asked for went out. Sends fail from then on; the owner releases the hold
 * (in the callback or later). Must not block. */
typedef void (*ke_rpc_gone_fn)(void *ctx);

/* Keeps call open past its handler (one reference) and registers on_gone(ctx). Call it from
 * the handler, at most once. */
void ke_rpc_stream_hold(ke_rpc_call *call, ke_rpc_gone_fn on_gone, void *ctx);

/* Called after each message of a held stream went out, with the bytes still queued, under the
 * stream's lock: must be quick and must not call ke_rpc_stream_* (a producer that waits for
 * room, as StreamLogs does, wakes itself up from it). */
typedef void (*ke_rpc_sent_fn)(void *ctx, size_t queued);

/* Registers on_sent(ctx) on a held stream (after ke_rpc_stream_hold); it runs until the hold is
 * given back, never after ke_rpc_stream_release returns. */
void ke_rpc_stream_on_sent(ke_rpc_call *call, ke_rpc_sent_fn on_sent, void *ctx);

/* Queues a copy of the len bytes at data as the stream's next message; grpc sends one at a
 * time, in order. Thread-safe, also while the call is ending. Returns KE_OK; KE_EUNAVAIL
 * when the stream is over or ending (nothing queued); KE_ENOMEM. */
int ke_rpc_stream_send(ke_rpc_call *call, const uint8_t *data, size_t len);

/* Bytes queued and not yet sent (what a slow reader holds). Thread-safe. */
size_t ke_rpc_stream_queued_bytes(ke_rpc_call *call);

/* Ends the stream with status (and message) once the queued messages are sent. The first end
 * counts; later ones, and ends after the call is over, do nothing. Thread-safe. */
void ke_rpc_stream_end(ke_rpc_call *call, int status, const char *message);

/* Ends the stream at once with status and message, dropping what is queued (a reader that
 * does not read would never let ke_rpc_stream_end's status out). Thread-safe. */
void ke_rpc_stream_abort(ke_rpc_call *call, int status, const char *message);

/* Gives back the hold. After on_gone ran (or from it); or earlier, to give up, from the
 * handler only (on_gone then never runs). The call must not be used after. */
void ke_rpc_stream_release(ke_rpc_call *call);

/* --max-streams' default: server streams open at once. */
#define KE_RPC_DEFAULT_MAX_STREAMS 1024

/* The most bytes one PEM file (--tls-cert, --tls-key, --tls-client-ca) may hold. */
#define KE_TLS_PEM_MAX (1u << 20)

/* Server settings. */
typedef struct ke_rpc_options {
    const char *listen;        /* "host:port" */
    int threads;               /* completion-queue threads (>= 1) */
    size_t max_message_bytes;  /* largest request accepted; larger → RESOURCE_EXHAUSTED */
    size_t max_inflight_bytes; /* request bytes held by calls at once; 0 = no limit */
    int max_calls;             /* calls handled at once; 0 = no limit */
    int max_streams;           /* server streams open at once (health's not counted); 0 = no
                                  limit; past it UNAVAILABLE KE_RPC_OVERLOADED */
    size_t memory_quota_bytes; /* grpc core's resource quota (its own buffers); 0 = none */
    int handshake_timeout_ms;  /* a new connection's handshake deadline; 0 = grpc's (120 s) */
    int max_idle_ms;           /* a connection without calls is closed after it; 0 = never */
    const char *tls_cert;      /* PEM certificate chain: serve TLS; NULL: plaintext */
    const char *tls_key;       /* PEM private key of tls_cert (required with it) */
    const char *tls_client_ca; /* PEM roots a client certificate must chain to (mutual TLS), or
                                  NULL: no client certificate asked for */
    struct kec_auth *auth;     /* bearer tokens every call but grpc.health.v1.Health needs
                                  (kec_tokens.h; borrowed, outlives the server), or NULL */
} ke_rpc_options;

/* How a refusal for load begins (UNAVAILABLE, as DESIGN 3.2 maps "overloaded"): callers tell
 * "overloaded, retry later" from "unreachable" or "shutting down" by it. */
#define KE_RPC_OVERLOADED "overloaded: "

/* Each connection carries at most this many calls at once (HTTP/2 SETTINGS_MAX_CONCURRENT_
 * STREAMS): one client cannot open thousands of streams on one connection. */
#define KE_RPC_MAX_STREAMS 100

/* grpc core's resource quota is this many times --max-inflight-bytes (main.c): a last-resort
 * bound on the buffers grpc fills before a call reaches us (requests still arriving). Past it
 * grpc itself resets streams (RESOURCE_EXHAUSTED "Received RST_STREAM with error code 11") and
 * sends connections away (UNAVAILABLE), health checks' included, so it sits far above what the
 * server's own budget lets through. */
#define KE_RPC_QUOTA_FACTOR 16

/* Creates the server, registers the methods (copied; paths must stay valid)
 * and binds the address, with TLS when opts->tls_cert is set. With opts->auth, a call
 * without an accepted token ends UNAUTHENTICATED before its handler sees it (unknown methods
 * included). Calls past max_calls or max_inflight_bytes are answered UNAVAILABLE with a
 * message starting KE_RPC_OVERLOADED, except grpc.health.v1.Health's, which are never counted
 * (nor need a token). Returns KE_OK, or KE_EIO with err naming the address when it cannot be
 * bound, or the error of ke_rpc_credentials (rpc_security.h) naming a PEM file. */
int ke_rpc_new(const ke_rpc_options *opts, const ke_rpc_method *methods, size_t n_methods,
               ke_rpc **out, ke_error *err);

/* The port bound (useful with "host:0"). */
int ke_rpc_port(const ke_rpc *rpc);

/* Starts the threads and serves until ke_rpc_shutdown. */
int ke_rpc_start(ke_rpc *rpc, ke_error *err);

/* Stops accepting calls, waits up to grace_ms for calls in flight, cancels
 * the rest, and joins the threads. Safe to call once from any thread. */
void ke_rpc_shutdown(ke_rpc *rpc, int grace_ms);

/* Frees a server after ke_rpc_shutdown; NULL is fine. */
void ke_rpc_free(ke_rpc *rpc);

#endif
