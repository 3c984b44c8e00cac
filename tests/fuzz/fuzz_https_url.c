/*
 * fuzz_https_url.c - libFuzzer target: any bytes as the URL of
 * svc->https_get must be refused or parsed without a crash or over-read;
 * a parsed URL's rebuilt form must parse again to the same host, port
 * and form (what libcurl is given is what mxprobe resolved), and a host
 * that is no address must be letters, digits, '-', '_' and dots only.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "https.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mxp_https_url u, again;
    char err[128], *url = malloc(size + 1);
    const char *p;

    if (url == NULL)
        return 0;
    memcpy(url, data, size);
    url[size] = '\0';
    if (mxp_https_url_parse(url, &u, err, sizeof(err)) == MXP_OK) {
        if (mxp_https_url_parse(u.url, &again, err, sizeof(err)) != MXP_OK ||
            strcmp(u.host, again.host) != 0 || u.port != again.port ||
            strcmp(u.url, again.url) != 0 || u.literal != again.literal)
            abort();
        for (p = u.host; !u.literal && *p != '\0'; p++)
            if (strchr("abcdefghijklmnopqrstuvwxyz0123456789-_.", *p) == NULL)
                abort();
    }
    free(url);
    return 0;
}
