#!/usr/bin/env python3
"""nbns.py - the netbios plugin's loopback peers, all in one process.

  --open ADDR:PORT     a TCP listener that accepts and closes (SMB, 139)
  --nbns ADDR:MODE     a scripted NetBIOS name service on ADDR:137/udp:
                       status  answers a node status (RFC 1002 4.2.18):
                               MAILHOST<00>, WORKGROUP<00> group,
                               MAILHOST<20>, MAC 00:11:22:33:44:aa
                       garbage answers bytes that are not NBNS
                       lying   answers with NUM_NAMES 200 and 3 entries,
                               after a well-formed answer naming SPOOFED
                               from another port (which must be ignored)
Only loopback addresses are accepted.  Runs until killed.
"""
import argparse
import selectors
import socket
import struct
import sys


def loopback(addr):
    if not addr.startswith("127."):
        sys.exit("nbns.py: loopback addresses only: " + addr)
    return addr


def entry(name, suffix, flags):
    return name.ljust(15).encode()[:15] + bytes([suffix]) + struct.pack(">H", flags)


def answer(req, names, claimed=None, mac=bytes.fromhex("0011223344aa")):
    rd = bytes([len(names) if claimed is None else claimed])
    rd += b"".join(names) + mac + bytes(40)
    rr = req[12:46] + struct.pack(">HHIH", 0x21, 1, 0, len(rd)) + rd
    return req[:2] + struct.pack(">HHHHH", 0x8400, 0, 1, 0, 0) + rr


TABLE = [
    entry("MAILHOST", 0x00, 0x0400),
    entry("WORKGROUP", 0x00, 0x8400),
    entry("MAILHOST", 0x20, 0x0400),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--open", action="append", default=[])
    ap.add_argument("--nbns", action="append", default=[])
    args = ap.parse_args()
    sel = selectors.DefaultSelector()
    for spec in args.open:
        addr, port = spec.rsplit(":", 1)
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((loopback(addr), int(port)))
        s.listen(16)
        sel.register(s, selectors.EVENT_READ, ("tcp", None))
    for spec in args.nbns:
        addr, mode = spec.split(":", 1)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((loopback(addr), 137))
        side = None
        if mode == "lying":
            side = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            side.bind((addr, 0))
        sel.register(u, selectors.EVENT_READ, ("udp", (mode, side)))
    print("nbns.py: ready", flush=True)
    while True:
        for key, _ in sel.select():
            kind, extra = key.data
            if kind == "tcp":
                c, _ = key.fileobj.accept()
                c.close()
                continue
            mode, side = extra
            req, src = key.fileobj.recvfrom(2048)
            if len(req) < 46:
                continue
            if mode == "status":
                key.fileobj.sendto(answer(req, TABLE), src)
            elif mode == "garbage":
                key.fileobj.sendto(b"\xff\xfegarbage, not NetBIOS\r\n", src)
            elif mode == "lying":
                side.sendto(answer(req, [entry("SPOOFED", 0, 0x0400)]), src)
                key.fileobj.sendto(answer(req, TABLE, claimed=200), src)


if __name__ == "__main__":
    main()
