#!/usr/bin/env python3
"""manyfake.py - fake SMTP servers on many loopback addresses at once, for
bench/many_bench.py: one asyncio process, one listening socket per
address, each address with its scenario.

    manyfake.py --map FILE --port 2600 [--ready FILE]

FILE has one line per address: "ADDRESS SCENARIO NAME".  Scenarios:
  normal    "220 NAME ESMTP"; EHLO gets 250- lines (PIPELINING, SIZE,
            8BITMIME, ENHANCEDSTATUSCODES); HELO, MAIL, RCPT, RSET, NOOP
            250; DATA 554; QUIT 221 and a close; anything else 502
  silent    accepts, says nothing, reads until the client goes
  drip      the normal greeting one byte a second, then normal
  endless   the normal greeting; EHLO is answered by "250-" lines without
            end (20 every 5 ms) until the client goes
Listens on loopback addresses only (127.0.0.0/8, ::1).  Writes "ready" to
--ready once every socket listens.  SIGTERM ends it.
"""
import argparse
import asyncio
import ipaddress
import resource
import signal
import sys

EHLO_LINES = ["PIPELINING", "SIZE 10240000", "8BITMIME",
              "ENHANCEDSTATUSCODES"]
MAX_LINE = 4096


def ehlo_reply(name):
    lines = [name] + EHLO_LINES
    return "".join("250%s%s\r\n" % ("-" if i < len(lines) - 1 else " ", l)
                   for i, l in enumerate(lines)).encode()


async def readline(reader):
    try:
        line = await reader.readline()
    except (ValueError, ConnectionError):
        return None
    return line[:MAX_LINE] if line else None


async def dialogue(reader, writer, name):
    while True:
        line = await readline(reader)
        if line is None:
            return
        verb = line.split(b" ", 1)[0].strip().upper()
        if verb == b"EHLO":
            writer.write(ehlo_reply(name))
        elif verb in (b"HELO",):
            writer.write(("250 %s\r\n" % name).encode())
        elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            writer.write(b"250 2.0.0 Ok\r\n")
        elif verb == b"DATA":
            writer.write(b"554 5.7.1 no mail here\r\n")
        elif verb == b"QUIT":
            writer.write(b"221 2.0.0 Bye\r\n")
            await writer.drain()
            return
        else:
            writer.write(b"502 5.5.2 Error: command not recognized\r\n")
        await writer.drain()


async def endless(reader, writer, name):
    line = await readline(reader)
    if line is None:
        return
    chunk = b"".join(b"250-%s endless line\r\n" % name.encode()
                     for _ in range(20))
    while True:
        writer.write(chunk)
        await writer.drain()
        await asyncio.sleep(0.005)


async def serve(reader, writer, scenario, name):
    greeting = ("220 %s ESMTP fake\r\n" % name).encode()
    try:
        if scenario == "silent":
            while await reader.read(4096):
                pass
            return
        if scenario == "drip":
            for i in range(len(greeting)):
                writer.write(greeting[i:i + 1])
                await writer.drain()
                await asyncio.sleep(1)
        else:
            writer.write(greeting)
            await writer.drain()
        if scenario == "endless":
            await endless(reader, writer, name)
        else:
            await dialogue(reader, writer, name)
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def main_async(a):
    servers = []
    with open(a.map) as f:
        rows = [l.split() for l in f if l.strip()]
    for addr, scenario, name in rows:
        if not ipaddress.ip_address(addr).is_loopback:
            sys.exit("manyfake: %s is not a loopback address" % addr)
        if scenario not in ("normal", "silent", "drip", "endless"):
            sys.exit("manyfake: unknown scenario %s" % scenario)

        def handler(r, w, s=scenario, n=name):
            return serve(r, w, s, n)
        servers.append(await asyncio.start_server(
            handler, addr, a.port, backlog=512, reuse_address=True))
    if a.ready:
        with open(a.ready, "w") as f:
            f.write("ready\n")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    for s in servers:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--map", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ready")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(main_async(a))


if __name__ == "__main__":
    main()
