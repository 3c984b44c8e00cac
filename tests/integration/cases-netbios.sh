# tests/integration/cases-netbios.sh - the netbios plugin's cases, sourced
# by run.sh after cases.sh.
#
# Loopback only: nbns.py listens on 127.0.0.81:139 and :445 (open; nothing
# on :135, refused) with a node status answer on 127.0.0.81:137/udp; on
# 127.0.0.82:137/udp it answers garbage, on 127.0.0.83:137/udp a table
# whose NUM_NAMES lies (after a spoofed answer from another port, which
# the core must ignore); nothing listens anywhere on 127.0.0.84.
#
# shellcheck shell=bash disable=SC2034 # read by run.sh

NB_OPEN=127.0.0.81
NB_GARBAGE=127.0.0.82
NB_LYING=127.0.0.83
NB_NONE=127.0.0.84

"$PY" "$HERE/nbns.py" --open $NB_OPEN:139 --open $NB_OPEN:445 \
    --nbns $NB_OPEN:status --nbns $NB_GARBAGE:garbage \
    --nbns $NB_LYING:lying >"$TMP/nbns.log" 2>&1 9>&- &
PIDS+=($!)
wait_for 10 tcp_listens $NB_OPEN 445 || { cat "$TMP/nbns.log"; die "nbns.py did not start"; }

if begin netbios_open_and_node_status; then
    mx 10 -C +netbios -H $NB_OPEN -v
    want_exit 2
    want_out '\[CRITICAL\] netbios: port 139/tcp \(NetBIOS session, SMB\) open'
    want_out '\[CRITICAL\] netbios: port 445/tcp \(SMB\) open'
    want_out '\[OK\] netbios: port 135/tcp \(MS RPC\) closed \(connection refused\)'
    want_out '\[CRITICAL\] netbios: port 137/udp \(NetBIOS name service\) answers a node status: host MAILHOST, workgroup WORKGROUP, MAC 00:11:22:33:44:aa'
    want_out 'netbios:   name MAILHOST<20> unique'
    want_out 'netbios_open_ports=2;'
    want_time 10
    finish
fi

if begin netbios_only_checks; then
    # -C netbios: that check alone; the status line names it.
    mx 10 -C netbios -H $NB_OPEN
    want_exit 2
    want_status '^MXPROBE CRITICAL - 127\.0\.0\.81: port 139/tcp .*open'
    want_no_out 'banner'
    want_time 10
    finish
fi

if begin netbios_garbage; then
    mx 10 -C netbios -H $NB_GARBAGE -v
    want_exit 1
    want_out '\[WARNING\] netbios: port 137/udp answered [0-9]+ bytes that are not a NetBIOS answer'
    want_out '\[OK\] netbios: port 445/tcp \(SMB\) closed'
    want_time 10
    finish
fi

if begin netbios_counts_lie; then
    mx 10 -C netbios -H $NB_LYING -v
    want_exit 2
    want_out '\[CRITICAL\] netbios: port 137/udp \(NetBIOS name service\) answered, unparsable: NUM_NAMES says 200 names'
    want_no_out 'SPOOFED'
    want_time 10
    finish
fi

if begin netbios_nothing_exposed; then
    mx 10 -C netbios -H $NB_NONE -v
    want_exit 0
    want_status '^MXPROBE OK - .*no NetBIOS or SMB exposed'
    want_out '\[OK\] netbios: port 137/udp \(NetBIOS name service\) (closed|filtered)'
    want_time 10
    finish
fi

if begin netbios_ports_config; then
    mx 10 -C netbios -H $NB_OPEN --set 'netbios.ports=[135, 445]' \
        --set netbios.udp_137=false -v
    want_exit 2
    want_out '\[CRITICAL\] netbios: port 445/tcp \(SMB\) open'
    want_out 'port 135/tcp \(MS RPC\) closed'
    want_no_out 'port 139/tcp|137/udp'
    want_time 10
    finish
fi

if begin netbios_off_by_default; then
    # The default checks never scan ports: nothing of netbios without -C.
    mx 15 -H $NB_OPEN -v
    want_out '\] banner: '
    want_no_out 'netbios'
    finish
fi
