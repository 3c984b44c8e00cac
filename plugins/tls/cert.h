/* PROVISIONAL: replaced by the tlscert branch's cert.h at merge. */
#ifndef MXP_TLS_CERT_H
#define MXP_TLS_CERT_H
#include <time.h>
#include <mxprobe/plugin.h>
struct tls_cert_name { const char *name; const char *role; };
struct tls_cert_policy { int strict; long warn_days; long crit_days; const char *strict_why; };
struct tls_cert_facts { long days_left; int have_leaf; };
void tls_cert_judge(struct mxp_ctx *ctx, const struct mxp_tls_info *info,
                    const struct tls_cert_name *names, size_t n_names,
                    const struct tls_cert_policy *pol, time_t now,
                    struct tls_cert_facts *out);
#endif
