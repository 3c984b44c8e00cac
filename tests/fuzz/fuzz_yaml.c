/*
 * fuzz_yaml.c - libFuzzer target: any config text must load or give one
 * error line, never crash or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mxp_node *tree = NULL;
    char err[512];

    err[0] = '\0';
    if (mxp_yaml_parse("fuzz", (const char *)data, size, &tree, err,
                       sizeof(err)) == MXP_OK)
        mxp_node_free(tree);
    else if (strchr(err, '\n') != NULL)
        abort(); /* errors are one line */
    return 0;
}
