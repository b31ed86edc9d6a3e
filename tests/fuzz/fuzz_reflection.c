/* fuzz_reflection.c -- libFuzzer target: arbitrary bytes as a ServerReflectionRequest. */
#include <stdint.h>
#include <stdlib.h>

#include "reflection.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ke_reflection *r;
    uint8_t *resp = NULL;
    size_t len = 0;
    ke_error err;

    ke_error_clear(&err);
    if (r == NULL && ke_reflection_new(ke_descriptor_set, ke_descriptor_set_len, &r, &err) != KE_OK)
        abort();
    if (ke_reflection_answer(r, data, size, &resp, &len, &err) == KE_OK)
        free(resp);
    return 0;
}
