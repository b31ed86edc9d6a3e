/* fuzz_config.c -- libFuzzer target: arbitrary text as an event configuration and as a .env
 * file, then the router built from whatever parses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dotenv.h"
#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ke_dotenv_var vars[2] = {{KE_CONFIG_ENV, NULL, 0}, {KE_CONFIG_ENV_ALIAS, NULL, 0}};
    char *text = malloc(size + 1);
    ke_config *cfg = NULL;
    ke_router *r = NULL;
    ke_error err;
    size_t n;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    ke_error_clear(&err);
    if (ke_config_parse(text, size, "fuzz", &cfg, &err) == KE_OK &&
        ke_router_new(cfg, &r, &err) == KE_OK && cfg->n_routes > 0)
        ke_router_match(r, cfg->routes[0].source, cfg->routes[0].type, &n);
    ke_router_free(r);
    ke_error_clear(&err);
    ke_dotenv_parse("fuzz.env", text, vars, 2, &err);
    free(vars[0].value);
    free(vars[1].value);
    free(text);
    return 0;
}
