/* route.c -- which endpoint of the shim a request's path and method name. */
#include "route.h"

#include <string.h>

#include "ui.h"

/* The route label of each route in kedro_event_shim_requests_total (shim_metrics.c). */
const char *const kes_route_names[R_COUNT] = {
    [R_OTHER] = "other",     [R_EVENT] = "event",   [R_GET_PIPELINE] = "pipeline",
    [R_LIST] = "pipelines",  [R_CREATE] = "create", [R_HEALTH] = "healthz",
    [R_METRICS] = "metrics", [R_CANCEL] = "cancel", [R_RETRY] = "retry",
    [R_LOGS] = "logs",       [R_UI] = "ui",         [R_STATS] = "stats",
    [R_WATCH] = "watch",
};

/* 405 naming the methods allowed (answered once the request has been read). */
static void wrong_method(kes_answer *a, const char *method, const char *allow)
{
    kes_answer_detail(a, 405, "method %.16s is not allowed here: use %s", method, allow);
    kes_answer_header(a, "Allow", allow);
}

int kes_route_match(const char *url, const char *method, int ui, kes_route *route, char **id_out,
                    kes_answer *a)
{
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int post = strcmp(method, "POST") == 0;
    const char *id;
    size_t n;

    if (ui && kes_ui_path(url)) {
        *route = R_UI;
        if (!get)
            wrong_method(a, method, "GET, HEAD");
        return get;
    }
    if (strcmp(url, "/event") == 0 || strcmp(url, "/event/") == 0) {
        *route = R_EVENT;
        if (!post)
            wrong_method(a, method, "POST");
        return post;
    }
    if (strcmp(url, "/stats") == 0) {
        *route = R_STATS;
        if (!get)
            wrong_method(a, method, "GET, HEAD");
        return get;
    }
    if (strcmp(url, "/healthz") == 0 || strcmp(url, "/metrics") == 0) {
        *route = url[1] == 'h' ? R_HEALTH : R_METRICS;
        if (!get)
            wrong_method(a, method, "GET, HEAD");
        return get;
    }
    if (strcmp(url, "/pipelines") == 0 || strcmp(url, "/pipelines/") == 0) {
        *route = post ? R_CREATE : R_LIST;
        if (!get && !post)
            wrong_method(a, method, "GET, HEAD, POST");
        return get || post;
    }
    if (strcmp(url, "/pipelines/watch") == 0) { /* before an id */
        *route = R_WATCH;
        if (!get)
            wrong_method(a, method, "GET");
        return get;
    }
    if (strncmp(url, "/pipelines/", 11) == 0) {
        id = url + 11;
        n = strcspn(id, "/");
        if (n > 0 && (strcmp(id + n, "/logs") == 0 || strcmp(id + n, "/watch") == 0)) {
            *route = id[n + 1] == 'l' ? R_LOGS : R_WATCH;
            if (!get) {
                wrong_method(a, method, "GET");
                return 0;
            }
            return (*id_out = strndup(id, n)) != NULL ? 1 : -1;
        }
        if (n > 0 && (id[n] == '\0' || strcmp(id + n, "/") == 0)) {
            *route = R_GET_PIPELINE;
            if (!get) {
                wrong_method(a, method, "GET, HEAD");
                return 0;
            }
            return (*id_out = strndup(id, n)) != NULL ? 1 : -1;
        }
        if (n > 0 && (strcmp(id + n, "/cancel") == 0 || strcmp(id + n, "/retry") == 0)) {
            *route = strcmp(id + n, "/cancel") == 0 ? R_CANCEL : R_RETRY;
            if (!post) {
                wrong_method(a, method, "POST");
                return 0;
            }
            return (*id_out = strndup(id, n)) != NULL ? 1 : -1;
        }
    }
    kes_answer_detail(a, 404, "Not Found");
    return 0;
}
