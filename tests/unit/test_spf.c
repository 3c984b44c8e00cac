/*
 * test_spf.c - the SPF evaluator of the zone plugin piece by piece: the
 * record parser and domain-spec rules as tables, the macro expander
 * against the RFC 7208 7.4 examples and the corner cases of 7.1-7.3, and
 * check_host() edge cases the conformance suite does not reach (limits,
 * deadline, out of memory, hostile answers, the outcome's fields).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../plugins/zone/spf.c"
#include "../../plugins/zone/spf_macro.c"
#include "../../plugins/zone/spf_parse.c"

/* ---- a tiny in-memory DNS ------------------------------------------- */

struct zentry {
    const char *name;
    uint16_t type;
    enum mxp_dns_result result;
    const char *v[12]; /* values, NULL-terminated */
};

static const struct zentry *zone;
static int lookup_status; /* returned instead of answering */
static unsigned lookups;  /* questions asked */
static struct mxp_dns_rr rrs[16];

static int zone_lookup(void *user, const char *name, uint16_t type,
                       struct spf_dns_answer *out)
{
    (void)user;
    lookups++;
    if (lookup_status != MXP_OK)
        return lookup_status;
    out->result = MXP_DNS_NXDOMAIN;
    for (const struct zentry *z = zone; z != NULL && z->name != NULL; z++) {
        size_t n = 0;
        if (strcasecmp(z->name, name) != 0)
            continue;
        out->result = MXP_DNS_NODATA;
        if (z->type != type)
            continue;
        out->result = z->result;
        for (; z->v[n] != NULL && n < 12; n++) {
            memset(&rrs[n], 0, sizeof rrs[n]);
            rrs[n].type = type;
            rrs[n].text = z->v[n];
            rrs[n].text_len = strlen(z->v[n]);
            inet_pton(type == MXP_DNS_A ? AF_INET : AF_INET6, z->v[n],
                      rrs[n].addr);
        }
        out->rr = rrs;
        out->n_rr = n;
        return MXP_OK;
    }
    return MXP_OK;
}

static struct spf_request request(const char *ip, const char *domain,
                                  const char *sender)
{
    struct spf_request rq = {0};

    rq.family = strchr(ip, ':') != NULL ? AF_INET6 : AF_INET;
    assert_int_equal(inet_pton(rq.family, ip, rq.addr), 1);
    rq.domain = domain;
    rq.sender = sender;
    rq.helo = "mx.example.org";
    rq.lookup = zone_lookup;
    return rq;
}

static int setup(void **state)
{
    (void)state;
    zone = NULL;
    lookup_status = MXP_OK;
    lookups = 0;
    return 0;
}

/* ---- the parser ------------------------------------------------------ */

static const struct {
    const char *record;
    int ok;
    size_t n_terms;
} records[] = {
    {"v=spf1", 1, 0},
    {"V=SPF1 -ALL", 1, 1},
    {"v=spf1   a   -all   ", 1, 2},
    {"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ~all", 1, 3},
    {"v=spf1 a/24//64 mx:example.org/0 ptr:example.org exists:%{i}.x.org", 1,
     4},
    {"v=spf1 include:_spf.example.org redirect=_spf.example.net", 1, 2},
    {"v=spf1 exp=explain.%{d} -all", 1, 2},
    {"v=spf1 foo=bar x.y-z_w=%{d}", 1, 2}, /* unknown modifiers */
    {"v=spf1 foo=", 1, 1},
    {"v=spf1 a:foo:bar/baz.example.com", 1, 1},
    {"v=spf1 a:example.xn--p1ai", 1, 1},
    {"v=spf1 a:%{d}", 1, 1}, /* domain-end is a macro */
    {"v=spf1 ip4:0.0.0.0/0 ip6:::/0", 1, 2},
    /* syntax errors */
    {"v=spf1 -all.", 0, 0},
    {"v=spf1 all:x", 0, 0},
    {"v=spf1 ip4:1.2.3", 0, 0},
    {"v=spf1 ip4:01.2.3.4", 0, 0},
    {"v=spf1 ip4:1.2.3.256", 0, 0},
    {"v=spf1 ip4:1.2.3.4/33", 0, 0},
    {"v=spf1 ip4:1.2.3.4/032", 0, 0},
    {"v=spf1 ip4:1.2.3.4//32", 0, 0},
    {"v=spf1 ip6:2001:db8::/129", 0, 0},
    {"v=spf1 ip6:2001:db8::1//64", 0, 0},
    {"v=spf1 ip6:1.2.3.4", 0, 0},
    {"v=spf1 a/33", 0, 0},
    {"v=spf1 a//129", 0, 0},
    {"v=spf1 a/24/64", 0, 0},
    {"v=spf1 a:", 0, 0},
    {"v=spf1 a:museum", 0, 0},
    {"v=spf1 a:example.123", 0, 0},
    {"v=spf1 a:example.-com", 0, 0},
    {"v=spf1 include", 0, 0},
    {"v=spf1 include:x.example.org/24", 0, 0},
    {"v=spf1 exists", 0, 0},
    {"v=spf1 ptr/24", 0, 0},
    {"v=spf1 mx:example.org:25", 0, 0},
    {"v=spf1 redirect:example.org", 0, 0},
    {"v=spf1 redirect=", 0, 0},
    {"v=spf1 exp=", 0, 0},
    {"v=spf1 redirect=a.example.org redirect=b.example.org", 0, 0},
    {"v=spf1 exp=a.example.org exp=b.example.org", 0, 0},
    {"v=spf1 -redirect=a.example.org", 0, 0},
    {"v=spf1 1x=y", 0, 0},
    {"v=spf1 =all", 0, 0},
    {"v=spf1 foo=%q", 0, 0},
    {"v=spf1 exists:%{x}.example.org", 0, 0},
    {"v=spf1 exists:%{c}.example.org", 0, 0}, /* c: exp only */
    {"v=spf1 exists:%{d0}.example.org", 0, 0},
    {"v=spf1 exists:%{d", 0, 0},
    {"v=spf1 a:example.org\t-all", 0, 0},
    {"v=spf1 a:ex\xc3\xa9.org", 0, 0},
    {"v=spf1 moo", 0, 0},
};

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof records / sizeof *records; i++) {
        struct spf_record r;
        char why[SPF_TEXT_MAX] = "";
        int rc = spf_parse_record(records[i].record, strlen(records[i].record),
                                  &r, why, sizeof why);
        if ((rc == MXP_OK) != records[i].ok)
            fail_msg("'%s': rc %d (%s)", records[i].record, rc, why);
        if (rc != MXP_OK) {
            assert_true(why[0] != '\0');
            continue;
        }
        if (r.n_terms != records[i].n_terms)
            fail_msg("'%s': %zu terms", records[i].record, r.n_terms);
        spf_record_free(&r);
    }
}

static void test_parse_fields(void **state)
{
    const char *rec = "v=spf1 ~a:x.example.org/24//64 ip4:192.0.2.0/25 "
                      "?mx//0 ip6:2001:DB8::/32 redirect=r.example.org";
    struct spf_record r;
    char why[64];

    (void)state;
    assert_int_equal(spf_parse_record(rec, strlen(rec), &r, why, sizeof why),
                     MXP_OK);
    assert_int_equal(r.n_terms, 4 + 1);
    assert_int_equal(r.terms[0].kind, SPF_T_A);
    assert_int_equal(r.terms[0].qual, '~');
    assert_int_equal(r.terms[0].cidr4, 24);
    assert_int_equal(r.terms[0].cidr6, 64);
    assert_int_equal(r.terms[0].spec_len, strlen("x.example.org"));
    assert_memory_equal(r.terms[0].spec, "x.example.org", 13);
    assert_int_equal(r.terms[1].kind, SPF_T_IP4);
    assert_int_equal(r.terms[1].cidr4, 25);
    assert_int_equal(r.terms[1].net[0], 192);
    assert_int_equal(r.terms[2].kind, SPF_T_MX);
    assert_null(r.terms[2].spec);
    assert_int_equal(r.terms[2].cidr4, 32);
    assert_int_equal(r.terms[2].cidr6, 0);
    assert_int_equal(r.terms[3].kind, SPF_T_IP6);
    assert_int_equal(r.terms[3].cidr6, 32);
    assert_int_equal(r.terms[3].net[1], 0x01);
    assert_ptr_equal(r.redirect, &r.terms[4]);
    assert_null(r.exp);
    spf_record_free(&r);
}

static void test_parse_ptr_and_mx_double_slash(void **state)
{
    struct spf_record r;
    char why[64];

    (void)state;
    /* "mx//" is no valid dual-cidr: the tail "//" is left over */
    assert_int_equal(spf_parse_record("v=spf1 mx//", 11, &r, why, sizeof why),
                     MXP_ERR_INVALID);
}

static const struct {
    const char *text;
    int spf;
} versions[] = {
    {"v=spf1", 1},       {"v=spf1 -all", 1}, {"V=SpF1 -all", 1},
    {"v=spf10", 0},      {"v=spf1-all", 0},  {"v=spf", 0},
    {" v=spf1 -all", 0}, {"spf1", 0},        {"v=spf2.0/pra", 0},
};

static void test_version_tag(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof versions / sizeof *versions; i++)
        if (spf_is_spf_record(versions[i].text, strlen(versions[i].text)) !=
            versions[i].spf)
            fail_msg("'%s'", versions[i].text);
}

static const struct {
    const char *name;
    int spec_ok, domain_ok;
} names[] = {
    {"example.org", 1, 1},
    {"example.org.", 1, 0}, /* <domain> comes without the trailing dot */
    {"a.b.example.xn--zckzah", 1, 1},
    {"example.1-2", 1, 1},
    {"example.123", 0, 0},
    {"example.-com", 0, 0},
    {"example.com-", 0, 0},
    {"museum", 0, 0},
    {"museum.", 0, 0},
    {"foo:bar/baz.example.com", 1, 1},
    {"mail.example...com", 1, 0},
    {"[192.0.2.1]", 0, 0},
    {"%{d}", 1, 0},
    {"%{d}.example.org", 1, 1}, /* only the toplabel is checked */
    {"x.%{d", 0, 0},
    {"", 0, 0},
};

static void test_domain_names(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *n = names[i].name;
        if (spf_domain_spec_ok(n, strlen(n)) != names[i].spec_ok)
            fail_msg("domain-spec '%s'", n);
        if (spf_domain_ok(n) != names[i].domain_ok)
            fail_msg("domain '%s'", n);
    }
}

static void test_query_name_fix(void **state)
{
    char name[600];
    char label[64];

    (void)state;
    snprintf(name, sizeof name, "example.org.");
    assert_true(spf_query_name_fix(name));
    assert_string_equal(name, "example.org");
    snprintf(name, sizeof name, "a..example.org");
    assert_false(spf_query_name_fix(name));
    memset(label, 'x', 63);
    label[63] = '\0';
    /* 5 labels of 63 + dots = 319: the left ones go until <= 253 (191) */
    snprintf(name, sizeof name, "%s.%s.%s.%s.%s", label, label, label, label,
             label);
    assert_true(spf_query_name_fix(name));
    assert_int_equal(strlen(name), 3 * 63 + 2);
    snprintf(name, sizeof name, "%sx.org", label); /* a 64-byte label */
    assert_false(spf_query_name_fix(name));
}

/* ---- macros (RFC 7208 7.4) ------------------------------------------- */

static const struct {
    const char *ip, *spec, *want;
} macros[] = {
    {"192.0.2.3", "%{s}", "strong-bad@email.example.com"},
    {"192.0.2.3", "%{o}", "email.example.com"},
    {"192.0.2.3", "%{d}", "email.example.com"},
    {"192.0.2.3", "%{d4}", "email.example.com"},
    {"192.0.2.3", "%{d3}", "email.example.com"},
    {"192.0.2.3", "%{d2}", "example.com"},
    {"192.0.2.3", "%{d1}", "com"},
    {"192.0.2.3", "%{dr}", "com.example.email"},
    {"192.0.2.3", "%{d2r}", "example.email"},
    {"192.0.2.3", "%{l}", "strong-bad"},
    {"192.0.2.3", "%{l-}", "strong.bad"},
    {"192.0.2.3", "%{lr}", "strong-bad"},
    {"192.0.2.3", "%{lr-}", "bad.strong"},
    {"192.0.2.3", "%{l1r-}", "strong"},
    {"192.0.2.3", "%{ir}.%{v}._spf.%{d2}",
     "3.2.0.192.in-addr._spf.example.com"},
    {"192.0.2.3", "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
    {"192.0.2.3", "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
     "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
    {"192.0.2.3", "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
     "3.2.0.192.in-addr.strong.lp._spf.example.com"},
    {"192.0.2.3", "%{d2}.trusted-domains.example.net",
     "example.com.trusted-domains.example.net"},
    {"2001:db8::cb01", "%{ir}.%{v}._spf.%{d2}",
     "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6."
     "_spf.example.com"},
    /* the rest of 7.1-7.3 */
    {"192.0.2.3", "%%%_%-", "% %20"},
    {"192.0.2.3", "%{L}", "strong-bad"},
    {"192.0.2.3", "%{S}", "strong-bad%40email.example.com"},
    {"192.0.2.3", "%{d999}", "email.example.com"},
    {"192.0.2.3", "%{d2.-}", "example.com"},
    {"192.0.2.3", "%{l+-}", "strong.bad"},
    {"192.0.2.3", "%{v}", "in-addr"},
    {"::ffff:192.0.2.3", "%{i} %{v}", "192.0.2.3 in-addr"},
    {"192.0.2.3", "%{h}", "mx.example.org"},
    {"192.0.2.3", "%{c}", "192.0.2.3"},
    {"2001:db8::cb01", "%{c}", "2001:db8::cb01"},
    {"192.0.2.3", "%{r}", "unknown"},
    {"192.0.2.3", "%{p}", "unknown"}, /* no PTR in the zone */
};

static void test_macro_rfc_examples(void **state)
{
    char out[512];

    (void)state;
    for (size_t i = 0; i < sizeof macros / sizeof *macros; i++) {
        struct spf_request rq = request(macros[i].ip, "email.example.com",
                                        "strong-bad@email.example.com");
        int rc = spf_expand(&rq, "email.example.com", macros[i].spec, 1, out,
                            sizeof out);
        if (rc != MXP_OK || strcmp(out, macros[i].want) != 0)
            fail_msg("'%s': rc %d '%s', want '%s'", macros[i].spec, rc, out,
                     macros[i].want);
    }
}

static const struct {
    const char *spec;
    int explain, rc;
} macro_errors[] = {
    {"%", 0, MXP_ERR_INVALID},
    {"%x", 0, MXP_ERR_INVALID},
    {"%{", 0, MXP_ERR_INVALID},
    {"%{d", 0, MXP_ERR_INVALID},
    {"%{a}", 0, MXP_ERR_INVALID},
    {"%{d0}", 0, MXP_ERR_INVALID},
    {"%{d2x}", 0, MXP_ERR_INVALID},
    {"%(d)", 0, MXP_ERR_INVALID},
    {"%{c}", 0, MXP_ERR_INVALID},
    {"%{r}", 0, MXP_ERR_INVALID},
    {"%{t}", 0, MXP_ERR_INVALID},
    {"a b", 0, MXP_ERR_INVALID},
    {"a b", 1, MXP_OK},
    {"%{t}", 1, MXP_OK},
    {"%{c}", 1, MXP_OK},
    {"%{d2r.}", 0, MXP_OK},
};

static void test_macro_errors(void **state)
{
    char out[64];

    (void)state;
    for (size_t i = 0; i < sizeof macro_errors / sizeof *macro_errors; i++) {
        struct spf_request rq = request("192.0.2.3", "example.org", "");
        int rc = spf_expand(&rq, "example.org", macro_errors[i].spec,
                            macro_errors[i].explain, out, sizeof out);
        if (rc != macro_errors[i].rc)
            fail_msg("'%s' (explain %d): rc %d", macro_errors[i].spec,
                     macro_errors[i].explain, rc);
    }
}

static void test_macro_sender_forms(void **state)
{
    char out[128];
    struct spf_request rq = request("192.0.2.3", "helo.example.org", "");

    (void)state;
    assert_int_equal(spf_expand(&rq, "x.org", "%{s}", 0, out, sizeof out),
                     MXP_OK);
    assert_string_equal(out, "postmaster@helo.example.org");
    rq.sender = "bare.example.org";
    assert_int_equal(spf_expand(&rq, "x.org", "%{l}@%{o}", 0, out, sizeof out),
                     MXP_OK);
    assert_string_equal(out, "postmaster@bare.example.org");
    rq.sender = "@nolocal.example.org";
    assert_int_equal(spf_expand(&rq, "x.org", "%{l}", 0, out, sizeof out),
                     MXP_OK);
    assert_string_equal(out, "postmaster");
    rq.sender = "\"a@b\"@quoted.example.org";
    assert_int_equal(spf_expand(&rq, "x.org", "%{o}", 0, out, sizeof out),
                     MXP_OK);
    assert_string_equal(out, "quoted.example.org");
    rq.helo = NULL;
    rq.receiver = "rcv.example.net";
    assert_int_equal(spf_expand(&rq, "x.org", "%{h} %{r}", 1, out, sizeof out),
                     MXP_OK);
    assert_string_equal(out, "unknown rcv.example.net");
    assert_int_equal(spf_expand(&rq, "x.org", "%{t}", 1, out, sizeof out),
                     MXP_OK);
    assert_true(strspn(out, "0123456789") == strlen(out) && out[0] != '\0');
}

static void test_macro_too_big(void **state)
{
    char out[8];
    struct spf_request rq = request("192.0.2.3", "example.org", "");

    (void)state;
    assert_int_equal(spf_expand(&rq, "example.org", "%{d}", 0, out, sizeof out),
                     MXP_ERR_TOO_BIG);
    assert_int_equal(
        spf_expand(&rq, "example.org", "%{d1}", 0, out, sizeof out), MXP_OK);
    assert_string_equal(out, "org");
}

static const struct zentry ptr_zone[] = {
    {"3.2.0.192.in-addr.arpa",
     MXP_DNS_PTR,
     MXP_DNS_ANSWER,
     {"mail.other.net.", "fake.example.org", "mx.example.org."}},
    {"mail.other.net", MXP_DNS_A, MXP_DNS_ANSWER, {"192.0.2.3"}},
    {"fake.example.org", MXP_DNS_A, MXP_DNS_ANSWER, {"192.0.2.99"}},
    {"mx.example.org", MXP_DNS_A, MXP_DNS_ANSWER, {"192.0.2.3"}},
    {NULL, 0, 0, {NULL}},
};

static void test_macro_p(void **state)
{
    char out[128];
    struct spf_request rq = request("192.0.2.3", "example.org", "");

    (void)state;
    zone = ptr_zone;
    /* a validated name under <domain> wins; the unvalidated one never */
    assert_int_equal(spf_expand(&rq, "example.org", "%{p}", 0, out, sizeof out),
                     MXP_OK);
    assert_string_equal(out, "mx.example.org");
    assert_int_equal(spf_expand(&rq, "example.com", "%{p}", 0, out, sizeof out),
                     MXP_OK);
    assert_string_equal(out, "mail.other.net");
}

/* ---- check_host() ----------------------------------------------------- */

static struct spf_outcome check(const char *ip, const char *domain)
{
    struct spf_request rq = request(ip, domain, "");
    struct spf_outcome out;

    assert_int_equal(spf_check_host(&rq, &out), MXP_OK);
    return out;
}

static const struct zentry main_zone[] = {
    {"example.org",
     MXP_DNS_TXT,
     MXP_DNS_ANSWER,
     {"google-site-verification=x",
      "v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all "
      "exp=why.example.org"}},
    {"why.example.org",
     MXP_DNS_TXT,
     MXP_DNS_ANSWER,
     {"%{i} may not send for %{d} (%{v})"}},
    {"_spf.example.net",
     MXP_DNS_TXT,
     MXP_DNS_ANSWER,
     {"v=spf1 a:relay.example.net mx ~all"}},
    {"relay.example.net", MXP_DNS_A, MXP_DNS_ANSWER, {"198.51.100.7"}},
    {"_spf.example.net", MXP_DNS_MX, MXP_DNS_ANSWER, {".", "mx1.example.net"}},
    {"mx1.example.net", MXP_DNS_A, MXP_DNS_ANSWER, {"203.0.113.1"}},
    {"redir.example.org",
     MXP_DNS_TXT,
     MXP_DNS_ANSWER,
     {"v=spf1 redirect=example.org"}},
    {"plus.example.org", MXP_DNS_TXT, MXP_DNS_ANSWER, {"v=spf1 all"}},
    {"broken.example.org",
     MXP_DNS_TXT,
     MXP_DNS_ANSWER,
     {"v=spf1 a:servfail.example.org -all"}},
    {"servfail.example.org", MXP_DNS_A, MXP_DNS_SERVFAIL, {NULL}},
    {"resfail.example.org", MXP_DNS_TXT, MXP_DNS_FAILED, {NULL}},
    {"two.example.org",
     MXP_DNS_TXT,
     MXP_DNS_ANSWER,
     {"v=spf1 -all", "v=spf1 +all"}},
    {NULL, 0, 0, {NULL}},
};

static void test_check_outcomes(void **state)
{
    struct spf_outcome o;

    (void)state;
    zone = main_zone;
    o = check("192.0.2.10", "example.org");
    assert_int_equal(o.result, SPF_PASS);
    assert_string_equal(o.mechanism, "ip4:192.0.2.0/24");
    assert_int_equal(o.top_all, '-');
    assert_string_equal(o.record, main_zone[0].v[1]);
    assert_int_equal(o.dns_lookups, 0);

    o = check("203.0.113.1", "example.org"); /* via include and mx */
    assert_int_equal(o.result, SPF_PASS);
    assert_string_equal(o.mechanism, "include:_spf.example.net");
    assert_int_equal(o.dns_lookups, 3);
    assert_int_equal(o.void_lookups, 0);

    o = check("198.18.0.1", "example.org");
    assert_int_equal(o.result, SPF_FAIL);
    assert_string_equal(o.mechanism, "-all");
    assert_string_equal(o.explanation,
                        "198.18.0.1 may not send for example.org (in-addr)");

    o = check("198.18.0.1", "redir.example.org"); /* redirect keeps exp */
    assert_int_equal(o.result, SPF_FAIL);
    assert_string_equal(o.mechanism, "-all");
    assert_int_equal(o.top_all, 0);
    assert_string_equal(o.record, "v=spf1 redirect=example.org");
    assert_string_equal(o.explanation,
                        "198.18.0.1 may not send for example.org (in-addr)");

    o = check("2001:db8::1", "plus.example.org");
    assert_int_equal(o.result, SPF_PASS);
    assert_int_equal(o.top_all, '+');

    o = check("192.0.2.1", "broken.example.org");
    assert_int_equal(o.result, SPF_TEMPERROR);
    assert_string_equal(o.problem,
                        "A lookup of servfail.example.org failed: SERVFAIL");
    assert_string_equal(o.mechanism, "");

    /* the core's words for a failure that has no name of its own */
    o = check("192.0.2.1", "resfail.example.org");
    assert_int_equal(o.result, SPF_TEMPERROR);
    assert_string_equal(o.problem, "TXT lookup of resfail.example.org "
                                   "failed: resolver failure");

    o = check("192.0.2.1", "two.example.org");
    assert_int_equal(o.result, SPF_PERMERROR);
    assert_string_equal(o.problem, "2 SPF records at two.example.org");

    o = check("192.0.2.1", "nothing.example.org");
    assert_int_equal(o.result, SPF_NONE);
    o = check("192.0.2.1", "[192.0.2.1]");
    assert_int_equal(o.result, SPF_NONE);
    o = check("192.0.2.1", "example.org."); /* the trailing dot is fine */
    assert_int_equal(o.result, SPF_PASS);
}

static const struct zentry limit_zone[] = {
    {"lim.example.org",
     MXP_DNS_TXT,
     MXP_DNS_ANSWER,
     {"v=spf1 a:a1.example.org a:a2.example.org a:a3.example.org -all"}},
    {"a1.example.org", MXP_DNS_A, MXP_DNS_ANSWER, {"198.51.100.1"}},
    {"a2.example.org", MXP_DNS_A, MXP_DNS_ANSWER, {"198.51.100.2"}},
    {"a3.example.org", MXP_DNS_A, MXP_DNS_ANSWER, {"198.51.100.3"}},
    {"deep.example.org",
     MXP_DNS_TXT,
     MXP_DNS_ANSWER,
     {"v=spf1 include:deep.example.org"}},
    {NULL, 0, 0, {NULL}},
};

static void test_check_limits(void **state)
{
    struct spf_request rq = request("192.0.2.1", "lim.example.org", "");
    struct spf_outcome o;

    (void)state;
    zone = limit_zone;
    rq.max_dns_mechanisms = 2;
    assert_int_equal(spf_check_host(&rq, &o), MXP_OK);
    assert_int_equal(o.result, SPF_PERMERROR);
    assert_string_equal(o.problem, "more than 2 DNS-querying terms");
    assert_int_equal(o.dns_lookups, 3);

    /* with the limits out of the way, nesting itself is bounded */
    rq.domain = "deep.example.org";
    rq.max_dns_mechanisms = 1000;
    assert_int_equal(spf_check_host(&rq, &o), MXP_OK);
    assert_int_equal(o.result, SPF_PERMERROR);
    assert_non_null(strstr(o.problem, "nested"));
    assert_true(lookups < 30);
}

static void test_check_fatal(void **state)
{
    struct spf_request rq = request("192.0.2.1", "example.org", "");
    struct spf_outcome o;

    (void)state;
    zone = main_zone;
    lookup_status = MXP_ERR_TIMEOUT; /* the job's deadline is gone */
    assert_int_equal(spf_check_host(&rq, &o), MXP_OK);
    assert_int_equal(o.result, SPF_TEMPERROR);
    assert_non_null(strstr(o.problem, "deadline"));
    lookup_status = MXP_ERR_NOMEM;
    assert_int_equal(spf_check_host(&rq, &o), MXP_ERR_NOMEM);
    lookup_status = MXP_ERR_DNS; /* any other failure: the lookup failed */
    assert_int_equal(spf_check_host(&rq, &o), MXP_OK);
    assert_int_equal(o.result, SPF_TEMPERROR);
}

static const struct zentry fail_zone[] = {
    {"ptr.example.org", MXP_DNS_TXT, MXP_DNS_ANSWER, {"v=spf1 ptr -all"}},
    {"mall.example.org",
     MXP_DNS_TXT,
     MXP_DNS_ANSWER,
     {"v=spf1 ?include:mall.example.net ?all"}},
    {"mall.example.net", MXP_DNS_TXT, MXP_DNS_ANSWER, {"v=spf1 +all"}},
    /* %{p} only in the explanation, after the verdict */
    {"expp.example.org",
     MXP_DNS_TXT,
     MXP_DNS_ANSWER,
     {"v=spf1 -all exp=%{p}.exp.example.org"}},
    {"1.2.0.192.in-addr.arpa", MXP_DNS_PTR, MXP_DNS_TIMEOUT, {NULL}},
    {"2.2.0.192.in-addr.arpa",
     MXP_DNS_PTR,
     MXP_DNS_ANSWER,
     {"host.ptr.example.org"}},
    {"host.ptr.example.org", MXP_DNS_A, MXP_DNS_SERVFAIL, {NULL}},
    {"3.2.0.192.in-addr.arpa",
     MXP_DNS_PTR,
     MXP_DNS_ANSWER,
     {"good.ptr.example.org"}},
    {"good.ptr.example.org", MXP_DNS_A, MXP_DNS_ANSWER, {"192.0.2.3"}},
    /* a SERVFAIL skip first, then a timed-out one */
    {"4.2.0.192.in-addr.arpa",
     MXP_DNS_PTR,
     MXP_DNS_ANSWER,
     {"host.ptr.example.org", "slow.ptr.example.org"}},
    {"slow.ptr.example.org", MXP_DNS_A, MXP_DNS_TIMEOUT, {NULL}},
    {NULL, 0, 0, {NULL}},
};

/* Fails the lookups of one type with a status, answers the rest. */
static uint16_t fail_type;
static int fail_status;

static int type_failing_lookup(void *user, const char *name, uint16_t type,
                               struct spf_dns_answer *out)
{
    if (type == fail_type) {
        lookups++;
        return fail_status;
    }
    return zone_lookup(user, name, type, out);
}

/* A lookup that was never made gives no verdict, whatever RFC 7208 5.5
 * says about failed ones: "ptr -all" must not fail a client because the
 * deadline cut its PTR lookup. */
static void test_check_ptr_failures(void **state)
{
    struct spf_request rq = request("192.0.2.3", "ptr.example.org", "");
    struct spf_outcome o;

    (void)state;
    zone = fail_zone;
    assert_int_equal(spf_check_host(&rq, &o), MXP_OK);
    assert_int_equal(o.result, SPF_PASS);
    assert_string_equal(o.skipped, "");
    assert_false(o.skipped_timeout);

    rq.lookup = type_failing_lookup;
    fail_type = MXP_DNS_PTR;
    fail_status = MXP_ERR_TIMEOUT;
    assert_int_equal(spf_check_host(&rq, &o), MXP_OK);
    assert_int_equal(o.result, SPF_TEMPERROR);
    assert_string_equal(o.problem, "deadline reached during the SPF check");
    assert_string_equal(o.mechanism, "");

    fail_status = MXP_ERR_DNS; /* the batch failed as a whole */
    assert_int_equal(spf_check_host(&rq, &o), MXP_OK);
    assert_int_equal(o.result, SPF_TEMPERROR);
    assert_string_equal(o.problem, "PTR lookup of 3.2.0.192.in-addr.arpa "
                                   "could not be made");

    /* %{p} too */
    fail_type = MXP_DNS_A; /* the validation of the PTR name */
    fail_status = MXP_ERR_TIMEOUT;
    assert_int_equal(
        spf_expand(&rq, "example.org", "%{p}", 0, o.record, sizeof o.record),
        MXP_ERR_TIMEOUT);

    /* failed answers (not the deadline): skipped as the RFC says, and
     * said */
    rq = request("192.0.2.1", "ptr.example.org", "");
    assert_int_equal(spf_check_host(&rq, &o), MXP_OK);
    assert_int_equal(o.result, SPF_FAIL);
    assert_string_equal(o.skipped,
                        "PTR lookup of 1.2.0.192.in-addr.arpa failed: timeout");
    /* the RFC's fail stays; the flag lets the audit judge it */
    assert_true(o.skipped_timeout);
    rq = request("192.0.2.2", "ptr.example.org", "");
    assert_int_equal(spf_check_host(&rq, &o), MXP_OK);
    assert_int_equal(o.result, SPF_FAIL);
    assert_string_equal(o.skipped,
                        "A lookup of host.ptr.example.org failed: SERVFAIL");
    assert_false(o.skipped_timeout); /* SERVFAIL is an answer */
    /* the report says "rests on a timed-out lookup": it names that one,
     * not the SERVFAIL before it */
    rq = request("192.0.2.4", "ptr.example.org", "");
    assert_int_equal(spf_check_host(&rq, &o), MXP_OK);
    assert_int_equal(o.result, SPF_FAIL);
    assert_true(o.skipped_timeout);
    assert_string_equal(o.skipped,
                        "A lookup of slow.ptr.example.org failed: timeout");

    /* a %{p} of the explanation times out: the fail rests on -all */
    rq = request("192.0.2.1", "expp.example.org", "");
    assert_int_equal(spf_check_host(&rq, &o), MXP_OK);
    assert_int_equal(o.result, SPF_FAIL);
    assert_string_equal(o.mechanism, "-all");
    assert_string_equal(o.skipped, "");
    assert_false(o.skipped_timeout);
}

static void test_check_by_all_and_domain(void **state)
{
    struct spf_request rq = request("198.51.100.9", "mall.example.org", "");
    struct spf_outcome o;

    (void)state;
    zone = fail_zone;
    assert_int_equal(spf_check_host(&rq, &o), MXP_OK);
    assert_int_equal(o.result, SPF_NEUTRAL);
    assert_string_equal(o.mechanism, "?include:mall.example.net");
    assert_false(o.by_all);
    zone = main_zone;
    rq.domain = "example.org";
    assert_int_equal(spf_check_host(&rq, &o), MXP_OK);
    assert_int_equal(o.result, SPF_FAIL);
    assert_true(o.by_all);
    rq.domain = "plus.example.org";
    assert_int_equal(spf_check_host(&rq, &o), MXP_OK);
    assert_int_equal(o.result, SPF_PASS);
    assert_true(o.by_all);

    /* no domain: none, and why, without a lookup */
    lookups = 0;
    rq.domain = "127.0.0.21";
    assert_int_equal(spf_check_host(&rq, &o), MXP_OK);
    assert_int_equal(o.result, SPF_NONE);
    assert_string_equal(o.problem,
                        "not a fully qualified domain name (RFC 7208 4.3)");
    assert_int_equal(lookups, 0);
    rq.domain = "example.org";
    assert_int_equal(spf_check_host(&rq, &o), MXP_OK);
    assert_string_equal(o.problem, "");
}

static void test_check_bad_requests(void **state)
{
    struct spf_request rq = request("192.0.2.1", "example.org", "");
    struct spf_outcome o;
    char big[600];

    (void)state;
    rq.lookup = NULL;
    assert_int_equal(spf_check_host(&rq, &o), MXP_ERR_INVALID);
    rq = request("192.0.2.1", "example.org", "");
    rq.family = 99;
    assert_int_equal(spf_check_host(&rq, &o), MXP_ERR_INVALID);
    rq = request("192.0.2.1", NULL, "");
    assert_int_equal(spf_check_host(&rq, &o), MXP_ERR_INVALID);
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    rq = request("192.0.2.1", big, "");
    assert_int_equal(spf_check_host(&rq, &o), MXP_OK);
    assert_int_equal(o.result, SPF_NONE);
    big[20] = '@';
    rq = request("192.0.2.1", "example.org", big);
    assert_int_equal(spf_check_host(&rq, &o), MXP_ERR_INVALID);
}

/* Hostile TXT answers: long records, NUL bytes, NULL text. */
static int hostile_lookup(void *user, const char *name, uint16_t type,
                          struct spf_dns_answer *out)
{
    static char text[SPF_RECORD_MAX + 64];
    static struct mxp_dns_rr rr[2];
    int which = *(int *)user;

    (void)name;
    memset(rr, 0, sizeof rr);
    out->result = MXP_DNS_NXDOMAIN;
    if (type != MXP_DNS_TXT)
        return MXP_OK;
    memcpy(text, "v=spf1 ", 7);
    memset(text + 7, 'a', sizeof text - 7);
    rr[0].text = text;
    rr[0].text_len = which == 0 ? sizeof text : 12;
    if (which == 1)
        memcpy(text, "v=spf1 -a\0ll", 12);
    rr[1].text = NULL; /* a record with no strings at all */
    out->result = MXP_DNS_ANSWER;
    out->rr = rr;
    out->n_rr = 2;
    return MXP_OK;
}

static void test_check_hostile_records(void **state)
{
    struct spf_request rq = request("192.0.2.1", "example.org", "");
    struct spf_outcome o;
    int which = 0;

    (void)state;
    rq.lookup = hostile_lookup;
    rq.lookup_user = &which;
    assert_int_equal(spf_check_host(&rq, &o), MXP_OK);
    assert_int_equal(o.result, SPF_PERMERROR);
    assert_string_equal(o.problem,
                        "SPF record longer than mxprobe's 4096-byte limit");
    assert_int_equal(strlen(o.record), SPF_TEXT_MAX - 1);
    which = 1;
    assert_int_equal(spf_check_host(&rq, &o), MXP_OK);
    assert_int_equal(o.result, SPF_PERMERROR);
    assert_string_equal(o.record, "v=spf1 -a?ll");
}

static void test_result_names(void **state)
{
    (void)state;
    assert_string_equal(spf_result_name(SPF_NONE), "none");
    assert_string_equal(spf_result_name(SPF_SOFTFAIL), "softfail");
    assert_string_equal(spf_result_name(SPF_PERMERROR), "permerror");
    assert_string_equal(spf_result_name((enum spf_result)42), "unknown");
}

/* ---- planning passes (plan.c's use of pending answers) ---------------- */

static const struct zentry plan_zone[] = {
    {"plan.test",
     MXP_DNS_TXT,
     MXP_DNS_ANSWER,
     {"v=spf1 a mx include:a.plan.test include:b.plan.test -all"}},
    {"plan.test", MXP_DNS_A, MXP_DNS_ANSWER, {"192.0.2.1"}},
    {"plan.test", MXP_DNS_MX, MXP_DNS_ANSWER, {"mx.plan.test"}},
    {"mx.plan.test", MXP_DNS_A, MXP_DNS_ANSWER, {"192.0.2.2"}},
    {"a.plan.test",
     MXP_DNS_TXT,
     MXP_DNS_ANSWER,
     {"v=spf1 include:c.plan.test ~all"}},
    {"c.plan.test", MXP_DNS_TXT, MXP_DNS_ANSWER, {"v=spf1 ip4:192.0.2.9 -all"}},
    {"b.plan.test", MXP_DNS_TXT, MXP_DNS_ANSWER, {"v=spf1 ptr:plan.test -all"}},
    {"77.2.0.192.in-addr.arpa",
     MXP_DNS_PTR,
     MXP_DNS_ANSWER,
     {"host.plan.test"}},
    {"host.plan.test", MXP_DNS_A, MXP_DNS_ANSWER, {"192.0.2.77"}},
    {NULL, 0, 0, {NULL}},
};

/* What earlier waves fetched; the rest is "pending" and noted. */
static struct {
    char known[32][80];
    uint16_t type[32];
    size_t n, fresh;
} P;

static int plan_known(const char *name, uint16_t type)
{
    for (size_t i = 0; i < P.n; i++)
        if (P.type[i] == type && strcasecmp(P.known[i], name) == 0)
            return 1;
    return 0;
}

static int plan_lookup(void *user, const char *name, uint16_t type,
                       struct spf_dns_answer *out)
{
    if (plan_known(name, type))
        return zone_lookup(user, name, type, out);
    assert_true(P.n < 32);
    snprintf(P.known[P.n], sizeof P.known[0], "%s", name);
    P.type[P.n++] = type;
    P.fresh++;
    out->pending = 1;
    return MXP_OK;
}

/* Each pass asks all it can: every term of a record in one wave, one
 * more wave per include level and for the PTR names' addresses; the
 * last pass asks nothing and gives the verdict the plain run gives. */
static void test_planning_waves(void **state)
{
    static const size_t want[] = {1, 4, 3, 1, 0};
    struct spf_request rq = request("192.0.2.77", "plan.test", "plan.test");
    struct spf_outcome o, plain;

    (void)state;
    zone = plan_zone;
    memset(&P, 0, sizeof P);
    rq.lookup = plan_lookup;
    for (size_t wave = 0; wave < sizeof want / sizeof *want; wave++) {
        P.fresh = 0;
        assert_int_equal(spf_check_host(&rq, &o), MXP_OK);
        if (P.fresh != want[wave])
            fail_msg("pass %zu asked %zu new questions, want %zu", wave,
                     P.fresh, want[wave]);
        assert_true(wave + 1 < sizeof want / sizeof *want ? o.pending > 0
                                                          : o.pending == 0);
    }
    assert_true(plan_known("host.plan.test", MXP_DNS_A));
    assert_true(plan_known("c.plan.test", MXP_DNS_TXT));
    rq.lookup = zone_lookup;
    assert_int_equal(spf_check_host(&rq, &plain), MXP_OK);
    assert_int_equal(o.result, SPF_PASS);
    assert_int_equal(o.result, plain.result);
    assert_string_equal(o.mechanism, plain.mechanism);
    assert_int_equal(o.dns_lookups, plain.dns_lookups);
    assert_int_equal(o.void_lookups, plain.void_lookups);
    assert_int_equal(plain.pending, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_parse_table, setup),
        cmocka_unit_test_setup(test_planning_waves, setup),
        cmocka_unit_test_setup(test_parse_fields, setup),
        cmocka_unit_test_setup(test_parse_ptr_and_mx_double_slash, setup),
        cmocka_unit_test_setup(test_version_tag, setup),
        cmocka_unit_test_setup(test_domain_names, setup),
        cmocka_unit_test_setup(test_query_name_fix, setup),
        cmocka_unit_test_setup(test_macro_rfc_examples, setup),
        cmocka_unit_test_setup(test_macro_errors, setup),
        cmocka_unit_test_setup(test_macro_sender_forms, setup),
        cmocka_unit_test_setup(test_macro_too_big, setup),
        cmocka_unit_test_setup(test_macro_p, setup),
        cmocka_unit_test_setup(test_check_outcomes, setup),
        cmocka_unit_test_setup(test_check_limits, setup),
        cmocka_unit_test_setup(test_check_fatal, setup),
        cmocka_unit_test_setup(test_check_ptr_failures, setup),
        cmocka_unit_test_setup(test_check_by_all_and_domain, setup),
        cmocka_unit_test_setup(test_check_bad_requests, setup),
        cmocka_unit_test_setup(test_check_hostile_records, setup),
        cmocka_unit_test_setup(test_result_names, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
