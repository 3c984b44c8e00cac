/* PROVISIONAL: replaced by the tlscert branch's cert.c at merge. */
#include "cert.h"
void tls_cert_judge(struct mxp_ctx *ctx, const struct mxp_tls_info *info,
                    const struct tls_cert_name *names, size_t n_names,
                    const struct tls_cert_policy *pol, time_t now,
                    struct tls_cert_facts *out)
{
    (void)ctx; (void)info; (void)names; (void)n_names; (void)pol; (void)now;
    out->days_left = 0;
    out->have_leaf = 0;
}
