/* edge.c -- where a connection meets libmicrohttpd before the shim reads a request: the
 * headers as parsed handed to the framing check (framing.c), each connection's phases
 * reported to the slow-client deadlines (slow.c), and libmicrohttpd's error log sent through
 * the rate-limited logger (ratelog.c). */
#include <microhttpd.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "edge.h"
#include "kec_text.h" /* kec_hex_value */

typedef struct frame_list {
    kes_frame_header *items; /* filled */
    size_t n;                /* used */
    size_t cap;              /* allocated */
} frame_list;

/* Collects a header as libmicrohttpd parsed it. MHD 0.9.75 keeps a header's name in its read
 * buffer just before the value, except when a folded line (obs-fold) was appended to the name:
 * that name is rebuilt elsewhere in the connection's memory, after the value. */
static enum MHD_Result add_frame_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                        size_t key_size, const char *value, size_t value_size)
{
    frame_list *l = cls;
    kes_frame_header *f;

    (void)kind;
    if (l->n < l->cap) {
        f = &l->items[l->n++];
        f->name = key;
        f->name_len = key_size;
        f->value = value != NULL ? value : "";
        f->value_len = value != NULL ? value_size : 0;
        f->folded = value != NULL && (uintptr_t)value <= (uintptr_t)(key + key_size);
    }
    return MHD_YES;
}

/* The numeric address of conn's client into buf (cap bytes), "?" when unknown. */
static void client_address(struct MHD_Connection *conn, char *buf, size_t cap)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = i != NULL ? i->client_addr : NULL;
    socklen_t len = sa != NULL && sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                            : sizeof(struct sockaddr_in);

    if (sa == NULL || getnameinfo(sa, len, buf, (socklen_t)cap, NULL, 0, NI_NUMERICHOST) != 0)
        snprintf(buf, cap, "?");
}

int kes_edge_framing(struct MHD_Connection *conn, const char *version, kes_frame *f)
{
    char addr[NI_MAXHOST];
    frame_list l;
    int n;

    n = MHD_get_connection_values_n(conn, MHD_HEADER_KIND, NULL, NULL);
    l.cap = n > 0 ? (size_t)n : 0;
    l.n = 0;
    if ((l.items = calloc(l.cap + 1, sizeof *l.items)) == NULL)
        return -1;
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, add_frame_header, &l);
    kes_framing_check(version, l.items, l.n, f);
    free(l.items);
    if (f->status == 0)
        return 1;
    client_address(conn, addr, sizeof addr);
    kes_log("refused a request from %s (%d): %s", addr, f->status, f->msg);
    return 0;
}

kes_slow_conn *kes_edge_slow(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return i != NULL ? i->socket_context : NULL;
}

void kes_edge_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                            enum MHD_ConnectionNotificationCode code)
{
    kes_slow *slow = cls;
    const union MHD_ConnectionInfo *i;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        i = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = i != NULL ? kes_slow_open(slow, i->connect_fd) : NULL;
    } else {
        kes_slow_close(*socket_context);
        *socket_context = NULL;
    }
}

void *kes_edge_on_request_line(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)uri;
    kes_slow_reading(kes_edge_slow(conn));
    return NULL;
}

void kes_edge_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    kes_vlog("libmicrohttpd: ", fmt, ap);
}

/* ---- the daemon's options ---- */

#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

int kes_edge_tls_options(struct MHD_OptionItem *tls, const kes_http_options *o, int *client_ca,
                         char *msg, size_t cap)
{
    size_t n = 0;

    if (o->tls_cert == NULL) {
        tls[0] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
        return 0;
    }
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(msg, cap, "this libmicrohttpd was built without TLS: HTTPS is not available");
        return -1;
    }
    tls[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)o->tls_cert};
    tls[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->tls_key};
    tls[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, TLS_PRIORITIES};
    if (o->tls_client_ca != NULL) {
        /* MHD asks for a client certificate but does not refuse a connection without a valid
         * one: http.c's access_allowed does */
        tls[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, (void *)o->tls_client_ca};
        *client_ca = 1;
    }
    tls[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    return MHD_USE_TLS;
}

size_t kes_edge_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    char *r = s, *w = s;
    int hi, lo;

    (void)cls;
    (void)conn;
    while (*r != '\0') {
        hi = r[0] == '%' ? kec_hex_value(r[1]) : -1;
        lo = hi >= 0 ? kec_hex_value(r[2]) : -1;
        if (lo < 0) {
            *w++ = *r++;
        } else if (hi == 0 && lo == 0) {
            *w++ = (char)0xC0; /* two bytes for three: w stays behind r */
            *w++ = (char)0x80;
            r += 3;
        } else {
            *w++ = (char)(hi * 16 + lo);
            r += 3;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

static enum MHD_Result count_authorization(void *cls, enum MHD_ValueKind kind, const char *key,
                                           size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    (void)value;
    (void)value_size;
    if (key_size == strlen(MHD_HTTP_HEADER_AUTHORIZATION) &&
        strcasecmp(key, MHD_HTTP_HEADER_AUTHORIZATION) == 0)
        (*(unsigned *)cls)++;
    return MHD_YES;
}

void kes_edge_credentials(struct MHD_Connection *conn, int client_ca, kes_credentials *c)
{
    const union MHD_ConnectionInfo *ci;

    memset(c, 0, sizeof *c);
    if (client_ca) {
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        c->tls_session = ci != NULL ? ci->tls_session : NULL;
    }
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, count_authorization, &c->n_authorization);
    if (MHD_lookup_connection_value_n(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION,
                                      strlen(MHD_HTTP_HEADER_AUTHORIZATION), &c->authorization,
                                      &c->authorization_len) != MHD_YES)
        c->authorization = NULL;
}
