/* test_store_faults.c -- the store under a failing disk: a wrapping SQLite VFS fails the Nth
 * write, fsync, truncate or SHM extension (ENOSPC or EIO, once or from then on), for every N
 * of a workload of group-committed accepts (with duplicates), claims and finishes; after a
 * restart, answered OK <=> stored (server/store*.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline.h"
#include "store.h"
#include "store_internal.h"

#define N_KEYS 5        /* event keys e0..e4 of the workload */
#define N_ACCEPTS 8     /* accept requests of the workload */
#define MAX_PER_EVENT 2 /* pipelines one workload event starts at most */
#define BIG_VALUE 48000 /* bytes of the large parameter: a dozen pages per row */
#define CACHE_PAGES 8   /* the store's page cache: the large rows spill to the WAL mid-batch */
#define MAX_POINTS 5000 /* injection points tried per mode at most (the loop ends well before) */

#include "faulty_vfs.h"
#include "store_dirs.h"

/* ---- the workload's answers */

typedef struct answer {
    int key;                                 /* event e<key> */
    int rc;                                  /* what the store answered */
    int duplicate;                           /* answered as a duplicate */
    size_t n;                                /* pipelines answered */
    char ids[MAX_PER_EVENT][KE_ID_LEN + 1];  /* ... their ids */
    size_t n_sent;                           /* pipelines sent */
    char sent[MAX_PER_EVENT][KE_ID_LEN + 1]; /* ... their ids */
    char msg[sizeof(((ke_error *)0)->msg)];  /* the error */
} answer;

typedef struct workload {
    pthread_mutex_t lock;            /* guards pending */
    pthread_cond_t cond;             /* pending reached 0 */
    int pending;                     /* accept callbacks still to come */
    answer acc[N_ACCEPTS];           /* accept answers, in the order sent */
    int n_acc;                       /* used entries of acc */
    int claim_rc[2];                 /* the two claims' results */
    int claimed[2];                  /* found */
    char claim_id[2][KE_ID_LEN + 1]; /* what they claimed */
    int finish_rc[2];                /* the finishes' results (when claimed) */
} workload;

static void on_accepted(void *ctx, int rc, const ke_error *err, ke_pipeline *ps, size_t n,
                        int duplicate)
{
    answer *a = ctx;
    size_t i;

    a->rc = rc;
    a->duplicate = duplicate;
    a->n = rc == KE_OK ? n : 0;
    for (i = 0; rc == KE_OK && i < n && i < MAX_PER_EVENT; i++)
        memcpy(a->ids[i], ps[i].id, KE_ID_LEN + 1);
    snprintf(a->msg, sizeof a->msg, "%s", rc != KE_OK ? err->msg : "");
    ke_pipelines_free(ps, n);
}

static workload *the_workload; /* the callbacks' completion counter lives here */

static void on_accepted_counted(void *ctx, int rc, const ke_error *err, ke_pipeline *ps, size_t n,
                                int duplicate)
{
    on_accepted(ctx, rc, err, ps, n, duplicate);
    pthread_mutex_lock(&the_workload->lock);
    if (--the_workload->pending == 0)
        pthread_cond_broadcast(&the_workload->cond);
    pthread_mutex_unlock(&the_workload->lock);
}

/* Queues an accept of event e<key> starting n pipelines (the first of key 1 carries a large
 * parameter). */
static void send_accept(ke_store *s, workload *w, int key, size_t n)
{
    answer *a = &w->acc[w->n_acc++];
    ke_pipeline *ps = calloc(n ? n : 1, sizeof *ps);
    char id[16], *big = NULL;
    size_t i;

    assert_non_null(ps);
    memset(a, 0, sizeof *a);
    a->key = key;
    a->n_sent = n;
    for (i = 0; i < n; i++) {
        assert_int_equal(ke_pipeline_init(&ps[i], i == 0 ? "event00" : "event01", KE_STATE_READY),
                         KE_OK);
        if (key == 1 && i == 0) {
            big = malloc(BIG_VALUE + 1);
            assert_non_null(big);
            memset(big, 'x', BIG_VALUE);
            big[BIG_VALUE] = '\0';
            assert_int_equal(ke_pipeline_add_param(&ps[i], "event", big, "string"), KE_OK);
            free(big);
        }
        memcpy(a->sent[i], ps[i].id, KE_ID_LEN + 1);
    }
    snprintf(id, sizeof id, "e%d", key);
    pthread_mutex_lock(&w->lock);
    w->pending++;
    pthread_mutex_unlock(&w->lock);
    ke_store_accept_async(s, "test.example", id, ps, n, on_accepted_counted, a);
}

static void wait_accepts(workload *w)
{
    pthread_mutex_lock(&w->lock);
    while (w->pending > 0)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

/* Two group commits of accepts (duplicates inside one batch and across), two claims and their
 * finishes. */
static void run_workload(ke_store *s, workload *w)
{
    ke_status st;
    ke_pipeline p;
    ke_error err;
    int i;

    ke_store_hold(s, 1);
    send_accept(s, w, 0, 2);
    send_accept(s, w, 1, 1);
    send_accept(s, w, 0, 2); /* the same key in the same transaction */
    send_accept(s, w, 2, 0); /* matches nothing: only the key is recorded */
    ke_store_hold(s, 0);
    wait_accepts(w);
    ke_store_hold(s, 1);
    send_accept(s, w, 0, 2); /* the same key, a transaction later */
    send_accept(s, w, 3, 1);
    send_accept(s, w, 1, 1);
    ke_store_hold(s, 0);
    wait_accepts(w);
    for (i = 0; i < 2; i++) {
        memset(&p, 0, sizeof p);
        ke_error_clear(&err);
        w->claim_rc[i] = ke_store_claim(s, "test", &p, &w->claimed[i], &err);
        if (w->claim_rc[i] != KE_OK || !w->claimed[i])
            continue;
        memcpy(w->claim_id[i], p.id, KE_ID_LEN + 1);
        ke_pipeline_release(&p);
        memset(&st, 0, sizeof st);
        st.state = i == 0 ? KE_STATE_SUCCESS : KE_STATE_FAILURE;
        st.finished_at = ke_now_us();
        st.has_exit_code = 1;
        st.exit_code = i;
        ke_error_clear(&err);
        w->finish_rc[i] = ke_store_finish(s, w->claim_id[i], &st, &err);
    }
}

/* ---- checking after the restart */

static int same_ids(char a[][KE_ID_LEN + 1], size_t na, char b[][KE_ID_LEN + 1], size_t nb)
{
    size_t i;

    if (na != nb)
        return 0;
    for (i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return 0;
    return 1;
}

static int stored(ke_store *s, const char *id, ke_pipeline *out)
{
    ke_pipeline p;
    ke_error err;
    int rc;

    ke_error_clear(&err);
    rc = ke_store_get(s, id, out != NULL ? out : &p, &err);
    assert_true(rc == KE_OK || rc == KE_ENOTFOUND);
    if (rc == KE_OK && out == NULL)
        ke_pipeline_release(&p);
    return rc == KE_OK;
}

/* Before the restart: what was answered OK is there, what failed is not. */
static void check_live(ke_store *s, const workload *w)
{
    size_t i;
    int j;

    for (j = 0; j < w->n_acc; j++) {
        for (i = 0; w->acc[j].rc == KE_OK && i < w->acc[j].n; i++)
            assert_true(stored(s, w->acc[j].ids[i], NULL));
        for (i = 0; w->acc[j].rc != KE_OK && i < w->acc[j].n_sent; i++)
            assert_false(stored(s, w->acc[j].sent[i], NULL));
    }
}

static long appeared; /* failed answers whose rows a restart brought back (fsync after commit) */

/* One key: every OK answer names the same, stored pipelines; failed attempts are not stored,
 * or (rows written before a failed fsync) a retry finds exactly them as a duplicate. Returns
 * how many stored pipelines the key accounts for. */
static size_t check_key(ke_store *s, const workload *w, const char *dir, int key)
{
    char canon[MAX_PER_EVENT][KE_ID_LEN + 1], id[16];
    ke_pipeline fresh, *orig = NULL;
    size_t n_canon = 0, n_orig = 0, i;
    int have = 0, dup = 0, j, rc, found_failed = -1;
    ke_error err;

    for (j = 0; j < w->n_acc; j++) {
        const answer *a = &w->acc[j];

        if (a->key != key)
            continue;
        if (a->rc != KE_OK) {
            assert_int_equal(a->rc, KE_EUNAVAIL); /* retryable, never INTERNAL */
            assert_non_null(strstr(a->msg, dir));
            for (i = 0; i < a->n_sent; i++)
                if (stored(s, a->sent[i], NULL))
                    found_failed = j;
            continue;
        }
        if (!have) {
            memcpy(canon, a->ids, sizeof canon);
            n_canon = a->n;
            have = 1;
            if (!a->duplicate)
                assert_true(same_ids((char(*)[KE_ID_LEN + 1]) a->sent, a->n_sent, canon, n_canon));
        }
        assert_true(same_ids((char(*)[KE_ID_LEN + 1]) a->ids, a->n, canon, n_canon));
        for (i = 0; i < a->n; i++)
            assert_true(stored(s, a->ids[i], NULL));
    }
    /* The retry a sender would make. */
    assert_int_equal(ke_pipeline_init(&fresh, "event00", KE_STATE_READY), KE_OK);
    snprintf(id, sizeof id, "e%d", key);
    ke_error_clear(&err);
    rc = ke_store_accept(s, "test.example", id, &fresh, 1, &orig, &n_orig, &dup, &err);
    assert_int_equal(rc, KE_OK);
    if (have) {
        assert_true(dup);
        assert_int_equal(n_orig, n_canon);
        for (i = 0; i < n_orig; i++)
            assert_string_equal(orig[i].id, canon[i]);
    } else if (found_failed >= 0) {
        const answer *a = &w->acc[found_failed];

        assert_true(dup);
        assert_int_equal(n_orig, a->n_sent);
        for (i = 0; i < n_orig; i++)
            assert_string_equal(orig[i].id, a->sent[i]);
        appeared++;
        n_canon = n_orig;
    } else if (key == 2 && dup) {
        n_canon = 0; /* e2 starts nothing: a key that reappeared holds no pipeline */
        appeared++;
    } else {
        assert_false(dup);
        n_canon = 1; /* the retry's own */
    }
    ke_pipelines_free(orig, n_orig);
    ke_pipeline_release(&fresh);
    return n_canon;
}

/* A claimed (and finished) pipeline carries STARTED (and its final status) exactly once. */
static void check_claims(ke_store *s, const workload *w, int finishes_must_be_stored)
{
    ke_pipeline p;
    size_t k, started, finals;
    int i;

    for (i = 0; i < 2; i++) {
        if (w->claim_rc[i] != KE_OK) {
            assert_int_equal(w->claim_rc[i], KE_EUNAVAIL);
            continue;
        }
        if (!w->claimed[i])
            continue;
        assert_true(stored(s, w->claim_id[i], &p));
        started = finals = 0;
        for (k = 0; k < p.n_status; k++) {
            started += p.status[k].state == KE_STATE_STARTED;
            finals +=
                p.status[k].state == KE_STATE_SUCCESS || p.status[k].state == KE_STATE_FAILURE;
        }
        assert_int_equal(started, 1);
        assert_int_equal(w->finish_rc[i], KE_OK); /* a failed commit is kept, not answered */
        assert_true(finals <= 1);
        if (finishes_must_be_stored)
            assert_int_equal(finals, 1);
        ke_pipeline_release(&p);
    }
}

/* How many stored pipelines were ever STARTED: a claim that failed left its row READY. */
static size_t count_started(ke_store *s)
{
    ke_list_query q = {0};
    ke_pipeline *ps = NULL;
    char *next = NULL;
    size_t n = 0, i, k, started = 0;
    ke_error err;

    q.limit = KE_LIST_MAX_LIMIT;
    ke_error_clear(&err);
    assert_int_equal(ke_store_list(s, &q, &ps, &n, &next, &err), KE_OK);
    for (i = 0; i < n; i++)
        for (k = 0; k < ps[i].n_status; k++)
            started += ps[i].status[k].state == KE_STATE_STARTED;
    ke_pipelines_free(ps, n);
    return started;
}

static size_t count_all(ke_store *s)
{
    ke_list_query q = {0};
    ke_pipeline *ps = NULL;
    char *next = NULL;
    size_t n = 0;
    ke_error err;

    q.limit = KE_LIST_MAX_LIMIT;
    ke_error_clear(&err);
    assert_int_equal(ke_store_list(s, &q, &ps, &n, &next, &err), KE_OK);
    assert_null(next);
    ke_pipelines_free(ps, n);
    return n;
}

/* One injection point: open (faulty), run the workload, let space return (unless the fault
 * lasts through close), check a new accept succeeds without a restart, close, reopen on the
 * plain VFS and check. Returns 1 when the fault was hit. */
static int run_point(long nth, int persist, int os_errno)
{
    /* Checkpoints after every commit exercise the database file's writes; without them (through
     * close), a close that cannot checkpoint leaves the WAL, with any frames written before a
     * failed fsync, for the restart to find. */
    ke_store_options o = {"faulty", persist == THROUGH_CLOSE ? 0 : 4, CACHE_PAGES};
    char dir[64] = "/dev/shm/ke-test-faults-XXXXXX";
    ke_store *s = NULL;
    workload w;
    ke_error err;
    size_t total = 0, after = 0;
    int key, hit, rc;

    assert_non_null(mkdtemp(dir));
    memset(&w, 0, sizeof w);
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    the_workload = &w;
    faults_arm(nth, persist, os_errno);
    ke_error_clear(&err);
    rc = ke_store_open_with(dir, &o, &s, &err);
    if (rc != KE_OK) {
        assert_non_null(strstr(err.msg, dir)); /* a failed open names the data dir */
        assert_null(s);
    } else {
        run_workload(s, &w);
        if (persist != THROUGH_CLOSE) {
            faults_disarm();
            check_live(s, &w);
            send_accept(s, &w, 4, 1); /* no sticky failure: space is back, this commits */
            wait_accepts(&w);
            assert_int_equal(w.acc[w.n_acc - 1].rc, KE_OK);
        }
        ke_store_close(s);
    }
    hit = faults_hits() > 0;
    faults_disarm();
    s = NULL;
    ke_error_clear(&err);
    assert_int_equal(ke_store_open(dir, &s, &err), KE_OK);
    after = count_all(s);
    for (key = 0; key < N_KEYS; key++)
        total += check_key(s, &w, dir, key);
    /* Nothing else is stored: no lost answer's pipelines, nothing doubled. */
    assert_int_equal(count_all(s), total);
    assert_true(after <= total);
    check_claims(s, &w, persist != THROUGH_CLOSE);
    if (persist != THROUGH_CLOSE)
        assert_int_equal(count_started(s), (size_t)(w.claimed[0] + w.claimed[1]));
    ke_store_close(s);
    remove_dir(dir);
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
    return hit;
}

/* Every injection point of one mode, until the workload runs without reaching it. */
static void every_point(int persist, int os_errno)
{
    long nth;

    appeared = 0;
    for (nth = 1; nth < MAX_POINTS; nth++)
        if (!run_point(nth, persist, os_errno))
            break;
    assert_true(nth > 1 && nth < MAX_POINTS);
    /* Rows of a failed answer come back only from a WAL a failed close left behind. */
    if (persist != THROUGH_CLOSE)
        assert_int_equal(appeared, 0);
    print_message("%ld injection points (%s, %s); %ld failed answers reappeared after restart\n",
                  nth - 1, os_errno == ENOSPC ? "ENOSPC" : "EIO",
                  persist == ONCE                  ? "once"
                  : persist == UNTIL_SPACE_RETURNS ? "until space returns"
                                                   : "through close",
                  appeared);
}

static void enospc_once_answers_ok_only_for_what_is_stored(void **state)
{
    (void)state;
    every_point(ONCE, ENOSPC);
}

static void enospc_until_space_returns_answers_ok_only_for_what_is_stored(void **state)
{
    (void)state;
    every_point(UNTIL_SPACE_RETURNS, ENOSPC);
}

static void enospc_through_close_answers_ok_only_for_what_is_stored(void **state)
{
    (void)state;
    every_point(THROUGH_CLOSE, ENOSPC);
}

static void eio_once_answers_ok_only_for_what_is_stored(void **state)
{
    (void)state;
    every_point(ONCE, EIO);
}

static void eio_until_space_returns_answers_ok_only_for_what_is_stored(void **state)
{
    (void)state;
    every_point(UNTIL_SPACE_RETURNS, EIO);
}

static void eio_through_close_answers_ok_only_for_what_is_stored(void **state)
{
    (void)state;
    every_point(THROUGH_CLOSE, EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(enospc_once_answers_ok_only_for_what_is_stored),
        cmocka_unit_test(enospc_until_space_returns_answers_ok_only_for_what_is_stored),
        cmocka_unit_test(enospc_through_close_answers_ok_only_for_what_is_stored),
        cmocka_unit_test(eio_once_answers_ok_only_for_what_is_stored),
        cmocka_unit_test(eio_until_space_returns_answers_ok_only_for_what_is_stored),
        cmocka_unit_test(eio_through_close_answers_ok_only_for_what_is_stored),
    };

    faulty_register();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
