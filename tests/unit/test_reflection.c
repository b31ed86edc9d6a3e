/* test_reflection.c -- unit tests of server reflection (reflection.c) and health (health.c).
 *
 * The handlers are reached through the method tables; this file defines
 * ke_rpc_reply and the ke_rpc_stream_* calls itself to record their answers, so the linker
 * takes them from here and never pulls rpc.c's from libke_server.a. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "grpc/reflection/v1alpha/reflection.pb-c.h"
#include "health.h"
#include "reflection.h"

typedef Grpc__Reflection__V1alpha__ServerReflectionRequest refl_req;
typedef Grpc__Reflection__V1alpha__ServerReflectionResponse refl_res;

/* ---- a recording ke_rpc_reply */

/* What the last handler answered. */
static struct {
    int calls;     /* ke_rpc_reply calls since reply_reset */
    int status;    /* last status */
    char msg[512]; /* last message ("" for NULL) */
    uint8_t *data; /* copy of the last data (malloc'd), or NULL */
    size_t len;    /* bytes in data */
} reply;

static void reply_reset(void)
{
    free(reply.data);
    memset(&reply, 0, sizeof reply);
}

void ke_rpc_reply(ke_rpc_call *call, int status, const char *message, const uint8_t *data,
                  size_t len)
{
    (void)call;
    free(reply.data);
    reply.data = NULL;
    reply.calls++;
    reply.status = status;
    snprintf(reply.msg, sizeof reply.msg, "%s", message != NULL ? message : "");
    reply.len = 0;
    if (status == KE_GRPC_OK) {
        reply.data = malloc(len > 0 ? len : 1);
        assert_non_null(reply.data);
        if (len > 0)
            memcpy(reply.data, data, len);
        reply.len = len;
    }
}

/* ---- recording server-stream calls (health Watch): a send is recorded as an OK reply */

#define MAX_HOLDS 16
static struct {
    ke_rpc_gone_fn fn[MAX_HOLDS]; /* each hold's on_gone */
    void *ctx[MAX_HOLDS];         /* its context */
    int n;                        /* holds taken */
} holds;

void ke_rpc_stream_hold(ke_rpc_call *call, ke_rpc_gone_fn on_gone, void *ctx)
{
    (void)call;
    assert_true(holds.n < MAX_HOLDS);
    holds.fn[holds.n] = on_gone;
    holds.ctx[holds.n++] = ctx;
}

int ke_rpc_stream_send(ke_rpc_call *call, const uint8_t *data, size_t len)
{
    ke_rpc_reply(call, KE_GRPC_OK, NULL, data, len);
    return KE_OK;
}

size_t ke_rpc_stream_queued_bytes(ke_rpc_call *call)
{
    (void)call;
    return 0;
}

void ke_rpc_stream_end(ke_rpc_call *call, int status, const char *message)
{
    ke_rpc_reply(call, status, message, NULL, 0);
}

void ke_rpc_stream_abort(ke_rpc_call *call, int status, const char *message)
{
    ke_rpc_reply(call, status, message, NULL, 0);
}

void ke_rpc_stream_release(ke_rpc_call *call)
{
    (void)call;
}

/* Every held stream is over (what the server does at shutdown). */
static void holds_gone(void)
{
    int i;

    for (i = 0; i < holds.n; i++)
        holds.fn[i](holds.ctx[i]);
    holds.n = 0;
}

/* ---- helpers */

static int setup_reflection(void **state)
{
    ke_error err;
    ke_reflection *r = NULL;

    ke_error_clear(&err);
    if (ke_reflection_new(ke_descriptor_set, ke_descriptor_set_len, &r, &err) != KE_OK) {
        fprintf(stderr, "ke_reflection_new: %s\n", err.msg);
        return -1;
    }
    *state = r;
    return 0;
}

static int teardown_reflection(void **state)
{
    ke_reflection_free(*state);
    reply_reset();
    return 0;
}

/* Packs req, asks r, and returns the unpacked response (asserting KE_OK). */
static refl_res *ask(const ke_reflection *r, const refl_req *req)
{
    size_t n = grpc__reflection__v1alpha__server_reflection_request__get_packed_size(req);
    uint8_t *buf = malloc(n > 0 ? n : 1), *resp = NULL;
    size_t resp_len = 0;
    refl_res *res;
    ke_error err;

    assert_non_null(buf);
    grpc__reflection__v1alpha__server_reflection_request__pack(req, buf);
    ke_error_clear(&err);
    assert_int_equal(ke_reflection_answer(r, buf, n, &resp, &resp_len, &err), KE_OK);
    res = grpc__reflection__v1alpha__server_reflection_response__unpack(NULL, resp_len, resp);
    assert_non_null(res);
    free(resp);
    free(buf);
    return res;
}

static refl_res *ask_symbol(const ke_reflection *r, const char *symbol)
{
    refl_req req = GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__INIT;

    req.message_request_case =
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL;
    req.file_containing_symbol = (char *)symbol;
    return ask(r, &req);
}

static refl_res *ask_file(const ke_reflection *r, const char *file)
{
    refl_req req = GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__INIT;

    req.message_request_case =
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME;
    req.file_by_filename = (char *)file;
    return ask(r, &req);
}

/* The name of the i-th file of a file_descriptor_response, in names[i]
 * (at most cap files); returns how many there are. */
static size_t file_names(const refl_res *res, char names[][128], size_t cap)
{
    const Grpc__Reflection__V1alpha__FileDescriptorResponse *fdr;
    size_t i;

    assert_int_equal(
        res->message_response_case,
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE);
    fdr = res->file_descriptor_response;
    assert_true(fdr->n_file_descriptor_proto <= cap);
    for (i = 0; i < fdr->n_file_descriptor_proto; i++) {
        Google__Protobuf__FileDescriptorProto *fd = google__protobuf__file_descriptor_proto__unpack(
            NULL, fdr->file_descriptor_proto[i].len, fdr->file_descriptor_proto[i].data);

        assert_non_null(fd);
        assert_non_null(fd->name);
        snprintf(names[i], 128, "%s", fd->name);
        google__protobuf__file_descriptor_proto__free_unpacked(fd, NULL);
    }
    return fdr->n_file_descriptor_proto;
}

/* How many of the n names equal name. */
static int count_name(char names[][128], size_t n, const char *name)
{
    int c = 0;
    size_t i;

    for (i = 0; i < n; i++)
        c += strcmp(names[i], name) == 0;
    return c;
}

/* Asserts res is an error_response with code and a message containing part. */
static void assert_error(const refl_res *res, int code, const char *part)
{
    assert_int_equal(
        res->message_response_case,
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE);
    assert_int_equal(res->error_response->error_code, code);
    assert_non_null(strstr(res->error_response->error_message, part));
}

static void free_res(refl_res *res)
{
    grpc__reflection__v1alpha__server_reflection_response__free_unpacked(res, NULL);
}

/* ---- reflection */

static void list_services_names_the_four_services(void **state)
{
    refl_req req = GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__INIT;
    const char *want[] = {"kedro.events.v1.EventService", "grpc.health.v1.Health",
                          "grpc.reflection.v1alpha.ServerReflection",
                          "grpc.reflection.v1.ServerReflection"};
    refl_res *res;
    size_t i, j;

    req.message_request_case =
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES;
    req.list_services = "*";
    res = ask(*state, &req);
    assert_int_equal(
        res->message_response_case,
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE);
    assert_int_equal(res->list_services_response->n_service, 4);
    for (i = 0; i < 4; i++) {
        int found = 0;

        for (j = 0; j < res->list_services_response->n_service; j++)
            found += strcmp(res->list_services_response->service[j]->name, want[i]) == 0;
        assert_int_equal(found, 1);
    }
    free_res(res);
}

static void service_symbol_returns_its_file_first_then_transitive_imports_once(void **state)
{
    refl_res *res = ask_symbol(*state, "kedro.events.v1.EventService");
    char names[16][128];
    size_t n = file_names(res, names, 16);

    assert_int_equal(n, 4);
    assert_string_equal(names[0], "kedro/events/v1/events.proto");
    assert_int_equal(count_name(names, n, "cloudevents/v1/cloudevents.proto"), 1);
    assert_int_equal(count_name(names, n, "google/protobuf/timestamp.proto"), 1);
    assert_int_equal(count_name(names, n, "google/protobuf/any.proto"), 1);
    free_res(res);
}

static void method_symbol_resolves_to_the_service_file(void **state)
{
    refl_res *res = ask_symbol(*state, "kedro.events.v1.EventService.Dispatch");
    char names[16][128];

    assert_true(file_names(res, names, 16) >= 1);
    assert_string_equal(names[0], "kedro/events/v1/events.proto");
    free_res(res);
}

static void nested_type_resolves_to_cloudevents_proto(void **state)
{
    refl_res *res = ask_symbol(*state, "io.cloudevents.v1.CloudEvent.CloudEventAttributeValue");
    char names[16][128];
    size_t n = file_names(res, names, 16);

    assert_int_equal(n, 3);
    assert_string_equal(names[0], "cloudevents/v1/cloudevents.proto");
    assert_int_equal(count_name(names, n, "google/protobuf/any.proto"), 1);
    assert_int_equal(count_name(names, n, "google/protobuf/timestamp.proto"), 1);
    free_res(res);
}

static void nested_enum_and_its_value_resolve(void **state)
{
    refl_res *res = ask_symbol(*state, "grpc.health.v1.HealthCheckResponse.ServingStatus");
    char names[4][128];

    assert_int_equal(file_names(res, names, 4), 1);
    assert_string_equal(names[0], "grpc/health/v1/health.proto");
    free_res(res);
    /* Enum values are scoped beside their enum, as protobuf does. */
    res = ask_symbol(*state, "grpc.health.v1.HealthCheckResponse.SERVING");
    assert_int_equal(file_names(res, names, 4), 1);
    free_res(res);
}

static void unknown_symbol_answers_not_found_naming_it(void **state)
{
    refl_res *res = ask_symbol(*state, "kedro.events.v1.NoSuchThing");

    assert_error(res, 5, "\"kedro.events.v1.NoSuchThing\"");
    free_res(res);
    /* A package is not a symbol. */
    res = ask_symbol(*state, "kedro.events.v1");
    assert_error(res, 5, "kedro.events.v1");
    free_res(res);
}

static void error_message_quotes_bad_utf8_and_long_names_cleanly(void **state)
{
    char name[2048];
    refl_res *res;
    size_t n;

    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    name[0] = (char)0xff;
    name[1] = (char)0xc3; /* a lead byte without its continuation */
    res = ask_symbol(*state, name);
    assert_error(res, 5, "\"\\xff\\xc3xxx");
    n = strlen(res->error_response->error_message);
    assert_true(n < 400);
    assert_non_null(strstr(res->error_response->error_message, "\"... not found"));
    free_res(res);
}

static void file_by_filename_returns_the_file_then_its_imports(void **state)
{
    refl_res *res = ask_file(*state, "cloudevents/v1/cloudevents.proto");
    char names[16][128];
    size_t n = file_names(res, names, 16);

    assert_int_equal(n, 3);
    assert_string_equal(names[0], "cloudevents/v1/cloudevents.proto");
    free_res(res);
    res = ask_file(*state, "google/protobuf/any.proto");
    assert_int_equal(file_names(res, names, 16), 1);
    assert_string_equal(names[0], "google/protobuf/any.proto");
    free_res(res);
}

static void unknown_file_answers_not_found_naming_it(void **state)
{
    refl_res *res = ask_file(*state, "nope/missing.proto");

    assert_error(res, 5, "\"nope/missing.proto\"");
    free_res(res);
}

static void response_echoes_host_and_original_request(void **state)
{
    refl_req req = GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__INIT;
    refl_res *res;

    req.host = "localhost:50051";
    req.message_request_case =
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL;
    req.file_containing_symbol = "grpc.health.v1.Health";
    res = ask(*state, &req);
    assert_string_equal(res->valid_host, "localhost:50051");
    assert_non_null(res->original_request);
    assert_string_equal(res->original_request->host, "localhost:50051");
    assert_int_equal(res->original_request->message_request_case, req.message_request_case);
    assert_string_equal(res->original_request->file_containing_symbol, "grpc.health.v1.Health");
    free_res(res);
}

static void extension_numbers_of_known_type_are_an_empty_list(void **state)
{
    refl_req req = GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__INIT;
    refl_res *res;

    req.message_request_case =
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE;
    req.all_extension_numbers_of_type = "io.cloudevents.v1.CloudEvent";
    res = ask(*state, &req);
    assert_int_equal(
        res->message_response_case,
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE);
    assert_string_equal(res->all_extension_numbers_response->base_type_name,
                        "io.cloudevents.v1.CloudEvent");
    assert_int_equal(res->all_extension_numbers_response->n_extension_number, 0);
    free_res(res);

    /* A service is not a message type. */
    req.all_extension_numbers_of_type = "kedro.events.v1.EventService";
    res = ask(*state, &req);
    assert_error(res, 5, "\"kedro.events.v1.EventService\"");
    free_res(res);
}

static void file_containing_extension_answers_not_found_without_extensions(void **state)
{
    refl_req req = GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__INIT;
    Grpc__Reflection__V1alpha__ExtensionRequest ext =
        GRPC__REFLECTION__V1ALPHA__EXTENSION_REQUEST__INIT;
    refl_res *res;

    ext.containing_type = "io.cloudevents.v1.CloudEvent";
    ext.extension_number = 1000;
    req.message_request_case =
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION;
    req.file_containing_extension = &ext;
    res = ask(*state, &req);
    assert_error(res, 5, "extension 1000 of \"io.cloudevents.v1.CloudEvent\"");
    free_res(res);
    ext.containing_type = "no.Such";
    res = ask(*state, &req);
    assert_error(res, 5, "type \"no.Such\"");
    free_res(res);
}

static void request_without_a_kind_answers_unimplemented(void **state)
{
    refl_req req = GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__INIT;
    refl_res *res = ask(*state, &req);

    assert_error(res, 12, "not supported");
    free_res(res);
}

static void malformed_request_is_einval_naming_the_type(void **state)
{
    const uint8_t bad[] = {0x22, 0x10, 'a'}; /* field 4, length 16, one byte present */
    uint8_t *resp = (uint8_t *)"x";
    size_t resp_len = 7;
    ke_error err;

    ke_error_clear(&err);
    assert_int_equal(ke_reflection_answer(*state, bad, sizeof bad, &resp, &resp_len, &err),
                     KE_EINVAL);
    assert_null(resp);
    assert_int_equal(resp_len, 0);
    assert_non_null(strstr(err.msg, "grpc.reflection.v1alpha.ServerReflectionRequest"));
}

static void methods_serve_v1alpha_and_v1_as_bidi(void **state)
{
    ke_rpc_method m[4];

    assert_int_equal(ke_reflection_methods(*state, NULL, 0), 2);
    assert_int_equal(ke_reflection_methods(*state, m, 4), 2);
    assert_string_equal(m[0].path,
                        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo");
    assert_string_equal(m[1].path, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo");
    assert_int_equal(m[0].kind, KE_RPC_BIDI);
    assert_int_equal(m[1].kind, KE_RPC_BIDI);
    assert_ptr_equal(m[0].ctx, *state);
}

static void handler_replies_ok_with_the_answer_and_invalid_argument_when_malformed(void **state)
{
    refl_req req = GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__INIT;
    const uint8_t bad[] = {0xff};
    uint8_t buf[64];
    ke_rpc_method m[2];
    refl_res *res;
    size_t n;

    ke_reflection_methods(*state, m, 2);
    req.message_request_case =
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES;
    req.list_services = "";
    n = grpc__reflection__v1alpha__server_reflection_request__pack(&req, buf);
    reply_reset();
    m[1].handler(m[1].ctx, NULL, buf, n);
    assert_int_equal(reply.calls, 1);
    assert_int_equal(reply.status, KE_GRPC_OK);
    res =
        grpc__reflection__v1alpha__server_reflection_response__unpack(NULL, reply.len, reply.data);
    assert_non_null(res);
    assert_int_equal(res->list_services_response->n_service, 4);
    free_res(res);

    reply_reset();
    m[0].handler(m[0].ctx, NULL, bad, sizeof bad);
    assert_int_equal(reply.calls, 1);
    assert_int_equal(reply.status, KE_GRPC_INVALID_ARGUMENT);
    assert_non_null(strstr(reply.msg, "ServerReflectionRequest"));
}

/* ---- ke_reflection_new on hand-built sets */

/* Packs a set of the n files into a malloc'd buffer. */
static uint8_t *pack_set(Google__Protobuf__FileDescriptorProto **files, size_t n, size_t *len)
{
    Google__Protobuf__FileDescriptorSet set = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_SET__INIT;
    uint8_t *buf;

    set.n_file = n;
    set.file = files;
    *len = google__protobuf__file_descriptor_set__get_packed_size(&set);
    buf = malloc(*len > 0 ? *len : 1);
    assert_non_null(buf);
    google__protobuf__file_descriptor_set__pack(&set, buf);
    return buf;
}

static void new_rejects_a_malformed_set(void **state)
{
    static char sentinel; /* *out must be reset to NULL on failure */
    const uint8_t bad[] = {0x0a, 0x05, 0x0a};
    ke_reflection *r = (ke_reflection *)&sentinel;
    ke_error err;

    (void)state;
    ke_error_clear(&err);
    assert_int_equal(ke_reflection_new(bad, sizeof bad, &r, &err), KE_EINVAL);
    assert_null(r);
    assert_non_null(strstr(err.msg, "FileDescriptorSet"));
}

static void new_rejects_an_import_the_set_lacks(void **state)
{
    Google__Protobuf__FileDescriptorProto a = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
    Google__Protobuf__FileDescriptorProto *files[] = {&a};
    char *deps[] = {"missing.proto"};
    ke_reflection *r = NULL;
    ke_error err;
    uint8_t *buf;
    size_t len;

    (void)state;
    a.name = "a.proto";
    a.package = "a";
    a.n_dependency = 1;
    a.dependency = deps;
    buf = pack_set(files, 1, &len);
    ke_error_clear(&err);
    assert_int_equal(ke_reflection_new(buf, len, &r, &err), KE_EINVAL);
    assert_null(r);
    assert_non_null(strstr(err.msg, "\"missing.proto\""));
    free(buf);
}

static void new_rejects_a_symbol_defined_twice(void **state)
{
    Google__Protobuf__FileDescriptorProto a = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
    Google__Protobuf__FileDescriptorProto b = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
    Google__Protobuf__FileDescriptorProto *files[] = {&a, &b};
    Google__Protobuf__DescriptorProto m = GOOGLE__PROTOBUF__DESCRIPTOR_PROTO__INIT;
    Google__Protobuf__DescriptorProto *msgs[] = {&m};
    ke_reflection *r = NULL;
    ke_error err;
    uint8_t *buf;
    size_t len;

    (void)state;
    m.name = "M";
    a.name = "a.proto";
    b.name = "b.proto";
    a.package = b.package = "p";
    a.n_message_type = b.n_message_type = 1;
    a.message_type = b.message_type = msgs;
    buf = pack_set(files, 2, &len);
    ke_error_clear(&err);
    assert_int_equal(ke_reflection_new(buf, len, &r, &err), KE_EINVAL);
    assert_null(r);
    assert_non_null(strstr(err.msg, "\"p.M\""));
    free(buf);
}

static void extensions_in_the_set_are_found_by_type_and_number(void **state)
{
    Google__Protobuf__FileDescriptorProto f = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_PROTO__INIT;
    Google__Protobuf__FileDescriptorProto *files[] = {&f};
    Google__Protobuf__DescriptorProto m = GOOGLE__PROTOBUF__DESCRIPTOR_PROTO__INIT;
    Google__Protobuf__DescriptorProto *msgs[] = {&m};
    Google__Protobuf__FieldDescriptorProto x = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__INIT;
    Google__Protobuf__FieldDescriptorProto *exts[] = {&x};
    Grpc__Reflection__V1alpha__ExtensionRequest ext =
        GRPC__REFLECTION__V1ALPHA__EXTENSION_REQUEST__INIT;
    refl_req req = GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__INIT;
    ke_reflection *r = NULL;
    char names[4][128];
    refl_res *res;
    ke_error err;
    uint8_t *buf;
    size_t len;

    (void)state;
    m.name = "Base";
    x.name = "extra";
    x.has_number = 1;
    x.number = 100;
    x.extendee = ".e.Base";
    f.name = "e.proto";
    f.package = "e";
    f.syntax = "proto2";
    f.n_message_type = 1;
    f.message_type = msgs;
    f.n_extension = 1;
    f.extension = exts;
    buf = pack_set(files, 1, &len);
    ke_error_clear(&err);
    assert_int_equal(ke_reflection_new(buf, len, &r, &err), KE_OK);
    free(buf);

    req.message_request_case =
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE;
    req.all_extension_numbers_of_type = "e.Base";
    res = ask(r, &req);
    assert_int_equal(res->all_extension_numbers_response->n_extension_number, 1);
    assert_int_equal(res->all_extension_numbers_response->extension_number[0], 100);
    free_res(res);

    ext.containing_type = "e.Base";
    ext.extension_number = 100;
    req.message_request_case =
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION;
    req.file_containing_extension = &ext;
    res = ask(r, &req);
    assert_int_equal(file_names(res, names, 4), 1);
    assert_string_equal(names[0], "e.proto");
    free_res(res);

    res = ask_symbol(r, "e.extra");
    assert_int_equal(file_names(res, names, 4), 1);
    free_res(res);
    ke_reflection_free(r);
}

/* ---- health */

static int setup_health(void **state)
{
    ke_error err;
    ke_health *h = NULL;

    ke_error_clear(&err);
    if (ke_health_new(&h, &err) != KE_OK)
        return -1;
    *state = h;
    return 0;
}

static int teardown_reply(void **state)
{
    (void)state;
    reply_reset();
    return 0;
}

static int teardown_health(void **state)
{
    holds_gone();
    ke_health_free(*state);
    reply_reset();
    return 0;
}

/* Calls method i (0 Check, 1 Watch) of h with a request for service; returns
 * the status it answered with OK, or -1 when it answered an error. */
static int call_health(ke_health *h, int i, const char *service)
{
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    Grpc__Health__V1__HealthCheckResponse *res;
    ke_rpc_method m[2];
    uint8_t buf[256];
    size_t n;
    int st;

    assert_int_equal(ke_health_methods(h, m, 2), 2);
    req.service = (char *)service;
    assert_true(grpc__health__v1__health_check_request__get_packed_size(&req) <= sizeof buf);
    n = grpc__health__v1__health_check_request__pack(&req, buf);
    reply_reset();
    m[i].handler(m[i].ctx, NULL, buf, n);
    assert_int_equal(reply.calls, 1);
    if (reply.status != KE_GRPC_OK)
        return -1;
    res = grpc__health__v1__health_check_response__unpack(NULL, reply.len, reply.data);
    assert_non_null(res);
    st = res->status;
    grpc__health__v1__health_check_response__free_unpacked(res, NULL);
    return st;
}

static void health_server_and_event_service_are_serving(void **state)
{
    assert_int_equal(ke_health_status_for(*state, ""), KE_HEALTH_SERVING);
    assert_int_equal(ke_health_status_for(*state, "kedro.events.v1.EventService"),
                     KE_HEALTH_SERVING);
    assert_int_equal(call_health(*state, 0, ""), KE_HEALTH_SERVING);
    assert_int_equal(call_health(*state, 0, "kedro.events.v1.EventService"), KE_HEALTH_SERVING);
}

static void health_not_serving_after_set_serving_0_and_back(void **state)
{
    ke_health_set_serving(*state, 0);
    assert_int_equal(call_health(*state, 0, ""), KE_HEALTH_NOT_SERVING);
    assert_int_equal(call_health(*state, 1, "kedro.events.v1.EventService"), KE_HEALTH_NOT_SERVING);
    ke_health_set_serving(*state, 1);
    assert_int_equal(call_health(*state, 0, ""), KE_HEALTH_SERVING);
}

static void health_check_of_unknown_service_is_not_found_naming_it(void **state)
{
    assert_int_equal(ke_health_status_for(*state, "x"), KE_HEALTH_SERVICE_UNKNOWN);
    assert_int_equal(call_health(*state, 0, "x"), -1);
    assert_int_equal(reply.status, KE_GRPC_NOT_FOUND);
    assert_string_equal(reply.msg, "unknown service \"x\"");
}

static void health_watch_of_unknown_service_answers_service_unknown(void **state)
{
    assert_int_equal(call_health(*state, 1, "x"), KE_HEALTH_SERVICE_UNKNOWN);
    assert_int_equal(call_health(*state, 1, ""), KE_HEALTH_SERVING);
}

static void health_watch_is_told_not_serving_when_shutdown_begins(void **state)
{
    Grpc__Health__V1__HealthCheckResponse *res;

    holds_gone(); /* earlier tests' watchers (the group shares one service) */
    ke_health_set_serving(*state, 1);
    assert_int_equal(call_health(*state, 1, ""), KE_HEALTH_SERVING);
    reply_reset();
    ke_health_set_serving(*state, 0);
    assert_int_equal(reply.calls, 1); /* the change, once */
    res = grpc__health__v1__health_check_response__unpack(NULL, reply.len, reply.data);
    assert_non_null(res);
    assert_int_equal(res->status, KE_HEALTH_NOT_SERVING);
    grpc__health__v1__health_check_response__free_unpacked(res, NULL);
    reply_reset();
    ke_health_set_serving(*state, 0); /* no change: nothing sent */
    assert_int_equal(reply.calls, 0);
    holds_gone();
    ke_health_set_serving(*state, 1); /* a watcher that left is told nothing */
    assert_int_equal(reply.calls, 0);
}

static void health_malformed_request_is_invalid_argument(void **state)
{
    const uint8_t bad[] = {0x0a, 0x09, 'x'};
    ke_rpc_method m[2];
    int i;

    ke_health_methods(*state, m, 2);
    for (i = 0; i < 2; i++) {
        reply_reset();
        m[i].handler(m[i].ctx, NULL, bad, sizeof bad);
        assert_int_equal(reply.calls, 1);
        assert_int_equal(reply.status, KE_GRPC_INVALID_ARGUMENT);
        assert_non_null(strstr(reply.msg, "grpc.health.v1.HealthCheckRequest"));
    }
}

static void health_methods_are_unary_check_and_streaming_watch(void **state)
{
    ke_rpc_method m[2];

    assert_int_equal(ke_health_methods(*state, NULL, 0), 2);
    assert_int_equal(ke_health_methods(*state, m, 1), 2);
    assert_string_equal(m[0].path, "/grpc.health.v1.Health/Check");
    assert_int_equal(m[0].kind, KE_RPC_UNARY);
    ke_health_methods(*state, m, 2);
    assert_string_equal(m[1].path, "/grpc.health.v1.Health/Watch");
    assert_int_equal(m[1].kind, KE_RPC_SERVER_STREAM);
}

int main(void)
{
    const struct CMUnitTest reflection[] = {
        cmocka_unit_test(list_services_names_the_four_services),
        cmocka_unit_test(service_symbol_returns_its_file_first_then_transitive_imports_once),
        cmocka_unit_test(method_symbol_resolves_to_the_service_file),
        cmocka_unit_test(nested_type_resolves_to_cloudevents_proto),
        cmocka_unit_test(nested_enum_and_its_value_resolve),
        cmocka_unit_test(unknown_symbol_answers_not_found_naming_it),
        cmocka_unit_test(error_message_quotes_bad_utf8_and_long_names_cleanly),
        cmocka_unit_test(file_by_filename_returns_the_file_then_its_imports),
        cmocka_unit_test(unknown_file_answers_not_found_naming_it),
        cmocka_unit_test(response_echoes_host_and_original_request),
        cmocka_unit_test(extension_numbers_of_known_type_are_an_empty_list),
        cmocka_unit_test(file_containing_extension_answers_not_found_without_extensions),
        cmocka_unit_test(request_without_a_kind_answers_unimplemented),
        cmocka_unit_test(malformed_request_is_einval_naming_the_type),
        cmocka_unit_test(methods_serve_v1alpha_and_v1_as_bidi),
        cmocka_unit_test(handler_replies_ok_with_the_answer_and_invalid_argument_when_malformed),
    };
    const struct CMUnitTest sets[] = {
        cmocka_unit_test(new_rejects_a_malformed_set),
        cmocka_unit_test(new_rejects_an_import_the_set_lacks),
        cmocka_unit_test(new_rejects_a_symbol_defined_twice),
        cmocka_unit_test(extensions_in_the_set_are_found_by_type_and_number),
    };
    const struct CMUnitTest health[] = {
        cmocka_unit_test(health_server_and_event_service_are_serving),
        cmocka_unit_test(health_not_serving_after_set_serving_0_and_back),
        cmocka_unit_test(health_check_of_unknown_service_is_not_found_naming_it),
        cmocka_unit_test(health_watch_of_unknown_service_answers_service_unknown),
        cmocka_unit_test(health_malformed_request_is_invalid_argument),
        cmocka_unit_test(health_methods_are_unary_check_and_streaming_watch),
        cmocka_unit_test(health_watch_is_told_not_serving_when_shutdown_begins),
    };
    int failed = 0;

    failed += cmocka_run_group_tests_name("reflection", reflection, setup_reflection,
                                          teardown_reflection);
    failed += cmocka_run_group_tests_name("descriptor sets", sets, NULL, teardown_reply);
    failed += cmocka_run_group_tests_name("health", health, setup_health, teardown_health);
    return failed == 0 ? 0 : 1;
}
