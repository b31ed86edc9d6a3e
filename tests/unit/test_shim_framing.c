/* test_shim_framing.c -- unit tests of kedro-event-shim's strict framing (client/shim/framing.c,
 * included to reach its statics) on headers as libmicrohttpd hands them over, and of the slow
 * client deadlines (client/shim/slow.c) on socket pairs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "framing.c"
#include "slow.c"

/* A header {name, value}; lengths are filled in by check(). */
#define H(n, v)                                                                                    \
    {                                                                                              \
        .name = (n), .value = (v)                                                                  \
    }

/* Checks headers h (n) of an HTTP/1.1 request; returns the status, *f the outcome. */
static int check_v(const char *version, kes_frame_header *h, size_t n, kes_frame *f)
{
    size_t i;

    for (i = 0; i < n; i++) {
        h[i].name_len = strlen(h[i].name);
        h[i].value_len = strlen(h[i].value);
    }
    return kes_framing_check(version, h, n, f);
}

static int check(kes_frame_header *h, size_t n, kes_frame *f)
{
    return check_v("HTTP/1.1", h, n, f);
}

static void framing_plain_requests_pass(void **state)
{
    kes_frame_header a[] = {H("Host", "x"), H("Content-Length", "0042")};
    kes_frame_header b[] = {H("host", "x"), H("transfer-encoding", " Chunked ,")};
    kes_frame_header c[] = {H("Content-Type", "a/b")};
    kes_frame f;

    (void)state;
    assert_int_equal(check(a, 2, &f), 0);
    assert_true(f.has_length);
    assert_int_equal(f.length, 42);
    assert_false(f.chunked);
    assert_int_equal(check(b, 2, &f), 0);
    assert_true(f.chunked);
    assert_int_equal(check_v("HTTP/1.0", c, 1, &f), 0); /* HTTP/1.0 may omit Host */
}

static void framing_length_and_encoding_together_is_400(void **state)
{
    kes_frame_header h[] = {H("Host", "x"), H("Content-Length", "5"),
                            H("Transfer-Encoding", "chunked")};
    kes_frame f;

    (void)state;
    assert_int_equal(check(h, 3, &f), 400);
    assert_non_null(strstr(f.msg, "both Content-Length and Transfer-Encoding"));
}

static void framing_repeated_or_malformed_length_is_400(void **state)
{
    kes_frame_header twice[] = {H("Host", "x"), H("Content-Length", "5"), H("content-length", "5")};
    const char *bad[] = {"", "5x", "+5", "-1", "5 5", "0x10", "12345678901234567890"};
    kes_frame_header h[] = {H("Host", "x"), H("Content-Length", NULL)};
    kes_frame f;
    size_t i;

    (void)state;
    assert_int_equal(check(twice, 3, &f), 400);
    assert_non_null(strstr(f.msg, "more than once"));
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        h[1].value = bad[i];
        assert_int_equal(check(h, 2, &f), 400);
        assert_non_null(strstr(f.msg, "is not a number of bytes"));
    }
}

static void framing_name_with_whitespace_is_400_naming_it(void **state)
{
    kes_frame_header a[] = {H("Host", "x"), H("Content-Length ", "5")};
    kes_frame_header b[] = {H("Host", "x"), H(" ce-id", "5")};
    kes_frame_header c[] = {H("Host", "x"), H("", "5")};
    kes_frame f;

    (void)state;
    assert_int_equal(check(a, 2, &f), 400);
    assert_non_null(strstr(f.msg, "'Content-Length ' is not a token"));
    assert_int_equal(check(b, 2, &f), 400);
    assert_int_equal(check(c, 2, &f), 400);
}

static void framing_folded_line_or_bare_cr_is_400(void **state)
{
    kes_frame_header a[] = {H("Host", "x"), {.name = "ce-typeb", .value = "a", .folded = 1}};
    kes_frame_header b[] = {H("Host", "x\rfoo: y")};
    kes_frame f;

    (void)state;
    assert_int_equal(check(a, 2, &f), 400);
    assert_non_null(strstr(f.msg, "obs-fold"));
    assert_non_null(strstr(f.msg, "'ce-typeb'"));
    assert_int_equal(check(b, 1, &f), 400);
    assert_non_null(strstr(f.msg, "bare CR"));
}

static void framing_host_is_required_once_in_http11(void **state)
{
    kes_frame_header none[] = {H("Content-Length", "0")};
    kes_frame_header two[] = {H("Host", "a"), H("HOST", "b")};
    kes_frame f;

    (void)state;
    assert_int_equal(check(none, 1, &f), 400);
    assert_non_null(strstr(f.msg, "needs a Host header"));
    assert_int_equal(check(two, 2, &f), 400);
    assert_int_equal(check_v("HTTP/1.0", two, 2, &f), 400);
}

static void framing_unknown_coding_is_501_and_repeated_chunked_400(void **state)
{
    kes_frame_header h[] = {H("Host", "x"), H("Transfer-Encoding", NULL),
                            H("Transfer-Encoding", NULL)};
    kes_frame f;

    (void)state;
    h[1].value = "gzip";
    assert_int_equal(check(h, 2, &f), 501);
    assert_non_null(strstr(f.msg, "'gzip' is not supported"));
    h[1].value = "gzip, chunked";
    assert_int_equal(check(h, 2, &f), 501);
    h[1].value = "chunked";
    h[2].value = "identity";
    assert_int_equal(check(h, 3, &f), 501);
    h[2].value = "chunked";
    assert_int_equal(check(h, 3, &f), 400);
    assert_non_null(strstr(f.msg, "more than once"));
    h[1].value = " , ";
    assert_int_equal(check(h, 2, &f), 400);
    assert_non_null(strstr(f.msg, "no transfer coding"));
    h[1].value = "chunked";
    assert_int_equal(check_v("HTTP/1.0", h, 2, &f), 400);
    assert_non_null(strstr(f.msg, "HTTP/1.0"));
}

static void framing_message_quotes_at_most_forty_bytes_printable(void **state)
{
    char name[200];
    kes_frame_header h[] = {H("Host", "x"), H(name, "v")};
    kes_frame f;

    (void)state;
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    name[3] = '\x01';
    name[10] = ' ';
    assert_int_equal(check(h, 2, &f), 400);
    assert_non_null(strstr(f.msg, "'aaa?aaaaaa aaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'"));
}

/* ---- slow.c ---- */

/* Whether the peer of fd sees its end shut down within 10 s. */
static int cut_soon(int peer)
{
    struct timeval tv = {10, 0};
    char c;

    setsockopt(peer, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return recv(peer, &c, 1, 0) == 0;
}

static void slow_a_reading_connection_is_cut_and_a_busy_one_is_not(void **state)
{
    int busy[2], reading[2], later[2];
    kes_slow_conn *b, *r, *l;
    kes_slow *s;

    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, busy), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, reading), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, later), 0);
    assert_int_equal(kes_slow_new(50, 60000, &s), 0);
    b = kes_slow_open(s, busy[0]);
    r = kes_slow_open(s, reading[0]);
    kes_slow_busy(b);
    kes_slow_reading(r); /* already reading: its deadline stays */
    assert_true(cut_soon(reading[1]));
    /* a connection opened after the busy one is cut: the busy one would have been first */
    l = kes_slow_open(s, later[0]);
    assert_true(cut_soon(later[1]));
    assert_int_equal(send(busy[1], "x", 1, MSG_DONTWAIT), 1);
    assert_int_equal(kes_slow_cut_count(s), 2);
    kes_slow_idle(r); /* a cut connection stays cut */
    kes_slow_close(b);
    kes_slow_close(r);
    kes_slow_close(l);
    kes_slow_free(s);
    close(busy[0]);
    close(busy[1]);
    close(reading[0]);
    close(reading[1]);
    close(later[0]);
    close(later[1]);
}

static void slow_an_idle_connection_is_cut_after_the_idle_timeout(void **state)
{
    int idle[2];
    kes_slow_conn *c;
    kes_slow *s;

    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, idle), 0);
    assert_int_equal(kes_slow_new(60000, 50, &s), 0);
    c = kes_slow_open(s, idle[0]);
    kes_slow_busy(c);
    kes_slow_idle(c);
    assert_true(cut_soon(idle[1]));
    kes_slow_close(c);
    kes_slow_free(s);
    close(idle[0]);
    close(idle[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(framing_plain_requests_pass),
        cmocka_unit_test(framing_length_and_encoding_together_is_400),
        cmocka_unit_test(framing_repeated_or_malformed_length_is_400),
        cmocka_unit_test(framing_name_with_whitespace_is_400_naming_it),
        cmocka_unit_test(framing_folded_line_or_bare_cr_is_400),
        cmocka_unit_test(framing_host_is_required_once_in_http11),
        cmocka_unit_test(framing_unknown_coding_is_501_and_repeated_chunked_400),
        cmocka_unit_test(framing_message_quotes_at_most_forty_bytes_printable),
        cmocka_unit_test(slow_a_reading_connection_is_cut_and_a_busy_one_is_not),
        cmocka_unit_test(slow_an_idle_connection_is_cut_after_the_idle_timeout),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
