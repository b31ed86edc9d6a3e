/* send_event.c -- the smallest libkedroevents program: send one CloudEvent to kedro-eventd
 * and print the pipelines it started. Build: cc send_event.c $(pkg-config --cflags --libs
 * kedroevents). Run: ./send_event [HOST:PORT] (default $KEDRO_EVENTS_TARGET or 127.0.0.1:50051). */
#include <kedroevents.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *data = "{\"key\": \"value\"}";
    kec_client_options opts;
    kec_client *client = NULL;
    kec_event *ev = NULL;
    kec_dispatch_result res = {0};
    kec_error err;
    size_t i;
    int rc;

    kec_error_clear(&err);
    kec_client_options_init(&opts);
    opts.target = argc > 1 ? argv[1] : NULL;
    rc = kec_client_new(&opts, &client, &err);
    if (rc == KEC_OK) /* id NULL: a new UUID */
        rc = kec_event_new(NULL, "example.com", "com.example.event", &ev, &err);
    if (rc == KEC_OK)
        rc = kec_event_set_string(ev, "datacontenttype", "application/json", &err);
    if (rc == KEC_OK)
        rc = kec_event_set_text_data(ev, data, strlen(data), &err);
    if (rc == KEC_OK)
        rc = kec_dispatch(client, ev, &res, &err);
    for (i = 0; rc == KEC_OK && i < res.count; i++)
        printf("%s %s %s\n", res.pipelines[i].id, res.pipelines[i].name,
               kec_state_name(kec_pipeline_state(&res.pipelines[i])));
    if (rc != KEC_OK)
        fprintf(stderr, "send_event: %s\n", err.msg);
    kec_dispatch_result_release(&res);
    kec_event_free(ev);
    kec_client_free(client);
    return rc == KEC_OK ? 0 : 1;
}
