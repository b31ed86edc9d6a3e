/* codec_logs.c -- StreamLogs' request to bytes and its LogChunk messages from them (nanopb
 * stays inside the codec files). */
#include "codec.h"

#include <pb_decode.h>
#include <stdbool.h>
#include <string.h>

#include "kedro/events/v1/events.pb.h"

int kec_codec_logs_request(const char *id, int follow, int tail_lines, uint8_t **buf, size_t *len,
                           kec_error *err)
{
    kedro_events_v1_StreamLogsRequest req = kedro_events_v1_StreamLogsRequest_init_zero;
    bool f = follow != 0;
    int32_t tail = tail_lines;

    req.id = kec_codec_str(id);
    req.follow = f ? &f : NULL;
    req.tail_lines = tail != 0 ? &tail : NULL;
    return kec_codec_encode(kedro_events_v1_StreamLogsRequest_fields, &req, buf, len,
                            "a StreamLogs request", err);
}

int kec_codec_log_chunk(const uint8_t *buf, size_t len, const uint8_t **data, size_t *dlen,
                        kec_error *err)
{
    kedro_events_v1_LogChunk m;
    int rc;

    /* all zero, as kedro_events_v1_LogChunk_init_zero says (that initializer leaves the
     * callback's span out, which clang's -Wmissing-field-initializers refuses) */
    memset(&m, 0, sizeof m);
    *data = NULL;
    *dlen = 0;
    rc = kec_codec_decode(kedro_events_v1_LogChunk_fields, buf, len, &m, KEC_EDECODE,
                          "the server's log chunk", err);
    if (rc == KEC_OK) {
        *data = m.data.at.bytes; /* inside buf */
        *dlen = m.data.at.size;
    }
    pb_release(kedro_events_v1_LogChunk_fields, &m);
    return rc;
}
