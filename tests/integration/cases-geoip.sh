# tests/integration/cases-geoip.sh - the geoip plugin's cases, sourced by
# run.sh after cases.sh.
#
# The databases are MaxMind's test databases vendored in tests/data/geoip
# (README there).  Their addresses are not loopback ones: geoip only looks
# the target up in the files and opens no connection, and these runs have
# ONLY -C geoip, so no check ever connects to the target (-H names it for
# the lookup alone).  Never add another check to these command lines.
#
# shellcheck shell=bash disable=SC2034 # read by run.sh

GEOIP_DATA=$(cd "$HERE/../data/geoip" && pwd)
GEOIP_CITY=$GEOIP_DATA/GeoIP2-City-Test.mmdb
GEOIP_ASN=$GEOIP_DATA/GeoLite2-ASN-Test.mmdb

if begin geoip_city_asn; then
    mx 10 -C geoip -H 81.2.69.160 -v \
        --set "geoip.databases=[$GEOIP_CITY, $GEOIP_ASN]" \
        --set geoip.max_age_days=0
    want_exit 0
    want_status '^MXPROBE OK - 81\.2\.69\.160: London, GB \| geoip_lookup_time=[0-9.]+s'
    want_out 'country: GB United Kingdom'
    want_out 'subdivision: England'
    want_out 'city: London'
    want_out 'coordinates: 51\.5142, -0\.0931 \(accuracy radius 100 km\)'
    want_out 'map: https://www\.openstreetmap\.org/\?mlat=51\.5142&mlon=-0\.0931#map=10/51\.5142/-0\.0931'
    want_out 'GeoIP2-City\) built 2026-02-04'
    want_time 10
    finish
fi

if begin geoip_asn_ipv6; then
    mx 10 -C geoip -H 2a02:1800::1 -v \
        --set "geoip.databases=[$GEOIP_CITY, $GEOIP_ASN]" \
        --set geoip.max_age_days=0
    want_exit 0
    want_status '^MXPROBE OK - 2a02:1800::1: .*AS6848 Telenet N\.V\.'
    want_out 'ASN: AS6848 Telenet N\.V\.'
    want_time 10
    finish
fi

if begin geoip_allowed_countries; then
    mx 10 -C geoip -H 81.2.69.160 \
        --set "geoip.databases=[$GEOIP_CITY]" --set geoip.max_age_days=0 \
        --set 'geoip.allowed_countries=[DE, AT]'
    want_exit 1
    want_status '^MXPROBE WARNING - 81\.2\.69\.160: country GB is not in allowed_countries \(DE, AT\)'
    want_time 10
    finish
fi

if begin geoip_stale_database; then
    # The test databases were built 2026-02-04: past the default 60 days.
    mx 10 -C geoip -H 81.2.69.160 -v --set "geoip.databases=[$GEOIP_CITY]"
    want_exit 1
    want_status 'GeoIP2-City database built 2026-02-04 is [0-9]+ days old \(over max_age_days 60\)'
    want_out 'city: London'
    want_time 10
    finish
fi

if begin geoip_corrupt_database; then
    mx 10 -C geoip -H 128.128.128.128 \
        --set "geoip.databases=[$GEOIP_DATA/MaxMind-DB-test-broken-search-tree-24.mmdb]"
    want_exit 3
    want_status '^MXPROBE UNKNOWN - .*cannot read the record of 128\.128\.128\.128 in .*broken-search-tree-24\.mmdb: '
    want_time 10
    finish
fi

if begin geoip_loopback_private; then
    mx 10 -C geoip -H 127.0.0.21 --set "geoip.databases=[$GEOIP_CITY]" \
        --set geoip.max_age_days=0
    want_exit 0
    want_status '^MXPROBE OK - 127\.0\.0\.21: private address \(loopback\)'
    want_time 10
    finish
fi

if begin geoip_default_left_out; then
    # geoip is among the default checks but, with no database, a default
    # run leaves it out (one note with -v).  Only banner runs against the
    # loopback Postfix here; geoip never connects anywhere.
    if ls /var/lib/GeoIP/*.mmdb /usr/share/GeoIP/*.mmdb >/dev/null 2>&1; then
        say "integration: note: geoip_default_left_out skipped (a database is installed)"
    else
        mx 10 -H 127.0.0.21 -v -C -relay,-backscatter,-zone,-dnsbl
        want_out 'mxprobe: note: geoip left out of the checks: nothing to check with here \(-C geoip says why\)'
        want_no_out '\] geoip:'
        want_out '\[OK\] banner:'
        want_time 10
        finish
    fi
fi

if begin geoip_no_database; then
    # Only meaningful where the standard places hold no database.
    if ls /var/lib/GeoIP/*.mmdb /usr/share/GeoIP/*.mmdb >/dev/null 2>&1; then
        say "integration: note: geoip_no_database skipped (a database is installed)"
    else
        mx 10 -C geoip -H 127.0.0.21
        want_exit 3
        want_status '^MXPROBE UNKNOWN - 127\.0\.0\.21: no GeoIP database: .*/var/lib/GeoIP/\*\.mmdb, /usr/share/GeoIP/\*\.mmdb'
        want_time 10
        finish
    fi
fi

# A database the tests write (geoip-loopback.pl, Debian's
# libmaxmind-db-writer-perl) that covers 127.0.0.0/8 and ::1: runs
# against the loopback servers get a location, and the database's answer
# wins over "private address".  Only -C geoip here too.
GEOIP_LB=$TMP/geoip
mkdir -p "$GEOIP_LB"
if ! perl "$HERE/geoip-loopback.pl" "$GEOIP_LB" >"$GEOIP_LB/writer.log" 2>&1; then
    say "integration: note: geoip-loopback.pl failed: $(head -n 3 "$GEOIP_LB/writer.log")"
fi
GEOIP_LB_DBS="geoip.databases=[$GEOIP_LB/loopback-city.mmdb, $GEOIP_LB/loopback-asn.mmdb]"

if begin geoip_loopback_database; then
    mx 10 -C geoip -H 127.0.0.21 -v --set "$GEOIP_LB_DBS"
    want_exit 0
    want_status '^MXPROBE OK - 127\.0\.0\.21: Loopback, DE, AS64512 mxprobe test network'
    want_out 'map: https://www\.openstreetmap\.org/\?mlat=52\.5200&mlon=13\.4050#map=10/52\.5200/13\.4050'
    want_out 'mxprobe-Loopback-City\) built [0-9]{4}-'
    want_no_out 'private address'
    want_time 10
    finish
fi

if begin geoip_loopback_ipv6_policy; then
    mx 10 -C geoip -H ::1 --set "$GEOIP_LB_DBS" \
        --set 'geoip.allowed_countries=[AT]' --set 'geoip.allowed_asns=[AS64512]'
    want_exit 1
    want_status '^MXPROBE WARNING - ::1: country DE is not in allowed_countries \(AT\)'
    want_no_out 'allowed_asns \('
    want_time 10
    finish
fi

if begin geoip_json_fields; then
    mx 10 -C geoip -H 127.0.0.21 -o json --set "$GEOIP_LB_DBS"
    want_exit 0
    want_out '"plugin":"geoip".*"fields":\{"country":"DE","country_name":"Germany","city":"Loopback","lat":52\.52,"lon":13\.405,"accuracy_radius_km":5,"asn":64512,"org":"mxprobe test network"\}'
    want_time 10
    finish
fi
