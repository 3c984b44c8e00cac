#!/usr/bin/env python3
"""dnsdrop.py - a UDP DNS forwarder that never answers some names.

The integration tests put it between mxprobe and the test Knot instance to
model a DNSBL whose servers do not answer: queries whose name ends in one
of the --drop suffixes are swallowed, every other query is relayed to
--upstream and the answer sent back.  Used only when build/tools/dnsdelay
(bench/dnsdelay.c) is not built.  Loopback only, no dependencies.

    dnsdrop.py --listen 127.0.0.54:5353 --upstream 127.0.0.53:5353 \
               --drop slow.mxprobe.test [--pidfile F]
"""
import argparse
import os
import select
import socket
import sys
import time


def addr(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def qname(packet):
    """The question name of a DNS message, lower case, or None."""
    if len(packet) < 12:
        return None
    labels, pos = [], 12
    while pos < len(packet):
        n = packet[pos]
        if n == 0:
            return ".".join(labels).lower()
        if n & 0xC0 or pos + 1 + n > len(packet):
            return None
        labels.append(packet[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=addr, required=True)
    ap.add_argument("--upstream", type=addr, required=True)
    ap.add_argument("--drop", action="append", default=[])
    ap.add_argument("--pidfile")
    opt = ap.parse_args()
    if not opt.listen[0].startswith("127."):
        sys.exit("dnsdrop: refusing to listen outside 127.0.0.0/8")
    drops = [d.lower().strip(".") for d in opt.drop]

    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(opt.listen)
    back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    back.bind((opt.listen[0], 0))
    if opt.pidfile:
        with open(opt.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())

    # (upstream query id) -> (client address, client id, time); ids are
    # rewritten so that two clients using the same id cannot collide.
    pending, next_id = {}, 1
    while True:
        ready, _, _ = select.select([front, back], [], [], 1.0)
        now = time.monotonic()
        for k in [k for k, v in pending.items() if now - v[2] > 30]:
            del pending[k]
        if front in ready:
            data, client = front.recvfrom(65535)
            name = qname(data)
            if name is None or any(name == d or name.endswith("." + d)
                                   for d in drops):
                continue
            qid = next_id
            next_id = next_id % 65535 + 1
            pending[qid] = (client, data[:2], now)
            back.sendto(qid.to_bytes(2, "big") + data[2:], opt.upstream)
        if back in ready:
            data, _ = back.recvfrom(65535)
            if len(data) < 12:
                continue
            entry = pending.pop(int.from_bytes(data[:2], "big"), None)
            if entry:
                front.sendto(entry[1] + data[2:], entry[0])


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
