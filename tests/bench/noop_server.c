/* noop_server.c -- benchmark reference (not a test): the least a grpc core C API server can do
 * per unary call. It accepts every call on any method, receives the request message, and
 * answers an empty message with status OK; kedro-eventd's Dispatch is compared with it
 * (tests/bench/compare.sh). Like kedro-eventd, one completion-queue thread per CPU, and the
 * method compared registered with its message read before the call is handed over (as
 * kedro-eventd registers its methods: one batch less per call than an unregistered call);
 * every other method is accepted unregistered, its message read by a batch of its own.
 *
 *   noop_server [--listen ADDR] [--threads N]     (default 127.0.0.1:0, the number of CPUs)
 *
 * Prints "noop_server: listening on HOST port N"; ends on SIGTERM or SIGINT. */
#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 64
#define DEPTH 64      /* registered calls requested in advance per queue */
#define DEPTH_OTHER 4 /* unregistered ones */
#define METHOD "/kedro.events.v1.EventService/Dispatch"

enum { REQUESTED_OTHER, REQUESTED, RECEIVING, ANSWERING };

/* One call, from its request to its close. */
typedef struct call {
    grpc_completion_queue *cq;  /* its queue (calls are re-requested on it) */
    grpc_call *call;            /* the call, once it arrived */
    grpc_call_details details;  /* method and host (unregistered calls) */
    gpr_timespec deadline;      /* the call's deadline (registered calls) */
    grpc_metadata_array md;     /* the request's metadata */
    grpc_byte_buffer *request;  /* the request message */
    grpc_byte_buffer *response; /* the empty answer */
    int cancelled;              /* RECV_CLOSE_ON_SERVER's out-parameter */
    int step;                   /* REQUESTED... ANSWERING */
} call;

static grpc_server *server;
static void *method; /* METHOD, registered */

/* Asks grpc core for one more call on cq, of METHOD (registered) or of any other; the call
 * struct is freed when the call is over. */
static void request(grpc_completion_queue *cq, int registered)
{
    call *c = calloc(1, sizeof *c);
    grpc_call_error e;

    if (c == NULL)
        abort();
    c->cq = cq;
    c->step = registered ? REQUESTED : REQUESTED_OTHER;
    grpc_call_details_init(&c->details);
    grpc_metadata_array_init(&c->md);
    if (registered)
        e = grpc_server_request_registered_call(server, method, &c->call, &c->deadline, &c->md,
                                                &c->request, cq, cq, c);
    else
        e = grpc_server_request_call(server, &c->call, &c->details, &c->md, cq, cq, c);
    if (e != GRPC_CALL_OK)
        abort();
}

static void call_free(call *c)
{
    if (c->call != NULL)
        grpc_call_unref(c->call);
    grpc_call_details_destroy(&c->details);
    grpc_metadata_array_destroy(&c->md);
    if (c->request != NULL)
        grpc_byte_buffer_destroy(c->request);
    if (c->response != NULL)
        grpc_byte_buffer_destroy(c->response);
    free(c);
}

/* Answers c: an empty message, status OK, and the close. */
static int answer(call *c)
{
    grpc_op ops[4];

    memset(ops, 0, sizeof ops);
    c->step = ANSWERING;
    c->response = grpc_raw_byte_buffer_create(NULL, 0);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = c->response;
    ops[2].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[2].data.send_status_from_server.status = GRPC_STATUS_OK;
    ops[3].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[3].data.recv_close_on_server.cancelled = &c->cancelled;
    return grpc_call_start_batch(c->call, ops, 4, c, NULL) == GRPC_CALL_OK;
}

/* Moves c one step on: arrived (with its message when registered) → [receive the message] →
 * answer → free. */
static void advance(call *c, int ok)
{
    grpc_op op;

    if (ok && c->step == REQUESTED) {
        request(c->cq, 1);
        if (answer(c))
            return;
    } else if (ok && c->step == REQUESTED_OTHER) {
        request(c->cq, 0);
        c->step = RECEIVING;
        memset(&op, 0, sizeof op);
        op.op = GRPC_OP_RECV_MESSAGE;
        op.data.recv_message.recv_message = &c->request;
        if (grpc_call_start_batch(c->call, &op, 1, c, NULL) == GRPC_CALL_OK)
            return;
    } else if (ok && c->step == RECEIVING) {
        if (answer(c))
            return;
    }
    call_free(c); /* answered, cancelled, or the server is shutting down */
}

static void *worker(void *arg)
{
    grpc_completion_queue *cq = arg;
    grpc_event ev;

    for (;;) {
        ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            return NULL;
        if (ev.type == GRPC_OP_COMPLETE)
            advance(ev.tag, ev.success);
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: noop_server [--listen ADDR] [--threads N]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *listen = "127.0.0.1:0", *colon;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    grpc_completion_queue *cqs[MAX_THREADS], *done;
    pthread_t threads[MAX_THREADS];
    grpc_server_credentials *creds;
    grpc_arg arg = {GRPC_ARG_INTEGER, (char *)GRPC_ARG_ALLOW_REUSEPORT, {.integer = 0}};
    grpc_channel_args args = {1, &arg};
    sigset_t stop;
    int shut_tag, i, j, port, sig, nthreads = n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc)
            listen = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            nthreads = atoi(argv[++i]);
        else
            return usage();
    }
    if (nthreads < 1 || nthreads > MAX_THREADS)
        return usage();
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* the threads inherit it; sigwait takes them */

    grpc_init();
    server = grpc_server_create(&args, NULL);
    method = grpc_server_register_method(server, METHOD, NULL,
                                         GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
    for (i = 0; i < nthreads; i++) {
        cqs[i] = grpc_completion_queue_create_for_next(NULL);
        grpc_server_register_completion_queue(server, cqs[i], NULL);
    }
    creds = grpc_insecure_server_credentials_create();
    port = grpc_server_add_http2_port(server, listen, creds);
    grpc_server_credentials_release(creds);
    if (port == 0) {
        fprintf(stderr, "noop_server: cannot listen on %s\n", listen);
        return 1;
    }
    grpc_server_start(server);
    for (i = 0; i < nthreads; i++) {
        for (j = 0; j < DEPTH; j++)
            request(cqs[i], 1);
        for (j = 0; j < DEPTH_OTHER; j++)
            request(cqs[i], 0);
        pthread_create(&threads[i], NULL, worker, cqs[i]);
    }
    colon = strrchr(listen, ':');
    printf("noop_server: listening on %.*s port %d\n",
           (int)(colon != NULL ? colon - listen : (long)strlen(listen)), listen, port);
    fflush(stdout);

    sigwait(&stop, &sig);
    done = grpc_completion_queue_create_for_pluck(NULL);
    grpc_server_shutdown_and_notify(server, done, &shut_tag);
    grpc_server_cancel_all_calls(server);
    grpc_completion_queue_pluck(done, &shut_tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_completion_queue_shutdown(done);
    grpc_completion_queue_destroy(done);
    for (i = 0; i < nthreads; i++)
        grpc_completion_queue_shutdown(cqs[i]);
    for (i = 0; i < nthreads; i++) {
        pthread_join(threads[i], NULL);
        grpc_completion_queue_destroy(cqs[i]);
    }
    grpc_server_destroy(server);
    grpc_shutdown();
    return 0;
}
