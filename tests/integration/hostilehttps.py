#!/usr/bin/env python3
"""hostilehttps.py - an HTTPS server that answers what nginx will not, for
cases-https-review.sh.  The scenario is the first label of the request's
Host header:

  http09    no status line, only a body (HTTP/0.9), then close
  badver    "HTTP/9.9 200 OK": a status line of no HTTP version known
  longline  a status line, then one header line of 200 KB and a body
  big404    a 404 whose page is 100000 bytes (over the 64 KiB cap)
  hostile   a 64-byte policy, Content-Length: the server is up

    hostilehttps.py --listen 127.0.0.236:443 --cert KEY_AND_CHAIN.pem

Requests are logged to stdout.  Loopback only, no dependencies.
"""
import argparse
import socket
import ssl
import threading

A = argparse.ArgumentParser()
A.add_argument("--listen", required=True)
A.add_argument("--cert", required=True)
ARGS = A.parse_args()

POLICY = b"version: STSv1\nmode: enforce\nmx: mail.https.test\nmax_age: 86400\n"
REPLIES = {
    "http09": POLICY,
    "badver": b"HTTP/9.9 200 OK\r\nContent-Length: 64\r\n\r\n" + POLICY,
    "longline": b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 200000 +
                b"\r\nContent-Length: 64\r\n\r\n" + POLICY,
    "big404": b"HTTP/1.1 404 Not Found\r\nContent-Length: 100000\r\n\r\n" +
              b"n" * 100000,
    "hostile": b"HTTP/1.1 200 OK\r\nContent-Length: 64\r\n\r\n" + POLICY,
}


def serve(raw, ctx):
    try:
        with ctx.wrap_socket(raw, server_side=True) as c:
            c.settimeout(10)
            req = b""
            while b"\r\n\r\n" not in req and len(req) < 65536:
                d = c.recv(4096)
                if not d:
                    return
                req += d
            host = b""
            for line in req.split(b"\r\n")[1:]:
                if line.lower().startswith(b"host:"):
                    host = line[5:].strip()
            scen = host.split(b".")[0].decode("ascii", "replace")
            print("request", scen, req.split(b"\r\n")[0], flush=True)
            c.sendall(REPLIES.get(scen, b"HTTP/1.1 404 Not Found\r\n"
                                  b"Content-Length: 0\r\n\r\n"))
            try:
                c.unwrap()
            except (OSError, ssl.SSLError):
                pass
    except (OSError, ssl.SSLError) as e:
        print("error", type(e).__name__, e, flush=True)
    finally:
        raw.close()


def main():
    host, _, port = ARGS.listen.rpartition(":")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(ARGS.cert)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port)))
    s.listen(16)
    while True:
        raw, _ = s.accept()
        threading.Thread(target=serve, args=(raw, ctx), daemon=True).start()


main()
