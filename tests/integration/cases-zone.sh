# tests/integration/cases-zone.sh - the zone plugin's cases, sourced by
# run.sh after cases.sh.
#
# Wordings are the contract in the zone plugin's notes (zone-contract.md).
# The SPF/MX/DMARC cases run against Postfix on 127.0.0.21 with -D naming
# a case of zones/spf.test.zone (the configured domain wins, so no guess
# is involved); the guess cases use the PTR and greeting names of .21 and
# .22 (zones/mxprobe.test.zone, elsewhere.test.zone).
#
# shellcheck shell=bash disable=SC2034 # read by run.sh

# zone_case NAME EXIT STATUS-REGEX OUT-REGEX DOMAIN: -C zone -H 127.0.0.21
# -D DOMAIN -v; the status line and the output (details included) must
# match.
zone_case() {
    local name=$1 want=$2 status=$3 re=$4 domain=$5
    begin "$name" || return 0
    mx 10 -C zone -H 127.0.0.21 -D "$domain" -v
    want_exit "$want"
    want_status "$status"
    want_out "$re"
    want_out 'zone_spf_lookups=[0-9]+;'
    want_out 'zone_time=[0-9.]+s'
    want_time 10
    finish
}

# ------------------------------------------------------------ the guess

if begin zone_guess_clean; then
    # PTR and greeting both say mail.mxprobe.test: one domain, all good.
    mx 10 -C zone -H 127.0.0.21 -v
    want_exit 0
    want_status '^MXPROBE OK - .*mxprobe\.test: SPF pass, DMARC p=reject, 1 MX'
    want_out 'domain mxprobe\.test \(from PTR mail\.mxprobe\.test, greeting mail\.mxprobe\.test\)'
    want_out '127\.0\.0\.21 is an MX of mxprobe\.test \(mail\.mxprobe\.test\)'
    want_out 'SPF pass for 127\.0\.0\.21 at mxprobe\.test \(ip4:127\.0\.0\.21\)'
    want_out 'DMARC of mxprobe\.test: p=reject \(at _dmarc\.mxprobe\.test\)'
    # perfdata: the main metric (default warning 8) first, on the status
    # line; the rest on the last line
    want_status '\| zone_spf_lookups=0;8;;0;10$'
    want_out 'zone_spf_void=0;;;0;2 zone_mx=1;;;0 zone_time=[0-9.]+s;;;0'
    want_time 10
    finish
fi

if begin zone_guess_two_domains; then
    # PTR smtp.mxprobe.test, greeting mail.elsewhere.test: both checked.
    # elsewhere.test publishes p=none: OK with dmarc_none: ok.
    mx 10 -C zone -H 127.0.0.22 -v --set zone.dmarc_none=ok
    want_exit 0
    want_status 'mxprobe\.test: SPF pass, DMARC p=reject, 1 MX; elsewhere\.test: SPF pass, DMARC p=none, 1 MX'
    want_out 'domain mxprobe\.test \(from PTR smtp\.mxprobe\.test\)'
    want_out 'domain elsewhere\.test \(from greeting mail\.elsewhere\.test\)'
    want_out '127\.0\.0\.22 is not an MX of mxprobe\.test \(fine for an outbound-only server\)'
    want_out '^\[OK\] zone: DMARC policy of elsewhere\.test is p=none'
    want_time 10
    finish
fi

if begin zone_guess_two_domains_p_none_warns; then
    mx 10 -C zone -H 127.0.0.22 -v
    want_exit 1
    want_status '^MXPROBE WARNING - .*DMARC policy of elsewhere\.test is p=none \(monitoring only\): mail failing DMARC is delivered as usual'
    want_time 10
    finish
fi

expect_run zone_configured_domain 0 'domain pass\.spf\.test \(configured\)' 10 -- \
    -C zone -H 127.0.0.21 -D pass.spf.test -v

# A default install's "220 localhost.localdomain" (and EHLO name): never
# looked up, never "does not exist (NXDOMAIN)".  .68 has no PTR.
LOCALHOST_FAKE_UP=
localhost_fake() {
    [ -n "$LOCALHOST_FAKE_UP" ] && return 0
    start_fake 127.0.0.68 normal localhost.localdomain
    wait_fake 127.0.0.68 || say "fakesmtp 127.0.0.68 did not start"
    LOCALHOST_FAKE_UP=1
}

if begin zone_guess_localhost_greeting; then
    localhost_fake
    mx 10 -C zone -H 127.0.0.68 -v
    want_exit 3
    want_out 'the greeting name localhost\.localdomain is a special-use or private name: not looked up'
    want_status 'cannot guess the mail domain of 127\.0\.0\.68'
    want_no_out 'does not exist'
    want_time 10
    finish
fi

# ... nor a domain for backscatter, which guesses as zone does (issue 8.3).
if begin backscatter_localhost_greeting; then
    localhost_fake
    mx 10 -C backscatter -H 127.0.0.68 -v
    want_exit 3
    want_out 'the greeting name localhost\.localdomain is a special-use or private name: not tested'
    want_status 'no mail domain to test'
    want_no_out 'RCPT TO:<[^>]*@localhost'
    want_no_out 'localhost\.localdomain\)'
    want_time 10
    finish
fi

# Issue 8.3: .69 sits on a customer line of isp.test (PTR
# dsl-127-0-0-69.dyn.isp.test, generic and not forward-confirmed) and
# greets as mail.other.test: other.test is its mail domain, isp.test the
# provider's, named but never judged ("isp.test has no MX" was a false
# alarm).
GENERIC_FAKE_UP=
generic_fake() {
    [ -n "$GENERIC_FAKE_UP" ] && return 0
    start_fake 127.0.0.69 normal mail.other.test
    wait_fake 127.0.0.69 || say "fakesmtp 127.0.0.69 did not start"
    GENERIC_FAKE_UP=1
}

if begin zone_generic_ptr_greeting_domain; then
    generic_fake
    mx 10 -C zone -H 127.0.0.69 -v
    want_exit 0
    want_status '^MXPROBE OK - .*other\.test: SPF pass, DMARC p=reject, 1 MX'
    want_out 'PTR dsl-127-0-0-69\.dyn\.isp\.test looks generic \(contains the address digits\): its domain isp\.test is taken for the access provider.s, not audited \(the greeting names other\.test\)'
    want_out 'domain other\.test \(from greeting mail\.other\.test\)'
    want_no_out 'isp\.test has no MX'
    want_no_out 'domain isp\.test \('
    want_time 10
    finish
fi

if begin backscatter_generic_ptr_greeting_domain; then
    generic_fake
    mx 10 -C backscatter -H 127.0.0.69 -v
    want_out 'domains tested: other\.test \(from the greeting, EHLO and PTR names\)'
    want_out 'its domain isp\.test is taken for the access provider.s, not tested \(the greeting names other\.test\)'
    want_no_out 'isp\.test\)'
    want_time 10
    finish
fi

if begin banner_generic_ptr_same_rule; then
    generic_fake
    mx 10 -C banner -H 127.0.0.69 -v
    want_exit 1
    want_out 'PTR dsl-127-0-0-69\.dyn\.isp\.test looks generic \(contains the address digits\)'
    want_out 'does not resolve back to 127\.0\.0\.69 \(FCrDNS fails\)'
    want_time 10
    finish
fi

if begin zone_cannot_guess; then
    # Nothing listens on .49 and it has no PTR.
    mx 10 -C zone -H 127.0.0.49 -v
    want_exit 3
    want_status 'cannot guess the mail domain of 127\.0\.0\.49: no PTR name, no greeting name \(give it with -D\)'
    want_out 'no greeting name from 127\.0\.0\.49 \(.*\): guessing from the PTR only'
    want_time 10
    finish
fi

# ------------------------------------------------------------ SPF

zone_case zone_spf_pass 0 '^MXPROBE OK - .*pass\.spf\.test: SPF pass, DMARC p=quarantine, 1 MX' \
    'zone_spf_lookups=1;' pass.spf.test

zone_case zone_spf_fail 2 \
    'SPF fail: 127\.0\.0\.21 not permitted by fail\.spf\.test \(-all\)' \
    'DMARC of fail\.spf\.test: p=reject applies \(at _dmarc\.spf\.test\)' fail.spf.test

zone_case zone_spf_softfail 1 \
    'SPF softfail: 127\.0\.0\.21 not permitted by softfail\.spf\.test \(~all\)' \
    'softfail' softfail.spf.test

zone_case zone_spf_neutral 1 \
    'SPF neutral for 127\.0\.0\.21 at neutral\.spf\.test \(\?all\)' \
    'neutral' neutral.spf.test

zone_case zone_spf_plus_all 2 \
    'SPF of plusall\.spf\.test lets anyone send \(pass for 192\.0\.2\.1 via \+all\)' \
    'SPF pass for 127\.0\.0\.21 at plusall\.spf\.test \(mx\)' plusall.spf.test

zone_case zone_spf_multiple_records 2 'SPF permerror at multi\.spf\.test: ' \
    'SPF permerror at multi\.spf\.test: .*(2|two|multiple).*record' \
    multi.spf.test

zone_case zone_spf_too_many_lookups 2 'SPF permerror at loop\.spf\.test: ' \
    'SPF permerror at loop\.spf\.test: .*10' loop.spf.test

zone_case zone_spf_syntax_error 2 'SPF permerror at syntax\.spf\.test: ' \
    'ip4:127\.0\.0' syntax.spf.test

zone_case zone_spf_none 1 'no SPF record for none\.spf\.test' \
    'no SPF record' none.spf.test

zone_case zone_spf_lookups_near_limit 1 \
    'SPF of nine\.spf\.test uses 9 of 10 DNS lookups' \
    'zone_spf_lookups=9;8;;0;10' nine.spf.test

# Open to anyone without a literal +all of its own: include:, redirect=,
# ip4:0.0.0.0/0 (check_host() for a documentation address).
zone_case zone_spf_open_include 2 \
    'SPF of openinc\.spf\.test lets anyone send \(pass for 192\.0\.2\.1 via include:open\.spf\.test\)' \
    'SPF pass for 127\.0\.0\.21 at openinc\.spf\.test \(ip4:127\.0\.0\.21\)' \
    openinc.spf.test

zone_case zone_spf_open_redirect 2 \
    'SPF of openred\.spf\.test lets anyone send \(pass for 192\.0\.2\.1 via \+all\)' \
    'SPF pass for 127\.0\.0\.21' openred.spf.test

zone_case zone_spf_open_net 2 \
    'SPF of opennet\.spf\.test lets anyone send \(pass for 192\.0\.2\.1 via ip4:0\.0\.0\.0/0\)' \
    'SPF pass for 127\.0\.0\.21' opennet.spf.test

# The target matches before eleven lookups; every other sender gets a
# permerror, and the count is theirs.
zone_case zone_spf_breaks_for_others 2 \
    'SPF of brk\.spf\.test breaks for other senders: more than 10 DNS-querying terms \(permerror for 192\.0\.2\.1\)' \
    'zone_spf_lookups=11;8;;0;10' brk.spf.test

if begin zone_spf_over_limit_said_once; then
    mx 10 -C zone -H 127.0.0.21 -D loop.spf.test -v
    want_exit 2
    want_no_out 'of 10 DNS lookups'
    want_out 'zone_spf_lookups=11;'
    want_time 10
    finish
fi

if begin zone_spf_explanation_not_a_second_problem; then
    mx 10 -C zone -H 127.0.0.21 -D expl.spf.test -v
    want_exit 2
    want_status 'SPF fail: 127\.0\.0\.21 not permitted by expl\.spf\.test \(-all\) \|'
    want_out 'SPF explanation of expl\.spf\.test: 127\.0\.0\.21 may not send for expl\.spf\.test'
    want_time 10
    finish
fi

if begin zone_spf_deadline_ptr; then
    # "ptr -all" with a resolver that never answers reverse lookups: the
    # deadline cuts the PTR lookup, which must give no verdict.
    mx 10 -C zone -H 127.0.0.21 -D ptrcut.spf.test --dns-server "$HOLE_DNS" -t 3 -v
    want_exit 3
    want_status 'SPF temperror at ptrcut\.spf\.test: deadline reached during the SPF check'
    want_no_out 'SPF fail'
    want_time 8
    finish
fi

if begin zone_spf_rests_on_timeout; then
    # "ptr -all" with a resolver that never answers reverse lookups and
    # time left: RFC 7208 5.5 skips the timed-out PTR lookup and the
    # evaluator says fail, which is no verdict to page on.
    mx 10 -C zone -H 127.0.0.21 -D ptrcut.spf.test --dns-server "$HOLE_DNS" \
        --set probe.dns_timeout=0.3 --set probe.dns_tries=1 -v
    want_exit 3
    want_status 'SPF fail for 127\.0\.0\.21 at ptrcut\.spf\.test \(-all\) rests on a timed-out lookup: PTR lookup of 21\.0\.0\.127\.in-addr\.arpa failed: timeout'
    want_no_out 'SPF fail: '
    want_no_out 'CRITICAL'
    want_time 10
    finish
fi

# A neutral for other senders by a term: the term is named.
zone_case zone_spf_others_neutral_term 1 \
    'SPF of neutralterm\.spf\.test makes no assertion about other senders \(neutral for 192\.0\.2\.1: \?ip4:0\.0\.0\.0/0\)' \
    'SPF pass for 127\.0\.0\.21' neutralterm.spf.test

# -w/-c on the main metric when zone runs alone.
expect_run zone_spf_lookups_thresholds 2 'zone_spf_lookups=9;5;7;0;10' 10 -- \
    -C zone -H 127.0.0.21 -D nine.spf.test -w 5 -c 7

# ------------------------------------------------------------ DMARC

zone_case zone_dmarc_missing 1 'no DMARC record for nodmarc\.test' \
    'no DMARC record' nodmarc.test

zone_case zone_dmarc_syntax_error 1 \
    'DMARC record of baddmarc\.spf\.test: p=quarantin: not none, quarantine or reject; pct=150: not 0\.\.100' \
    'DMARC record' baddmarc.spf.test

if begin zone_dmarc_pct_0; then
    # pct=0: no message gets p=quarantine, all get none (RFC 7489 6.6.4).
    mx 10 -C zone -H 127.0.0.21 -D pctzero.spf.test -v
    want_exit 1
    want_status 'DMARC policy of pctzero\.spf\.test acts as none \(monitoring only\)'
    want_out 'DMARC of pctzero\.spf\.test: p=quarantine with pct=0 acts as none \(RFC 7489 6\.6\.4\)'
    want_out 'DMARC policy of pctzero\.spf\.test acts as none \(monitoring only\)'
    want_time 10
    finish
fi

zone_case zone_dmarc_empty_sp 1 \
    'DMARC record of emptysp\.spf\.test: sp= has no value; receivers treat it as p=none' \
    'DMARC policy of emptysp\.spf\.test is p=none' emptysp.spf.test

if begin zone_dmarc_subdomain_sp; then
    # No _dmarc.sub.spdmarc.test: the organizational record's sp=none
    # applies, not its p=reject (RFC 7489 6.3).
    mx 10 -C zone -H 127.0.0.21 -D sub.spdmarc.test -v
    want_exit 1
    want_status 'DMARC policy of sub\.spdmarc\.test is sp=none \(monitoring only\)'
    want_out 'DMARC of sub\.spdmarc\.test: sp=none applies \(p=reject at _dmarc\.spdmarc\.test\)'
    want_out 'DMARC policy of sub\.spdmarc\.test is sp=none \(monitoring only\)'
    want_time 10
    finish
fi

if begin zone_dmarc_p_none_sts_tlsrpt; then
    mx 10 -C zone -H 127.0.0.21 -D pnone.spf.test -v
    want_exit 1
    want_status '^MXPROBE WARNING - .*DMARC policy of pnone\.spf\.test is p=none \(monitoring only\): mail failing DMARC is delivered as usual'
    want_out '^\[WARNING\] zone: DMARC policy of pnone\.spf\.test is p=none \(monitoring only\)'
    want_out 'DMARC reports of pnone\.spf\.test: rua=mailto:dmarc@spf\.test; ruf=mailto:forensic@spf\.test'
    # MTA-STS policies: cases-mta-sts.sh
    want_out 'no MTA-STS record for pnone\.spf\.test'
    want_out 'TLS-RPT of pnone\.spf\.test: reports go to mailto:tlsrpt@spf\.test'
    want_time 10
    finish
fi

if begin zone_dmarc_none_ok; then
    # A domain rolling DMARC out: p=none is fine (config file, so the
    # key is checked where it is written).
    cat >"$TMP/dmarcnone.yaml" <<'EOF'
checks: [zone]
plugins:
  zone:
    dmarc_none: ok
EOF
    mx 10 -f "$TMP/dmarcnone.yaml" -H 127.0.0.21 -D pnone.spf.test -v
    want_exit 0
    want_status '^MXPROBE OK - .*pnone\.spf\.test: SPF pass, DMARC p=none, 1 MX'
    want_out '^\[OK\] zone: DMARC policy of pnone\.spf\.test is p=none'
    want_time 10
    finish
fi

if begin zone_dmarc_none_config_error; then
    cat >"$TMP/dmarcbad.yaml" <<'EOF'
checks: [zone]
plugins:
  zone:
    dmarc_none: maybe
EOF
    mx 10 -f "$TMP/dmarcbad.yaml" -H 127.0.0.21 -D pnone.spf.test
    want_exit 3
    want_out 'dmarcbad\.yaml:4:17: plugins\.zone: dmarc_none: .maybe. is not warning or ok'
    finish
fi

# ------------------------------------------------------------ MX

zone_case zone_null_mx 1 \
    'Null MX: nullmx\.spf\.test accepts no mail \(RFC 7505\)' \
    'zone_mx=0;' nullmx.spf.test

zone_case zone_mx_ip_literal 2 \
    'MX host 127\.0\.0\.21 of mxip\.spf\.test is an IP address, not a host name' \
    'no usable MX host|IP address' mxip.spf.test

zone_case zone_mx_cname 1 \
    'MX host alias\.spf\.test of mxcname\.spf\.test is a CNAME \(to real\.spf\.test; RFC 2181 10\.3\)' \
    'MX of mxcname\.spf\.test: 10 alias\.spf\.test \(127\.0\.0\.21\)' \
    mxcname.spf.test

zone_case zone_implicit_mx 1 \
    'no MX for implicit\.spf\.test: mail goes to its address record \(implicit MX\)' \
    'implicit MX' implicit.spf.test

zone_case zone_domain_nxdomain 2 \
    'domain nosuch\.spf\.test does not exist \(NXDOMAIN\)' \
    'no SPF record for nosuch\.spf\.test' nosuch.spf.test

zone_case zone_null_mx_needs_pref_0 2 'no usable MX host for nullten\.spf\.test' \
    "MX host '\\.' of nullten\\.spf\\.test has preference 10: a Null MX has preference 0 \\(RFC 7505\\)" \
    nullten.spf.test

zone_case zone_mx_target_beyond_cap 0 \
    'mxmany\.spf\.test: SPF pass, DMARC p=reject, 18 MX' \
    '127\.0\.0\.21 is not among the 16 MX hosts of mxmany\.spf\.test looked at' \
    mxmany.spf.test

if begin zone_configured_address; then
    # An address is no mail domain: nothing looked up for it.
    mx 10 -C zone -H 127.0.0.21 -D 127.0.0.21 -v
    want_exit 3
    want_out "127\\.0\\.0\\.21'? is not a domain name"
    want_no_out 'SPF'
    want_time 10
    finish
fi
