/* slow.h -- deadlines for slow and idle clients of kedro-event-shim (slow.c): a request's
 * headers and body must arrive within the read timeout, a kept-alive connection may idle for
 * the idle timeout; past either the connection is cut. No libmicrohttpd types: http.c reports
 * each connection's phase, by its socket. */
#ifndef KES_SLOW_H
#define KES_SLOW_H

typedef struct kes_slow kes_slow;           /* the watcher and its thread */
typedef struct kes_slow_conn kes_slow_conn; /* one watched connection */

/* Starts a watcher thread with the two timeouts (milliseconds, > 0). 0 on success; -1 when
 * out of memory or threads (then *out is NULL). Free it with kes_slow_free. */
int kes_slow_new(unsigned read_ms, unsigned idle_ms, kes_slow **out);

/* Stops the thread and frees s; every connection must have been closed (kes_slow_close). */
void kes_slow_free(kes_slow *s);

/* Watches a new connection on socket fd: its first request must arrive within the read
 * timeout from now. NULL when out of memory (the connection is then not watched). */
kes_slow_conn *kes_slow_open(kes_slow *s, int fd);

/* A request has begun on c (its request line arrived): unless one is already being read, its
 * headers and body must arrive within the read timeout from now. NULL c is ignored (as in
 * every kes_slow_* call below). */
void kes_slow_reading(kes_slow_conn *c);

/* c's request has arrived whole (or is being answered early): no deadline of ours applies
 * while it is processed and answered. */
void kes_slow_busy(kes_slow_conn *c);

/* c's answer has been sent and the connection stays open: the next request must begin within
 * the idle timeout. */
void kes_slow_idle(kes_slow_conn *c);

/* The connection is closing, its socket still open: c is forgotten and freed. */
void kes_slow_close(kes_slow_conn *c);

/* How many connections were cut so far. */
unsigned long kes_slow_cut_count(kes_slow *s);

#endif
