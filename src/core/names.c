/*
 * names.c - host name syntax (names.h).
 */
#include "names.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

int mxp_is_host_name(const char *s)
{
    size_t len, label = 0, labels = 0;

    if (s == NULL)
        return 0;
    len = strlen(s);
    if (len > 0 && s[len - 1] == '.')
        len--;
    if (len == 0 || len > 253)
        return 0;
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = i < len ? (unsigned char)s[i] : '.';

        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return 0;
            labels++;
            label = 0;
        } else if (isalnum(c) || c == '_' || (c == '-' && label > 0)) {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return labels >= 2;
}

int mxp_is_domain_name(const char *s)
{
    size_t len;
    const char *last;

    if (!mxp_is_host_name(s))
        return 0;
    len = strlen(s);
    if (s[len - 1] == '.')
        len--;
    last = s + len;
    while (last > s && last[-1] != '.')
        last--;
    for (const char *p = last; p < s + len; p++)
        if (!isdigit((unsigned char)*p))
            return 1;
    return 0;
}
