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
"""
import os
import select
import socket
import struct
import sys
import time

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

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


def main():
    args = sys.argv[1:]
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
