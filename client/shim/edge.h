/* edge.h -- the shim's checks at libmicrohttpd's edge (edge.c), for http.c: strict framing
 * on a request's first call, slow-client deadlines by connection, the rate-limited MHD log, the
 * daemon's TLS options, path unescaping and the credentials a request shows.
 * With http.c, ui.c and the streamed responses (feed.c, logs.c, watch.c), the files that
 * see libmicrohttpd. */
#ifndef KES_EDGE_H
#define KES_EDGE_H

#include <microhttpd.h>
#include <stdarg.h>

#include "framing.h"
#include "shim.h"
#include "slow.h"

/* Checks the framing of conn's request (HTTP version `version`) once its headers are in:
 * 1 when it may be read (*f says how its body is framed); 0 when it must be refused with
 * f->status and f->msg (logged, rate-limited, with the client's address); -1 when out of
 * memory. */
int kes_edge_framing(struct MHD_Connection *conn, const char *version, kes_frame *f);

/* The deadlines of conn's connection (NULL when it is not watched). */
kes_slow_conn *kes_edge_slow(struct MHD_Connection *conn);

/* MHD_OPTION_NOTIFY_CONNECTION, cls the kes_slow: a connection opens (watched from now: its
 * first request must arrive within the read timeout) or closes (forgotten, before
 * libmicrohttpd closes its socket). */
void kes_edge_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                            enum MHD_ConnectionNotificationCode code);

/* MHD_OPTION_URI_LOG_CALLBACK: a request line has arrived, before its headers; the read
 * deadline runs. Returns the request's initial state: none (NULL). */
void *kes_edge_on_request_line(void *cls, const char *uri, struct MHD_Connection *conn);

/* MHD_OPTION_EXTERNAL_LOGGER: libmicrohttpd's error log, rate-limited (a flood of malformed
 * requests must not flood it). */
void kes_edge_log(void *cls, const char *fmt, va_list ap);

/* The TLS entries of the daemon's MHD_OPTION_ARRAY (END included). */
#define KES_EDGE_TLS_OPTIONS 5

/* Fills tls (KES_EDGE_TLS_OPTIONS entries) with the daemon options of o's TLS material
 * (borrowed) and returns the MHD flags they need (0: plain HTTP); sets *client_ca when a client
 * certificate is asked for. -1 with msg when libmicrohttpd cannot serve HTTPS. */
int kes_edge_tls_options(struct MHD_OptionItem *tls, const kes_http_options *o, int *client_ca,
                         char *msg, size_t cap);

/* MHD_OPTION_UNESCAPE_CALLBACK: MHD's unescaping of the path and the query arguments (in place;
 * returns the new length), except that %00 becomes C0 80, an overlong NUL that is never valid
 * UTF-8: MHD hands both over as C strings, where a NUL would cut them ("/pipelines/%00" would
 * read as "/pipelines/"). The handlers refuse values that are not UTF-8 (pipelines.c). */
size_t kes_edge_unescape(void *cls, struct MHD_Connection *conn, char *s);

/* What conn's request shows of who sent it, for kes_access_check: its TLS session when
 * client_ca (a client certificate is asked for), its Authorization headers. */
void kes_edge_credentials(struct MHD_Connection *conn, int client_ca, kes_credentials *c);

#endif
