#!/usr/bin/env python3
"""Bounded flood of forged OpenVPN control packets at a tls-crypt UDP server.

usage: server_flood.py KEYFILE DST_IP PORT COUNT [--sockets N] [--linger SECONDS]
       server_flood.py KEYFILE DST_IP PORT --probe

Sends COUNT datagrams alternating between two kinds, from N UDP sockets
(default 16, so N source ports), round-robin, in small paced bursts:

  badwrap  P_CONTROL_HARD_RESET_CLIENT_V2 (key_id 0, message id 0, no acks),
           tls-crypt wrapped with a random key instead of KEYFILE: the server
           must drop it when the tag does not verify (no reply, no state).
  cookie   a "third packet" tls-crypt wrapped with the right key (KEYFILE,
           client-to-server slices): P_ACK_V1 acking message id 0, or
           P_CONTROL_V1 message id 1 acking 0 with a fake TLS ClientHello
           prefix, both naming a random 8-byte server session id, i.e. a
           forged cookie: the server must not create a session for it.

Then it listens LINGER seconds (default 2) and prints one line:
  sent=<n> badwrap=<n> cookie=<n> replies=<datagrams received back>

--probe sends one valid reset wrapped with KEYFILE and prints replies=<n>
after up to 3 s: a server reply proves the wrapping above is right, so the
"cookie" packets really reach the cookie check.
Run it inside the attacker's namespace. Needs python3-cryptography.

The generator form, for the hardening tests (seeded, bounded, key=value out):

  server_flood.py --mode MODE --dst IP:PORT [--count N] [--rate PPS]
                  [--sources CIDR] [--sport PORT] [--key KEYFILE]
                  [--peer-id N] [--pcap FILE] [--seed N] [--linger S]

  MODE  reset-keyless  HARD_RESET_CLIENT_V2 without wrapping (a server with
                       no tls-auth/tls-crypt answers within its reply budget)
        reset-keyed    the same reset, tls-crypt wrapped with KEYFILE (the
                       attacker has the key: again only the budget holds)
        reset-badwrap  tls-crypt wrapped with a random key: never answered
        third-forged   a P_ACK_V1 acking message id 0 that names a random
                       server session id (a forged cookie); wrapped with
                       KEYFILE if one is given: no session, no reply
        data-junk      P_DATA_V2 with --peer-id, a packet id and 16..300
                       random bytes: every one fails the AEAD tag
        data-replay    every P_DATA_V2 payload of --peer-id in --pcap, as is
        data-tamper    the same with one bit of the tag or ciphertext flipped

--sources CIDR sends from every address of CIDR in turn (the namespace must
own them, e.g. `ip route add local CIDR dev lo`), all from --sport (default
40000), through one socket (IP_PKTINFO). Without it, one address, --sport.
--rate paces (default 2000 datagrams/s), --count bounds (default 1000; for
data-replay / data-tamper the capture's packets, each once). After the last
datagram it listens --linger s (default 2) for replies and prints:

  mode=M sent=N send_errors=E sources=S replies=R reply_sources=Q
  reply_bytes=B duration_s=T

reset-keyless, data-junk, data-replay and third-forged without --key need
only the standard library.
"""
import os
import select
import socket
import struct
import sys
import time

import ipaddress
import random

P_CONTROL_V1 = 4
P_ACK_V1 = 5
P_CONTROL_HARD_RESET_CLIENT_V2 = 7


def read_static_key(path):
    """The 256 bytes of an "OpenVPN Static key V1" file."""
    hexstr, inside = "", False
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("-----BEGIN"):
                inside = True
            elif line.startswith("-----END"):
                break
            elif inside:
                hexstr += line
    key = bytes.fromhex(hexstr)
    if len(key) != 256:
        sys.exit("server_flood: %s: expected 256 key bytes, got %d" % (path, len(key)))
    return key


def wrap(key, header, plain):
    """tls-crypt, client to server: Ke = key[128:160], Ka = key[192:224]."""
    from cryptography.hazmat.primitives import hashes, hmac
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    mac = hmac.HMAC(key[192:224], hashes.SHA256())
    mac.update(header + plain)
    tag = mac.finalize()
    enc = Cipher(algorithms.AES(key[128:160]), modes.CTR(tag[:16])).encryptor()
    return header + tag + enc.update(plain) + enc.finalize()


def header(opcode, pid):
    sid = os.urandom(8)
    return bytes([opcode << 3]) + sid + struct.pack(">II", pid, int(time.time()))


def badwrap(pid):
    plain = b"\x00" + struct.pack(">I", 0)          # no acks, message id 0
    return wrap(os.urandom(256), header(P_CONTROL_HARD_RESET_CLIENT_V2, pid), plain)


def cookie(key, pid, n):
    acks = b"\x01" + struct.pack(">I", 0) + os.urandom(8)   # ack [0] + forged server sid
    if n % 2:
        return wrap(key, header(P_ACK_V1, pid), acks)
    hello = b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03" + os.urandom(32)
    return wrap(key, header(P_CONTROL_V1, pid), acks + struct.pack(">I", 1) + hello)


def probe(key, dst):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    plain = b"\x00" + struct.pack(">I", 0)
    s.sendto(wrap(key, header(P_CONTROL_HARD_RESET_CLIENT_V2, 1), plain), dst)
    try:
        data = s.recv(2048)
        print("replies=1 opcode=%d len=%d" % (data[0] >> 3, len(data)))
    except (socket.timeout, ConnectionRefusedError):
        print("replies=0")


# ---- the generator form ------------------------------------------------------
IP_PKTINFO = 8            # <linux/in.h>; Python's socket module lacks it
P_DATA_V2 = 9
MODES = ("reset-keyless", "reset-keyed", "reset-badwrap", "third-forged", "data-junk",
         "data-replay", "data-tamper")


def pcap_udp_payloads(path):
    """The UDP payloads of the IPv4 datagrams in a pcap (Ethernet, cooked or raw IP)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    e = "<" if struct.unpack("<I", data[:4])[0] in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(e + "I", data[20:24])[0]
    l2 = {1: 14, 113: 16, 101: 0}.get(linktype, 0)
    off, out = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack(e + "I", data[off + 8:off + 12])[0]
        ip = data[off + 16 + l2:off + 16 + incl]
        off += 16 + incl
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        out.append(ip[(ip[0] & 15) * 4 + 8:])
    return out


def gen_packets(a, rng):
    """The datagrams of mode a.mode, in order."""
    key = read_static_key(a.key) if a.key else None
    if a.mode in ("data-replay", "data-tamper"):
        pkts = [p for p in pcap_udp_payloads(a.pcap) if len(p) > 8 and p[0] >> 3 == P_DATA_V2
                and (a.peer_id is None or int.from_bytes(p[1:4], "big") == a.peer_id)]
        for p in pkts[:a.count] if a.count else pkts:
            if a.mode == "data-tamper":
                # One bit after opcode, peer-id and packet id: tag or ciphertext.
                b = bytearray(p)
                bit = rng.randrange(8 * 8, len(b) * 8)
                b[bit // 8] ^= 1 << (bit % 8)
                p = bytes(b)
            yield p
        return
    for n in range(a.count):
        pid = 1 + n
        if a.mode == "reset-keyless":
            yield header(P_CONTROL_HARD_RESET_CLIENT_V2, pid)[:9] + b"\x00" + struct.pack(">I", 0)
        elif a.mode == "reset-keyed":
            yield wrap(key, header(P_CONTROL_HARD_RESET_CLIENT_V2, pid), b"\x00" + struct.pack(">I", 0))
        elif a.mode == "reset-badwrap":
            yield badwrap(pid)
        elif a.mode == "third-forged":
            acks = b"\x01" + struct.pack(">I", 0) + os.urandom(8)
            if key:
                yield wrap(key, header(P_ACK_V1, pid), acks)
            else:
                yield bytes([P_ACK_V1 << 3]) + os.urandom(8) + acks
        elif a.mode == "data-junk":
            body = struct.pack(">I", pid) + bytes(rng.getrandbits(8) for _ in range(rng.randint(16, 300)))
            yield bytes([P_DATA_V2 << 3]) + a.peer_id.to_bytes(3, "big") + body


def generator(argv):
    import argparse
    p = argparse.ArgumentParser(prog="server_flood.py")
    p.add_argument("--mode", choices=MODES, required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--rate", type=float, default=2000.0)
    p.add_argument("--sources")
    p.add_argument("--sport", type=int, default=40000)
    p.add_argument("--key")
    p.add_argument("--peer-id", type=int)
    p.add_argument("--pcap")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--linger", type=float, default=2.0)
    a = p.parse_args(argv)
    if a.mode in ("reset-keyed",) and not a.key:
        p.error("--mode %s needs --key" % a.mode)
    if a.mode == "data-junk" and a.peer_id is None:
        p.error("--mode data-junk needs --peer-id")
    if a.mode in ("data-replay", "data-tamper"):
        if not a.pcap:
            p.error("--mode %s needs --pcap" % a.mode)
        if "--count" not in argv:
            a.count = 0
    rng = random.Random(a.seed)
    host, _, port = a.dst.rpartition(":")
    dst = (host, int(port))
    srcs = [str(x) for x in ipaddress.ip_network(a.sources, strict=False)] if a.sources else [None]
    if len(srcs) > 2:
        srcs = srcs[1:-1]      # not the network and broadcast addresses
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    s.bind(("0.0.0.0", a.sport))
    s.setblocking(False)
    sent = errors = replies = reply_bytes = 0
    reply_from = set()
    used = set()

    def drain():
        nonlocal replies, reply_bytes
        while True:
            try:
                data, anc, _, _ = s.recvmsg(4096, 64)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            replies += 1
            reply_bytes += len(data)
            for level, typ, cdata in anc:
                if level == socket.IPPROTO_IP and typ == IP_PKTINFO and len(cdata) >= 12:
                    reply_from.add(socket.inet_ntoa(cdata[8:12]))

    t0 = time.monotonic()
    for n, pkt in enumerate(gen_packets(a, rng)):
        due = t0 + n / a.rate
        while True:
            drain()
            wait = due - time.monotonic()
            if wait <= 0:
                break
            select.select([s], [], [], wait)
        src = srcs[n % len(srcs)]
        anc = []
        if src:
            anc = [(socket.IPPROTO_IP, IP_PKTINFO,
                    struct.pack("=I4s4s", 0, socket.inet_aton(src), b"\0" * 4))]
            used.add(src)
        try:
            s.sendmsg([pkt], anc, 0, dst)
            sent += 1
        except BlockingIOError:
            select.select([], [s], [], 0.1)
            errors += 1
        except OSError:
            errors += 1
    t1 = time.monotonic()
    end = t1 + a.linger
    while time.monotonic() < end:
        select.select([s], [], [], max(0.0, end - time.monotonic()))
        drain()
    print("mode=%s sent=%d send_errors=%d sources=%d replies=%d reply_sources=%d "
          "reply_bytes=%d duration_s=%.2f seed=%d" %
          (a.mode, sent, errors, max(len(used), 1), replies, len(reply_from), reply_bytes,
           t1 - t0, a.seed))


def main():
    args = sys.argv[1:]
    if args and args[0].startswith("--") and args[0] != "--probe":
        generator(args)
        return
    if len(args) == 4 and args[3] == "--probe":
        probe(read_static_key(args[0]), (args[1], int(args[2])))
        return
    nsock, linger = 16, 2.0
    if "--sockets" in args:
        i = args.index("--sockets")
        nsock = int(args[i + 1])
        del args[i:i + 2]
    if "--linger" in args:
        i = args.index("--linger")
        linger = float(args[i + 1])
        del args[i:i + 2]
    if len(args) != 4:
        sys.exit(__doc__)
    key = read_static_key(args[0])
    dst = (args[1], int(args[2]))
    count = int(args[3])
    socks = []
    for _ in range(nsock):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", 0))
        s.setblocking(False)
        socks.append(s)
    sent = nbad = ncookie = replies = 0
    for n in range(count):
        pid = 1 + n // nsock     # per-source replay ids never 0 (0 is never sent by OpenVPN)
        if n % 2:
            pkt = cookie(key, pid, n // 2)
            ncookie += 1
        else:
            pkt = badwrap(pid)
            nbad += 1
        try:
            socks[n % nsock].sendto(pkt, dst)
            sent += 1
        except BlockingIOError:
            pass
        if n % 50 == 49:
            time.sleep(0.02)    # paced: ~2500 packets/s at most
    deadline = time.time() + linger
    while True:
        left = deadline - time.time()
        if left <= 0:
            break
        ready, _, _ = select.select(socks, [], [], left)
        for s in ready:
            try:
                while s.recv(2048):
                    replies += 1
            except (BlockingIOError, ConnectionRefusedError):
                pass
    print("sent=%d badwrap=%d cookie=%d replies=%d" % (sent, nbad, ncookie, replies))


if __name__ == "__main__":
    main()
