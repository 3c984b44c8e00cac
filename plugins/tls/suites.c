/*
 * suites.c - the cipher suites of each weak class, by IANA number, for
 * the raw ClientHellos of the tls check.  This OpenSSL cannot offer RC4,
 * 3DES, EXPORT or SSL 3.0 any more, so the check offers them itself and
 * reads only the server's choice; a server that picks one from such a
 * list accepts that class.  Names as OpenSSL and testssl.sh print them.
 */
#include <stdio.h>

#include "tls.h"

struct suite {
    uint16_t id;
    const char *name;
};

static const struct suite suites[] = {
    {0x0001, "NULL-MD5"},
    {0x0002, "NULL-SHA"},
    {0x0003, "EXP-RC4-MD5"},
    {0x0004, "RC4-MD5"},
    {0x0005, "RC4-SHA"},
    {0x0006, "EXP-RC2-CBC-MD5"},
    {0x0008, "EXP-DES-CBC-SHA"},
    {0x0009, "DES-CBC-SHA"},
    {0x000A, "DES-CBC3-SHA"},
    {0x000B, "EXP-DH-DSS-DES-CBC-SHA"},
    {0x000D, "DH-DSS-DES-CBC3-SHA"},
    {0x000E, "EXP-DH-RSA-DES-CBC-SHA"},
    {0x0010, "DH-RSA-DES-CBC3-SHA"},
    {0x0011, "EXP-EDH-DSS-DES-CBC-SHA"},
    {0x0013, "EDH-DSS-DES-CBC3-SHA"},
    {0x0014, "EXP-EDH-RSA-DES-CBC-SHA"},
    {0x0016, "EDH-RSA-DES-CBC3-SHA"},
    {0x0017, "EXP-ADH-RC4-MD5"},
    {0x0018, "ADH-RC4-MD5"},
    {0x0019, "EXP-ADH-DES-CBC-SHA"},
    {0x001B, "ADH-DES-CBC3-SHA"},
    {0x002F, "AES128-SHA"},
    {0x0033, "DHE-RSA-AES128-SHA"},
    {0x0034, "ADH-AES128-SHA"},
    {0x0035, "AES256-SHA"},
    {0x0039, "DHE-RSA-AES256-SHA"},
    {0x003A, "ADH-AES256-SHA"},
    {0x003B, "NULL-SHA256"},
    {0x0046, "ADH-CAMELLIA128-SHA"},
    {0x0062, "EXP1024-DES-CBC-SHA"},
    {0x0063, "EXP1024-DHE-DSS-DES-CBC-SHA"},
    {0x0064, "EXP1024-RC4-SHA"},
    {0x0065, "EXP1024-DHE-DSS-RC4-SHA"},
    {0x0066, "DHE-DSS-RC4-SHA"},
    {0x006C, "ADH-AES128-SHA256"},
    {0x006D, "ADH-AES256-SHA256"},
    {0x0089, "ADH-CAMELLIA256-SHA"},
    {0x008A, "PSK-RC4-SHA"},
    {0x008B, "PSK-3DES-EDE-CBC-SHA"},
    {0x009B, "ADH-SEED-SHA"},
    {0x00A6, "ADH-AES128-GCM-SHA256"},
    {0x00A7, "ADH-AES256-GCM-SHA384"},
    {0x00BF, "ADH-CAMELLIA128-SHA256"},
    {0x00C5, "ADH-CAMELLIA256-SHA256"},
    {0xC001, "ECDH-ECDSA-NULL-SHA"},
    {0xC002, "ECDH-ECDSA-RC4-SHA"},
    {0xC003, "ECDH-ECDSA-DES-CBC3-SHA"},
    {0xC006, "ECDHE-ECDSA-NULL-SHA"},
    {0xC007, "ECDHE-ECDSA-RC4-SHA"},
    {0xC008, "ECDHE-ECDSA-DES-CBC3-SHA"},
    {0xC00B, "ECDH-RSA-NULL-SHA"},
    {0xC00C, "ECDH-RSA-RC4-SHA"},
    {0xC00D, "ECDH-RSA-DES-CBC3-SHA"},
    {0xC010, "ECDHE-RSA-NULL-SHA"},
    {0xC011, "ECDHE-RSA-RC4-SHA"},
    {0xC012, "ECDHE-RSA-DES-CBC3-SHA"},
    {0xC013, "ECDHE-RSA-AES128-SHA"},
    {0xC014, "ECDHE-RSA-AES256-SHA"},
    {0xC015, "AECDH-NULL-SHA"},
    {0xC016, "AECDH-RC4-SHA"},
    {0xC017, "AECDH-DES-CBC3-SHA"},
    {0xC018, "AECDH-AES128-SHA"},
    {0xC019, "AECDH-AES256-SHA"},
};

/* What SSL 3.0 servers commonly chose, with the renegotiation SCSV. */
static const uint16_t ssl3[] = {0xC014, 0xC013, 0x0039, 0x0033, 0x0035, 0x002F,
                                0x0016, 0x000A, 0x0005, 0x0004, 0x0009, 0x00FF};
static const uint16_t rc4[] = {0xC011, 0xC007, 0xC00C, 0xC002, 0x0005,
                               0x0004, 0x0066, 0x008A, 0x0018, 0xC016};
static const uint16_t des3[] = {0xC012, 0xC008, 0xC00D, 0xC003, 0x0016, 0x0013,
                                0x0010, 0x000D, 0x000A, 0x008B, 0x001B, 0xC017};
static const uint16_t export[] = {0x0003, 0x0006, 0x0008, 0x000B, 0x000E,
                                  0x0011, 0x0014, 0x0017, 0x0019, 0x0062,
                                  0x0063, 0x0064, 0x0065};
/* Authenticated suites without encryption (eNULL). */
static const uint16_t null[] = {0xC010, 0xC006, 0xC00B, 0xC001,
                                0x003B, 0x0002, 0x0001, 0xC015};
/* Suites without authentication (aNULL): what Postfix offers on port 25
 * by default, so that any client gets encryption at least. */
static const uint16_t anon[] = {0x00A7, 0x00A6, 0x006D, 0x006C, 0xC019, 0xC018,
                                0x003A, 0x0034, 0x0089, 0x0046, 0x00C5, 0x00BF,
                                0x009B, 0x001B, 0xC017, 0x0018, 0xC016};

#define LIST(a) (*list = (a), sizeof(a) / sizeof((a)[0]))

size_t tls_suites_of(enum tls_probe p, const uint16_t **list)
{
    switch (p) {
    case TP_SSL3:
        return LIST(ssl3);
    case TP_RC4:
        return LIST(rc4);
    case TP_3DES:
        return LIST(des3);
    case TP_EXPORT:
        return LIST(export);
    case TP_NULL:
        return LIST(null);
    case TP_ANON:
        return LIST(anon);
    default:
        *list = NULL;
        return 0;
    }
}

const char *tls_suite_name(uint16_t id)
{
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        if (suites[i].id == id)
            return suites[i].name;
    return "";
}

const char *tls_version_name(int version, char *buf, size_t len)
{
    switch (version) {
    case MXP_SSL_3_0:
        return "SSLv3";
    case MXP_TLS_1_0:
        return "TLSv1.0";
    case MXP_TLS_1_1:
        return "TLSv1.1";
    case MXP_TLS_1_2:
        return "TLSv1.2";
    case MXP_TLS_1_3:
        return "TLSv1.3";
    default:
        snprintf(buf, len, "version 0x%04x", (unsigned)version & 0xffff);
        return buf;
    }
}
