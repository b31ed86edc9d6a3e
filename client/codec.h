/* codec.h -- what codec.c (events) and codec_rpc.c (EventService and health messages), the only
 * files that see nanopb types, share and offer: requests to bytes, answers to our structs. */
#ifndef KEC_CODEC_H
#define KEC_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <pb.h>

#include "kedroevents.h"

/* s, or NULL for "" (proto3 writes no empty string: nanopb must get NULL to leave it out). */
char *kec_codec_str(const char *s);

/* msg (of the nanopb type fields describes) serialized into a new buffer *buf of *len bytes
 * (free() it); what names the message in errors. */
int kec_codec_encode(const pb_msgdesc_t *fields, const void *msg, uint8_t **buf, size_t *len,
                     const char *what, kec_error *err);

/* Decodes len bytes of the nanopb type fields describes into msg (nanopb allocates: pb_release
 * it, also after a failure); code (KEC_EFORMAT or KEC_EDECODE) and what name a failure. */
int kec_codec_decode(const pb_msgdesc_t *fields, const uint8_t *buf, size_t len, void *msg,
                     int code, const char *what, kec_error *err);

/* Requests, each into a new buffer *buf of *len bytes (free() it). */
int kec_codec_create_request(const kec_pipeline_spec *spec, uint8_t **buf, size_t *len,
                             kec_error *err);
int kec_codec_get_request(const char *id, uint8_t **buf, size_t *len, kec_error *err);
int kec_codec_cancel_request(const char *id, uint8_t **buf, size_t *len, kec_error *err);
int kec_codec_retry_request(const char *id, uint8_t **buf, size_t *len, kec_error *err);
int kec_codec_list_request(const kec_list_query *q, uint8_t **buf, size_t *len, kec_error *err);
int kec_codec_health_request(uint8_t **buf, size_t *len, kec_error *err);
int kec_codec_stats_request(int window, int step, uint8_t **buf, size_t *len, kec_error *err);
int kec_codec_watch_request(const char *id, uint8_t **buf, size_t *len, kec_error *err);
int kec_codec_watch_all_request(const kec_watch_filter *f, uint8_t **buf, size_t *len,
                                kec_error *err);
/* StreamLogs (codec_logs.c): the request, and a LogChunk's bytes (*data points into buf). */
int kec_codec_logs_request(const char *id, int follow, int tail_lines, uint8_t **buf, size_t *len,
                           kec_error *err);
int kec_codec_log_chunk(const uint8_t *buf, size_t len, const uint8_t **data, size_t *dlen,
                        kec_error *err);

/* Answers: KEC_EDECODE when the bytes are not the message; out is then zeroed. */
int kec_codec_dispatch_response(const uint8_t *buf, size_t len, kec_dispatch_result *out,
                                kec_error *err);
int kec_codec_batch_response(const uint8_t *buf, size_t len, kec_dispatch_result **out,
                             size_t *count, kec_error *err);
int kec_codec_pipeline(const uint8_t *buf, size_t len, kec_pipeline *out, kec_error *err);
int kec_codec_page(const uint8_t *buf, size_t len, kec_pipeline_page *out, kec_error *err);

/* A Stats answer; KEC_EDECODE also when its buckets are more than KEC_STATS_MAX_BUCKETS. */
#define KEC_STATS_MAX_BUCKETS 360 /* the most GetStats answers: an hour of 10-second steps */
int kec_codec_stats(const uint8_t *buf, size_t len, kec_stats *out, kec_error *err);

/* A grpc.health.v1 HealthCheckResponse: *serving 1 for SERVING. */
int kec_codec_health_response(const uint8_t *buf, size_t len, int *serving, kec_error *err);

#endif
