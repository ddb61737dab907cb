#!/usr/bin/env python3
"""server_tcp_junk.py - junk TCP connections to a tcp-server (server_tcp_junk.sh).

"Opens bounded numbers of connections of each kind to --dst, in this order:
  zero     a zero length prefix (0x0000) then some bytes
  big      an oversize length prefix (0xffff) then some bytes
  random   1..3000 random bytes (seeded), then close
  openclose connect and close at once
  silent   --silent connections that send nothing, held open up to --hold
           seconds ("closed by server" is counted when the server closes first)
Every socket has a timeout; the whole run is bounded by --hold plus a few seconds.
Prints key=value lines: per kind how many connected, how many saw the server close
(EOF or reset) before we did.
"""
import argparse
import random
import socket
import sys
import time


def conn(dst):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(dst)
    except OSError:
        s.close()
        return None
    return s


def closed_by_peer(s, wait):
    s.settimeout(wait)
    try:
        return s.recv(4096) == b""
    except socket.timeout:
        return False
    except OSError:
        return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dst", required=True)
    ap.add_argument("--count", type=int, default=100, help="connections per kind")
    ap.add_argument("--silent", type=int, default=20)
    ap.add_argument("--hold", type=float, default=12.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    host, port = a.dst.rsplit(":", 1)
    dst = (host, int(port))
    rnd = random.Random(a.seed)
    out = {}
    t0 = time.monotonic()

    for kind, payload in (("zero", lambda: b"\x00\x00" + b"x" * 40),
                          ("big", lambda: b"\xff\xff" + b"y" * 100),
                          ("random", lambda: bytes(rnd.getrandbits(8)
                                                   for _ in range(rnd.randint(1, 3000))))):
        ok = peer = 0
        for _ in range(a.count):
            s = conn(dst)
            if not s:
                continue
            ok += 1
            try:
                s.sendall(payload())
                if kind != "random" and closed_by_peer(s, 2):
                    peer += 1
            except OSError:
                peer += 1
            s.close()
        out[kind + "_connected"] = ok
        out[kind + "_closed_by_server"] = peer

    ok = 0
    for _ in range(a.count):
        s = conn(dst)
        if s:
            ok += 1
            s.close()
    out["openclose_connected"] = ok

    # The silent ones, last (they fill the table): the server must close each,
    # over its cap at once, the rest at its first-frame timeout, before --hold.
    silent = [s for s in (conn(dst) for _ in range(a.silent)) if s]
    out["silent_connected"] = len(silent)
    peer = 0
    deadline = time.monotonic() + a.hold
    for s in silent:
        if closed_by_peer(s, max(0.05, deadline - time.monotonic())):
            peer += 1
        s.close()
    out["silent_closed_by_server"] = peer
    out["duration_s"] = "%.1f" % (time.monotonic() - t0)
    for k, v in out.items():
        print("%s=%s" % (k, v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
