"""tls.py -- HTTPS for the kedro-graphql stand-in's GraphQL port (standin.py): the flags
--tls-cert FILE --tls-key FILE (PEM; both or neither), the listening socket's wrapping, each
connection's handshake and the servers' quiet error handler. The control port stays plain
HTTP. Python's ssl module, standard library only."""

import ssl
import sys
from http.server import ThreadingHTTPServer


_context = None  # the server-side ssl.SSLContext once parse_args() loaded the flags', else None


def parse_args(ap, argv):
    """ap.parse_args(argv) with --tls-cert and --tls-key added; loads their certificate and
    key. A flag without its pair or a file that does not load is an argparse error (exit 2)
    naming the flags."""
    global _context
    ap.add_argument("--tls-cert", help="serve GraphQL over HTTPS with this PEM certificate "
                    "(chain) file; needs --tls-key; the control port stays HTTP")
    ap.add_argument("--tls-key", help="the PEM private key of --tls-cert")
    opts = ap.parse_args(argv)
    if opts.tls_cert is None and opts.tls_key is None:
        return opts
    if opts.tls_cert is None or opts.tls_key is None:
        ap.error("--tls-cert and --tls-key go together")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(opts.tls_cert, opts.tls_key)
    except (OSError, ssl.SSLError) as e:
        ap.error("--tls-cert %s / --tls-key %s: %s" % (opts.tls_cert, opts.tls_key, e))
    _context = ctx
    return opts


def scheme():
    return "https" if _context is not None else "http"


def wrap(server):
    """Wraps server's listening socket when configured. Accepted sockets are SSLSockets whose
    handshake is left to the connection's own thread (handshake(), from the handler's
    setup), so a client that stalls or refuses our certificate holds up no one else."""
    if _context is not None:
        server.socket = _context.wrap_socket(server.socket, server_side=True,
                                             do_handshake_on_connect=False)


def handshake(sock):
    """Completes the TLS handshake of an accepted socket (a plain socket: nothing to do).
    A failure raises ssl.SSLError, an OSError: the server drops the connection quietly."""
    if isinstance(sock, ssl.SSLSocket):
        sock.do_handshake()


def quiet_handle_error(server, request, client_address):
    """A server's handle_error: a client that went away, a dropped connection in mode "down"
    or a failed TLS handshake (ssl.SSLError is an OSError) is no news."""
    if not isinstance(sys.exc_info()[1], OSError):
        ThreadingHTTPServer.handle_error(server, request, client_address)
