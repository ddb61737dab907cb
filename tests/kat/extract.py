#!/usr/bin/env python3
"""extract.py WORK CIPHER - known-answer records from one gen.sh run.

Reads WORK/CIPHER.pcap (server-side veth, classic pcap, Ethernet) and the
--verb 9 logs WORK/CIPHER.{client,server}.log of stock OpenVPN. For each
direction it takes the sender's data key ("Outgoing Data Channel: CIPHER
KEY") and implicit IV (last 8 bytes of "ENCRYPT IV"), cross-checks them with
the receiver's "Incoming"/"DECRYPT IV" lines, decrypts the P_DATA_V2 key_id 0
packets independently with python3-cryptography and prints a few records:

  cipher=C dir=c2s|s2c peer=N pid=N kind=K key=HEX iv=HEX packet=HEX plain=HEX

AEAD layout (openvpn-wire.md 6.2): [op<<3|kid][peer-id 3][pid 4][tag 16][ct],
AAD = first 8 bytes, nonce = pid (4, BE) || implicit IV (8).
"""
import re
import struct
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

SERVER_IP = '198.18.201.1'
CLIENT_IP = '198.18.201.2'
P_DATA_V2 = 9
PING_MAGIC = bytes.fromhex('2a187bf3641eb4cb07ed2d0a981fc748')
MAX_PER_DIR = 9		# records per direction
MAX_PER_LEN = 2		# records per plaintext length


def die(msg):
    sys.stderr.write(f'extract.py: {msg}\n')
    sys.exit(1)


def udp_payloads(path):
    """Yields (src ip, UDP payload) for every IPv4/UDP frame of a pcap."""
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24:
        die(f'{path}: short pcap')
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        end = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        end = '>'
    else:
        die(f'{path}: not a classic pcap')
    linktype = struct.unpack(end + 'I', data[20:24])[0]
    if linktype != 1:
        die(f'{path}: link type {linktype}, want Ethernet')
    off = 24
    while off + 16 <= len(data):
        caplen, origlen = struct.unpack(end + 'II', data[off + 8:off + 16])
        frame = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        if caplen != origlen or len(frame) < 14 + 20 + 8:
            continue
        if frame[12:14] != b'\x08\x00':
            continue
        ip = frame[14:]
        ihl = (ip[0] & 15) * 4
        if ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        if struct.unpack('>H', ip[6:8])[0] & 0x3fff:
            continue	# fragment
        src = '.'.join(str(b) for b in ip[12:16])
        udp = ip[ihl:]
        ulen = struct.unpack('>H', udp[4:6])[0]
        yield src, bytes(udp[8:ulen])


def log_values(path, pattern):
    """Distinct values (in order) of group 1 of @pattern over a log file."""
    out = []
    rx = re.compile(pattern)
    with open(path, errors='replace') as f:
        for line in f:
            m = rx.search(line)
            if m:
                v = m.group(1).replace(' ', '').lower()
                if v not in out:
                    out.append(v)
    return out


def one(values, what):
    if len(values) != 1:
        die(f'{what}: want exactly one value, got {values}')
    return values[0]


def key_material(work, cipher, sender, receiver):
    """Sender's cipher key and implicit IV, checked against the receiver's view."""
    slog = f'{work}/{cipher}.{sender}.log'
    rlog = f'{work}/{cipher}.{receiver}.log'
    hexw = r'((?:[0-9a-f]{8} ?)+)'
    key = one(log_values(slog, r'Outgoing Data Channel: CIPHER KEY: ' + hexw), f'{slog} key')
    rkey = one(log_values(rlog, r'Incoming Data Channel: CIPHER KEY: ' + hexw), f'{rlog} key')
    ivre = r'%s IV: [0-9a-f]{8} ([0-9a-f]{8} [0-9a-f]{8})\s*$'
    iv = one(log_values(slog, ivre % 'ENCRYPT'), f'{slog} ENCRYPT IV')
    riv = one(log_values(rlog, ivre % 'DECRYPT'), f'{rlog} DECRYPT IV')
    if key != rkey or iv != riv:
        die(f'{cipher} {sender}->{receiver}: logs disagree on key/iv')
    return bytes.fromhex(key), bytes.fromhex(iv)


def aead(cipher, key):
    if cipher in ('AES-128-GCM', 'AES-256-GCM'):
        want = 16 if cipher == 'AES-128-GCM' else 32
        if len(key) != want:
            die(f'{cipher}: key is {len(key)} bytes')
        return AESGCM(key)
    if cipher == 'CHACHA20-POLY1305':
        return ChaCha20Poly1305(key)
    die(f'unknown cipher {cipher}')


def kind_of(pt):
    if pt == PING_MAGIC:
        return 'ping'
    if len(pt) >= 20 and pt[0] >> 4 == 4 and struct.unpack('>H', pt[2:4])[0] == len(pt):
        return 'ipv4'
    if len(pt) >= 40 and pt[0] >> 4 == 6:
        return 'ipv6'
    return 'other'


def select(cands):
    """Keepalives first, then at most MAX_PER_LEN per plaintext length, in capture order."""
    picked, per_len = [], {}
    for c in [c for c in cands if c[2] == 'ping'][:2] + [c for c in cands if c[2] != 'ping']:
        n = len(c[1])
        if per_len.get(n, 0) >= MAX_PER_LEN or c in picked:
            continue
        per_len[n] = per_len.get(n, 0) + 1
        picked.append(c)
        if len(picked) == MAX_PER_DIR:
            break
    return sorted(picked, key=lambda c: struct.unpack('>I', c[0][4:8])[0])


def direction(work, cipher, name, src, sender, receiver):
    key, iv = key_material(work, cipher, sender, receiver)
    box = aead(cipher, key)
    cands = []
    for s, p in udp_payloads(f'{work}/{cipher}.pcap'):
        if s != src or len(p) < 24 or p[0] >> 3 != P_DATA_V2 or p[0] & 7:
            continue
        aad, pid, tag, ct = p[:8], p[4:8], p[8:24], p[24:]
        pt = box.decrypt(pid + iv, ct + tag, aad)	# raises InvalidTag on mismatch
        cands.append((p, pt, kind_of(pt)))
    picked = select(cands)
    kinds = {c[2] for c in picked}
    sizes = {len(c[1]) for c in picked if c[2] == 'ipv4'}
    if len(picked) < 4 or len(sizes) < 3 or 'ping' not in kinds:
        die(f'{cipher} {name}: {len(picked)} packets, ipv4 sizes {sorted(sizes)}, kinds {kinds}')
    for p, pt, kind in picked:
        peer = int.from_bytes(p[1:4], 'big')
        pid = int.from_bytes(p[4:8], 'big')
        print(f'cipher={cipher} dir={name} peer={peer} pid={pid} kind={kind} '
              f'key={key.hex()} iv={iv.hex()} packet={p.hex()} plain={pt.hex()}')


def main():
    if len(sys.argv) != 3:
        die('usage: extract.py WORK CIPHER')
    work, cipher = sys.argv[1:3]
    direction(work, cipher, 'c2s', CLIENT_IP, 'client', 'server')
    direction(work, cipher, 's2c', SERVER_IP, 'server', 'client')


if __name__ == '__main__':
    main()
