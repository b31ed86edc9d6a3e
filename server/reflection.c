/* reflection.c -- gRPC server reflection answered from one parsed, indexed descriptor set. */
#include "reflection.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/reflection/v1alpha/reflection.pb-c.h"
#include "text.h"

#define KE_REFL_MAX_DEPTH 100 /* message nesting accepted in the descriptor set */

/* What a fully-qualified name denotes. */
typedef enum sym_kind {
    SYM_MESSAGE,    /* a message type, nested ones included */
    SYM_ENUM,       /* an enum type */
    SYM_ENUM_VALUE, /* an enum value (scoped like its enum, per protobuf) */
    SYM_FIELD,      /* a message field */
    SYM_ONEOF,      /* a oneof */
    SYM_EXTENSION,  /* an extension field */
    SYM_SERVICE,    /* a service */
    SYM_METHOD,     /* a service method, "pkg.Service.Method" */
} sym_kind;

/* One file of the set. */
typedef struct refl_file {
    const Google__Protobuf__FileDescriptorProto *fd; /* parsed; owned by the set */
    const char *name; /* e.g. "kedro/events/v1/events.proto"; owned by the parsed set */
    uint8_t *bytes;   /* its serialized FileDescriptorProto; owned */
    size_t len;       /* bytes at bytes */
    size_t *deps;     /* indices (into files) of the files it imports */
    size_t n_deps;    /* entries in deps */
} refl_file;

/* One fully-qualified symbol. */
typedef struct refl_sym {
    char *name;    /* e.g. "kedro.events.v1.EventService"; owned */
    size_t file;   /* index (into files) of the defining file */
    sym_kind kind; /* what it denotes */
} refl_sym;

/* One extension field, for the extension queries. */
typedef struct refl_ext {
    const char *extendee; /* fully-qualified extended message, no leading dot; owned by the set */
    int32_t number;       /* its field number */
    size_t file;          /* index (into files) of the defining file */
} refl_ext;

struct ke_reflection {
    Google__Protobuf__FileDescriptorSet *set; /* the parsed set; owns file names and extendees */
    refl_file *files;                         /* sorted by name */
    size_t n_files;                           /* entries in files */
    refl_sym *syms;                           /* sorted by name once built */
    size_t n_syms;                            /* entries in syms */
    size_t cap_syms;                          /* allocated entries in syms */
    refl_ext *exts;                           /* in set order */
    size_t n_exts;                            /* entries in exts */
    size_t cap_exts;                          /* allocated entries in exts */
    const char **services;                    /* service full names in set order (syms' names) */
    size_t n_services;                        /* entries in services */
    size_t cap_services;                      /* allocated entries in services */
};

/* Makes room for one more entry of elem bytes in *arr (*cap entries, n used).
 * Returns KE_OK or KE_ENOMEM (*arr unchanged). */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    size_t ncap;
    void *p;

    if (n < *cap)
        return KE_OK;
    ncap = *cap == 0 ? 16 : *cap * 2;
    if (ncap > SIZE_MAX / elem)
        return KE_ENOMEM;
    p = realloc(*arr, ncap * elem);
    if (p == NULL)
        return KE_ENOMEM;
    *arr = p;
    *cap = ncap;
    return KE_OK;
}

/* Serializes each file of the parsed set with protobuf-c, so answers carry
 * exactly the FileDescriptorProto bytes a client decodes. Returns KE_OK or
 * KE_ENOMEM. */
static int pack_files(ke_reflection *r, ke_error *err)
{
    size_t i, n;
    uint8_t *buf;

    for (i = 0; i < r->n_files; i++) {
        n = google__protobuf__file_descriptor_proto__get_packed_size(r->set->file[i]);
        buf = malloc(n > 0 ? n : 1);
        if (buf == NULL)
            return ke_error_set(err, KE_ENOMEM, "descriptor set: out of memory");
        google__protobuf__file_descriptor_proto__pack(r->set->file[i], buf);
        r->files[i].bytes = buf;
        r->files[i].len = n;
    }
    return KE_OK;
}

/* Adds the symbol scope.name (name alone when scope is "") defined in file;
 * sets *full (may be NULL) to the stored name. Returns KE_OK, KE_EINVAL for a
 * definition without a name, or KE_ENOMEM. */
static int add_sym(ke_reflection *r, const char *scope, const char *name, size_t file,
                   sym_kind kind, const char **full, ke_error *err)
{
    size_t ls, ln;
    char *s;

    if (name == NULL || name[0] == '\0')
        return ke_error_set(err, KE_EINVAL,
                            "descriptor set: \"%s\" has a definition without a name",
                            r->files[file].name);
    if (grow((void **)&r->syms, &r->cap_syms, r->n_syms, sizeof *r->syms) != KE_OK)
        return ke_error_set(err, KE_ENOMEM, "descriptor set: out of memory");
    ls = strlen(scope);
    ln = strlen(name);
    s = malloc(ls + 1 + ln + 1);
    if (s == NULL)
        return ke_error_set(err, KE_ENOMEM, "descriptor set: out of memory");
    if (ls > 0) {
        memcpy(s, scope, ls);
        s[ls++] = '.';
    }
    memcpy(s + ls, name, ln + 1);
    r->syms[r->n_syms].name = s;
    r->syms[r->n_syms].file = file;
    r->syms[r->n_syms].kind = kind;
    r->n_syms++;
    if (full != NULL)
        *full = s;
    return KE_OK;
}

/* Adds the extension field f declared in scope of file: as a symbol and to
 * the extension list. Returns KE_OK, KE_EINVAL or KE_ENOMEM. */
static int add_extension(ke_reflection *r, const char *scope,
                         const Google__Protobuf__FieldDescriptorProto *f, size_t file,
                         ke_error *err)
{
    const char *extendee = f->extendee != NULL ? f->extendee : "";
    int rc = add_sym(r, scope, f->name, file, SYM_EXTENSION, NULL, err);

    if (rc != KE_OK)
        return rc;
    if (grow((void **)&r->exts, &r->cap_exts, r->n_exts, sizeof *r->exts) != KE_OK)
        return ke_error_set(err, KE_ENOMEM, "descriptor set: out of memory");
    r->exts[r->n_exts].extendee = extendee[0] == '.' ? extendee + 1 : extendee;
    r->exts[r->n_exts].number = f->has_number ? f->number : 0;
    r->exts[r->n_exts].file = file;
    r->n_exts++;
    return KE_OK;
}

/* Adds enum e declared in scope of file, and its values, which protobuf
 * scopes beside the enum (in scope), not inside it. */
static int add_enum(ke_reflection *r, const char *scope,
                    const Google__Protobuf__EnumDescriptorProto *e, size_t file, ke_error *err)
{
    int rc = add_sym(r, scope, e->name, file, SYM_ENUM, NULL, err);
    size_t i;

    for (i = 0; rc == KE_OK && i < e->n_value; i++)
        rc = add_sym(r, scope, e->value[i]->name, file, SYM_ENUM_VALUE, NULL, err);
    return rc;
}

/* Adds message m declared in scope of file and everything inside it, nested
 * messages to KE_REFL_MAX_DEPTH levels. Returns KE_OK, KE_EINVAL or KE_ENOMEM. */
static int add_message(ke_reflection *r, const char *scope,
                       const Google__Protobuf__DescriptorProto *m, size_t file, int depth,
                       ke_error *err)
{
    const char *full = NULL;
    size_t i;
    int rc;

    if (depth > KE_REFL_MAX_DEPTH)
        return ke_error_set(err, KE_EINVAL, "descriptor set: \"%s\" nests messages over %d deep",
                            r->files[file].name, KE_REFL_MAX_DEPTH);
    rc = add_sym(r, scope, m->name, file, SYM_MESSAGE, &full, err);
    for (i = 0; rc == KE_OK && i < m->n_field; i++)
        rc = add_sym(r, full, m->field[i]->name, file, SYM_FIELD, NULL, err);
    for (i = 0; rc == KE_OK && i < m->n_oneof_decl; i++)
        rc = add_sym(r, full, m->oneof_decl[i]->name, file, SYM_ONEOF, NULL, err);
    for (i = 0; rc == KE_OK && i < m->n_extension; i++)
        rc = add_extension(r, full, m->extension[i], file, err);
    for (i = 0; rc == KE_OK && i < m->n_enum_type; i++)
        rc = add_enum(r, full, m->enum_type[i], file, err);
    for (i = 0; rc == KE_OK && i < m->n_nested_type; i++)
        rc = add_message(r, full, m->nested_type[i], file, depth + 1, err);
    return rc;
}

/* Adds every symbol files[file] defines, and its services to the list.
 * Returns KE_OK, KE_EINVAL or KE_ENOMEM. */
static int index_file(ke_reflection *r, size_t file, ke_error *err)
{
    const Google__Protobuf__FileDescriptorProto *fd = r->files[file].fd;
    const char *pkg = fd->package != NULL ? fd->package : "";
    const char *full = NULL;
    size_t i, j;
    int rc = KE_OK;

    for (i = 0; rc == KE_OK && i < fd->n_message_type; i++)
        rc = add_message(r, pkg, fd->message_type[i], file, 1, err);
    for (i = 0; rc == KE_OK && i < fd->n_enum_type; i++)
        rc = add_enum(r, pkg, fd->enum_type[i], file, err);
    for (i = 0; rc == KE_OK && i < fd->n_extension; i++)
        rc = add_extension(r, pkg, fd->extension[i], file, err);
    for (i = 0; rc == KE_OK && i < fd->n_service; i++) {
        const Google__Protobuf__ServiceDescriptorProto *s = fd->service[i];

        rc = add_sym(r, pkg, s->name, file, SYM_SERVICE, &full, err);
        if (rc == KE_OK && grow((void **)&r->services, &r->cap_services, r->n_services,
                                sizeof *r->services) != KE_OK)
            rc = ke_error_set(err, KE_ENOMEM, "descriptor set: out of memory");
        if (rc == KE_OK)
            r->services[r->n_services++] = full;
        for (j = 0; rc == KE_OK && j < s->n_method; j++)
            rc = add_sym(r, full, s->method[j]->name, file, SYM_METHOD, NULL, err);
    }
    return rc;
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const refl_file *)a)->name, ((const refl_file *)b)->name);
}

static int cmp_sym(const void *a, const void *b)
{
    return strcmp(((const refl_sym *)a)->name, ((const refl_sym *)b)->name);
}

/* The index of the file named name, or -1. */
static long find_file(const ke_reflection *r, const char *name)
{
    size_t lo = 0, hi = r->n_files;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, r->files[mid].name);

        if (c == 0)
            return (long)mid;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

/* The symbol named name, or NULL. */
static const refl_sym *find_sym(const ke_reflection *r, const char *name)
{
    size_t lo = 0, hi = r->n_syms;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, r->syms[mid].name);

        if (c == 0)
            return &r->syms[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* Resolves each file's imports to file indices. Returns KE_OK, KE_EINVAL
 * naming an import the set lacks, or KE_ENOMEM. */
static int resolve_deps(ke_reflection *r, ke_error *err)
{
    size_t i, j;

    for (i = 0; i < r->n_files; i++) {
        refl_file *f = &r->files[i];

        if (f->fd->n_dependency == 0)
            continue;
        f->deps = calloc(f->fd->n_dependency, sizeof *f->deps);
        if (f->deps == NULL)
            return ke_error_set(err, KE_ENOMEM, "descriptor set: out of memory");
        for (j = 0; j < f->fd->n_dependency; j++) {
            const char *dep = f->fd->dependency[j] != NULL ? f->fd->dependency[j] : "";
            long d = find_file(r, dep);

            if (d < 0)
                return ke_error_set(err, KE_EINVAL,
                                    "descriptor set: \"%s\" imports \"%s\", which the set lacks",
                                    f->name, dep);
            f->deps[f->n_deps++] = (size_t)d;
        }
    }
    return KE_OK;
}

/* Fills r->files from the parsed set and its bytes, sorted by name. Returns
 * KE_OK, KE_EINVAL (malformed bytes, a file without a name or twice) or
 * KE_ENOMEM. */
static int load_files(ke_reflection *r, ke_error *err)
{
    size_t i;
    int rc;

    if (r->set->n_file == 0)
        return KE_OK;
    r->files = calloc(r->set->n_file, sizeof *r->files);
    if (r->files == NULL)
        return ke_error_set(err, KE_ENOMEM, "descriptor set: out of memory");
    r->n_files = r->set->n_file;
    rc = pack_files(r, err);
    if (rc != KE_OK)
        return rc;
    for (i = 0; i < r->n_files; i++) {
        r->files[i].fd = r->set->file[i];
        r->files[i].name = r->set->file[i]->name;
        if (r->files[i].name == NULL || r->files[i].name[0] == '\0')
            return ke_error_set(err, KE_EINVAL, "descriptor set: file %zu has no name", i);
    }
    qsort(r->files, r->n_files, sizeof *r->files, cmp_file);
    for (i = 0; i + 1 < r->n_files; i++)
        if (strcmp(r->files[i].name, r->files[i + 1].name) == 0)
            return ke_error_set(err, KE_EINVAL, "descriptor set: file \"%s\" appears twice",
                                r->files[i].name);
    return KE_OK;
}

int ke_reflection_new(const uint8_t *descriptor_set, size_t len, ke_reflection **out, ke_error *err)
{
    ke_reflection *r = NULL;
    size_t i;
    int rc = KE_OK;

    *out = NULL;
    r = calloc(1, sizeof *r);
    if (r == NULL) {
        rc = ke_error_set(err, KE_ENOMEM, "descriptor set: out of memory");
        goto out;
    }
    r->set = google__protobuf__file_descriptor_set__unpack(NULL, len, descriptor_set);
    if (r->set == NULL) {
        rc = ke_error_set(err, KE_EINVAL,
                          "descriptor set: malformed google.protobuf.FileDescriptorSet");
        goto out;
    }
    rc = load_files(r, err);
    /* In set order, so list_services lists the services as the set does. */
    for (i = 0; rc == KE_OK && i < r->set->n_file; i++)
        rc = index_file(r, (size_t)find_file(r, r->set->file[i]->name), err);
    if (rc != KE_OK)
        goto out;
    if (r->n_syms > 0)
        qsort(r->syms, r->n_syms, sizeof *r->syms, cmp_sym);
    for (i = 0; i + 1 < r->n_syms; i++) {
        if (strcmp(r->syms[i].name, r->syms[i + 1].name) == 0) {
            rc = ke_error_set(err, KE_EINVAL, "descriptor set: symbol \"%s\" is defined twice",
                              r->syms[i].name);
            goto out;
        }
    }
    rc = resolve_deps(r, err);
out:
    if (rc != KE_OK) {
        ke_reflection_free(r);
        return rc;
    }
    *out = r;
    return KE_OK;
}

/* Fills fdr with file's serialized descriptor, then those of its transitive
 * imports, each once (breadth first). The bytes stay r's; *blobs (the array
 * fdr points at) is malloc'd for the caller to free. */
static int files_response(const ke_reflection *r, size_t file,
                          Grpc__Reflection__V1alpha__FileDescriptorResponse *fdr,
                          ProtobufCBinaryData **blobs, ke_error *err)
{
    size_t *order = malloc(r->n_files * sizeof *order);
    unsigned char *seen = calloc(r->n_files, 1);
    size_t n = 0, i, j;
    int rc = KE_OK;

    *blobs = NULL;
    if (order == NULL || seen == NULL) {
        rc = ke_error_set(err, KE_ENOMEM, "reflection: out of memory");
        goto out;
    }
    order[n++] = file;
    seen[file] = 1;
    for (i = 0; i < n; i++) {
        const refl_file *f = &r->files[order[i]];

        for (j = 0; j < f->n_deps; j++) {
            if (!seen[f->deps[j]]) {
                seen[f->deps[j]] = 1;
                order[n++] = f->deps[j];
            }
        }
    }
    *blobs = malloc(n * sizeof **blobs);
    if (*blobs == NULL) {
        rc = ke_error_set(err, KE_ENOMEM, "reflection: out of memory");
        goto out;
    }
    for (i = 0; i < n; i++) {
        (*blobs)[i].data = (uint8_t *)r->files[order[i]].bytes;
        (*blobs)[i].len = r->files[order[i]].len;
    }
    fdr->n_file_descriptor_proto = n;
    fdr->file_descriptor_proto = *blobs;
out:
    free(seen);
    free(order);
    return rc;
}

/* The first extension of message type `type` numbered number, or NULL.
 * Linear: extensions are few (proto3 files declare none). */
static const refl_ext *find_ext(const ke_reflection *r, const char *type, int32_t number)
{
    size_t i;

    for (i = 0; i < r->n_exts; i++)
        if (r->exts[i].number == number && strcmp(r->exts[i].extendee, type) == 0)
            return &r->exts[i];
    return NULL;
}

/* Whether name is a message type of the set. */
static int is_message(const ke_reflection *r, const char *name)
{
    const refl_sym *s = find_sym(r, name);

    return s != NULL && s->kind == SYM_MESSAGE;
}

int ke_reflection_answer(const ke_reflection *r, const uint8_t *req, size_t len, uint8_t **resp,
                         size_t *resp_len, ke_error *err)
{
    Grpc__Reflection__V1alpha__ServerReflectionRequest *in = NULL;
    Grpc__Reflection__V1alpha__ServerReflectionResponse res =
        GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__INIT;
    Grpc__Reflection__V1alpha__FileDescriptorResponse fdr =
        GRPC__REFLECTION__V1ALPHA__FILE_DESCRIPTOR_RESPONSE__INIT;
    Grpc__Reflection__V1alpha__ExtensionNumberResponse enr =
        GRPC__REFLECTION__V1ALPHA__EXTENSION_NUMBER_RESPONSE__INIT;
    Grpc__Reflection__V1alpha__ListServiceResponse lsr =
        GRPC__REFLECTION__V1ALPHA__LIST_SERVICE_RESPONSE__INIT;
    Grpc__Reflection__V1alpha__ErrorResponse er = GRPC__REFLECTION__V1ALPHA__ERROR_RESPONSE__INIT;
    Grpc__Reflection__V1alpha__ServiceResponse *svc = NULL;
    Grpc__Reflection__V1alpha__ServiceResponse **svcp = NULL;
    const Grpc__Reflection__V1alpha__ExtensionRequest *ext;
    ProtobufCBinaryData *blobs = NULL;
    int32_t *numbers = NULL;
    char name[KE_QUOTE_CAP];
    char msg[KE_QUOTE_CAP + 64];
    const refl_sym *sym;
    const refl_ext *x;
    const char *type;
    int32_t number;
    uint8_t *buf = NULL;
    long f;
    size_t i, n;
    int rc = KE_OK;

    *resp = NULL;
    *resp_len = 0;
    in = grpc__reflection__v1alpha__server_reflection_request__unpack(NULL, len, req);
    if (in == NULL)
        return ke_error_set(err, KE_EINVAL,
                            "malformed grpc.reflection.v1alpha.ServerReflectionRequest");
    res.valid_host = in->host;
    res.original_request = in;
    msg[0] = '\0';
    switch (in->message_request_case) {
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
        if (r->n_services > 0) {
            svc = calloc(r->n_services, sizeof *svc);
            svcp = calloc(r->n_services, sizeof *svcp);
            if (svc == NULL || svcp == NULL) {
                rc = ke_error_set(err, KE_ENOMEM, "reflection: out of memory");
                goto out;
            }
        }
        for (i = 0; i < r->n_services; i++) {
            grpc__reflection__v1alpha__service_response__init(&svc[i]);
            svc[i].name = (char *)r->services[i];
            svcp[i] = &svc[i];
        }
        lsr.n_service = r->n_services;
        lsr.service = svcp;
        res.message_response_case =
            GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
        res.list_services_response = &lsr;
        break;
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
        f = find_file(r, in->file_by_filename);
        if (f < 0) {
            ke_quote(name, in->file_by_filename);
            snprintf(msg, sizeof msg, "file %s not found", name);
            break;
        }
        rc = files_response(r, (size_t)f, &fdr, &blobs, err);
        break;
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
        sym = find_sym(r, in->file_containing_symbol);
        if (sym == NULL) {
            ke_quote(name, in->file_containing_symbol);
            snprintf(msg, sizeof msg, "symbol %s not found", name);
            break;
        }
        rc = files_response(r, sym->file, &fdr, &blobs, err);
        break;
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
        ext = in->file_containing_extension;
        type = ext != NULL ? ext->containing_type : "";
        number = ext != NULL ? ext->extension_number : 0;
        x = find_ext(r, type, number);
        if (x == NULL) {
            ke_quote(name, type);
            if (is_message(r, type))
                snprintf(msg, sizeof msg, "extension %d of %s not found", (int)number, name);
            else
                snprintf(msg, sizeof msg, "type %s not found", name);
            break;
        }
        rc = files_response(r, x->file, &fdr, &blobs, err);
        break;
    case GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
        type = in->all_extension_numbers_of_type;
        if (!is_message(r, type)) {
            ke_quote(name, type);
            snprintf(msg, sizeof msg, "type %s not found", name);
            break;
        }
        for (i = 0, n = 0; i < r->n_exts; i++)
            n += strcmp(r->exts[i].extendee, type) == 0;
        if (n > 0) {
            numbers = malloc(n * sizeof *numbers);
            if (numbers == NULL) {
                rc = ke_error_set(err, KE_ENOMEM, "reflection: out of memory");
                goto out;
            }
        }
        for (i = 0, n = 0; i < r->n_exts; i++)
            if (strcmp(r->exts[i].extendee, type) == 0)
                numbers[n++] = r->exts[i].number;
        enr.base_type_name = (char *)type;
        enr.n_extension_number = n;
        enr.extension_number = numbers;
        res.message_response_case =
            GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
        res.all_extension_numbers_response = &enr;
        break;
    default:
        /* Nothing set, or a kind newer than this server: the C++ server's answer. */
        er.error_code = KE_GRPC_UNIMPLEMENTED;
        er.error_message = "reflection request kind not supported";
        res.message_response_case =
            GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
        res.error_response = &er;
        break;
    }
    if (rc != KE_OK)
        goto out;
    if (msg[0] != '\0') {
        er.error_code = KE_GRPC_NOT_FOUND;
        er.error_message = msg;
        res.message_response_case =
            GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
        res.error_response = &er;
    } else if (blobs != NULL) {
        res.message_response_case =
            GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
        res.file_descriptor_response = &fdr;
    }
    n = grpc__reflection__v1alpha__server_reflection_response__get_packed_size(&res);
    buf = malloc(n > 0 ? n : 1);
    if (buf == NULL) {
        rc = ke_error_set(err, KE_ENOMEM, "reflection: out of memory");
        goto out;
    }
    *resp_len = grpc__reflection__v1alpha__server_reflection_response__pack(&res, buf);
    *resp = buf;
out:
    free(numbers);
    free(blobs);
    free(svcp);
    free(svc);
    grpc__reflection__v1alpha__server_reflection_request__free_unpacked(in, NULL);
    return rc;
}

/* ke_rpc_handler for ServerReflectionInfo (v1alpha and v1): one response per
 * request; a malformed request ends the call with INVALID_ARGUMENT. */
static void reflection_info(void *ctx, ke_rpc_call *call, const uint8_t *req, size_t len)
{
    ke_error err;
    uint8_t *resp = NULL;
    size_t n = 0;
    int rc;

    ke_error_clear(&err);
    rc = ke_reflection_answer(ctx, req, len, &resp, &n, &err);
    if (rc == KE_OK)
        ke_rpc_reply(call, KE_GRPC_OK, NULL, resp, n);
    else
        ke_rpc_reply(call, ke_err_grpc_status(rc), err.msg, NULL, 0);
    free(resp);
}

size_t ke_reflection_methods(ke_reflection *r, ke_rpc_method *out, size_t cap)
{
    const ke_rpc_method methods[] = {
        {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", KE_RPC_BIDI,
         reflection_info, r},
        {"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", KE_RPC_BIDI, reflection_info,
         r},
    };
    const size_t n = sizeof methods / sizeof methods[0];
    size_t i;

    for (i = 0; i < n && i < cap; i++)
        out[i] = methods[i];
    return n;
}

void ke_reflection_free(ke_reflection *r)
{
    size_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->n_syms; i++)
        free(r->syms[i].name);
    free(r->syms);
    free(r->exts);
    free(r->services);
    for (i = 0; i < r->n_files; i++) {
        free(r->files[i].deps);
        free(r->files[i].bytes);
    }
    free(r->files);
    if (r->set != NULL)
        google__protobuf__file_descriptor_set__free_unpacked(r->set, NULL);
    free(r);
}
