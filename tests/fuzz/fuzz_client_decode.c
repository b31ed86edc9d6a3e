/* fuzz_client_decode.c -- libFuzzer target: arbitrary bytes through the client library's
 * decoders (a CloudEvent and a batch, re-encoded when they decode; every answer the server
 * sends, a pipeline rendered as the shim's dict with its kedro-graphql JSON merged), as if a
 * peer sent them. */
#include <stdint.h>
#include <stdlib.h>

#include "codec.h"
#include "kedroevents.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kec_event *ev = NULL, **evs = NULL;
    kec_dispatch_result one, *many = NULL;
    kec_pipeline p;
    kec_pipeline_page page;
    uint8_t *buf = NULL;
    size_t n = 0, len;
    int serving;

    if (kec_event_decode(data, size, &ev, NULL) == KEC_OK &&
        kec_event_encode(ev, &buf, &len, NULL) == KEC_OK)
        free(buf);
    kec_event_free(ev);
    if (kec_batch_decode(data, size, &evs, &n, NULL) == KEC_OK)
        kec_events_free(evs, n);
    if (kec_codec_dispatch_response(data, size, &one, NULL) == KEC_OK)
        kec_dispatch_result_release(&one);
    if (kec_codec_batch_response(data, size, &many, &n, NULL) == KEC_OK)
        kec_dispatch_results_free(many, n);
    if (kec_codec_pipeline(data, size, &p, NULL) == KEC_OK) {
        free(kec_pipeline_to_json(&p));
        kec_pipeline_release(&p);
    }
    if (kec_codec_page(data, size, &page, NULL) == KEC_OK)
        kec_pipeline_page_release(&page);
    kec_codec_health_response(data, size, &serving, NULL);
    return 0;
}
