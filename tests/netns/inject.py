#!/usr/bin/env python3
"""Re-inject an OpenVPN data packet captured by tcpdump, as is or with one bit flipped.

usage: inject.py PCAP SRC_IP DST_IP [--flip] [--index N]
       inject.py --bad short|opcode|key_id|empty SRC_IP DST_IP PORT

Takes the N-th (default: last) UDP datagram from SRC_IP to DST_IP whose first
payload byte is a data opcode (P_DATA_V1/V2) and sends the same IP datagram
again through a raw socket (run it inside the sender's namespace). --flip
inverts the low bit of the last payload byte (inside the ciphertext), so the
AEAD tag must fail. Prints the opcode byte, key_id and packet-id it sent.
"""
import socket
import struct
import sys


def packets(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:        # Ethernet
            if len(frame) < 14 or frame[12:14] != b"\x08\x00":
                continue
            yield frame[14:]
        elif linktype == 113:    # Linux cooked
            if len(frame) < 16 or frame[14:16] != b"\x08\x00":
                continue
            yield frame[16:]
        elif linktype == 101:    # raw IP
            yield frame


def craft(src, dst, sport, dport, payload):
    """An IPv4+UDP datagram (UDP checksum 0; the kernel fills the IP checksum)."""
    udp = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0x1234, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    return ip + udp


# Malformed datagrams and the drop reason the receiver must count for each.
BAD = {
    "short": bytes([9 << 3]) + b"\x00\x00",                    # P_DATA_V2, 3 bytes
    "opcode": bytes([31 << 3]) + bytes(40),                      # opcode 31 does not exist
    "key_id": bytes([9 << 3 | 3]) + b"\x00\x00\x05" + bytes(40),  # no key in slot 3
    "empty": b"",
}


def main():
    args = sys.argv[1:]
    if args and args[0] == "--bad":
        kind, src, dst, port = args[1], args[2], args[3], int(args[4])
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        s.sendto(craft(src, dst, port, port, BAD[kind]), (dst, 0))
        print("injected bad datagram: %s" % kind)
        return
    flip = "--flip" in args
    index = -1
    if "--index" in args:
        index = int(args[args.index("--index") + 1])
    pcap, src, dst = args[0], args[1], args[2]
    found = []
    for ip in packets(pcap):
        if len(ip) < 28 or ip[9] != 17:
            continue
        ihl = (ip[0] & 15) * 4
        if socket.inet_ntoa(ip[12:16]) != src or socket.inet_ntoa(ip[16:20]) != dst:
            continue
        payload = ip[ihl + 8:]
        if not payload or (payload[0] >> 3) not in (6, 9):
            continue
        found.append(bytearray(ip))
    if not found:
        sys.exit("inject: no data packet from %s to %s in %s" % (src, dst, pcap))
    ip = found[index]
    ihl = (ip[0] & 15) * 4
    if flip:
        ip[-1] ^= 1
    # A capture on veth holds a partial (offloaded) UDP checksum; 0 means "none" in IPv4.
    ip[ihl + 6:ihl + 8] = b"\x00\x00"
    payload = ip[ihl + 8:]
    hdr = 4 if (payload[0] >> 3) == 9 else 1
    pid = struct.unpack(">I", payload[hdr:hdr + 4])[0]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.sendto(bytes(ip), (dst, 0))
    print("injected op=0x%02x key_id=%d pid=%d flip=%s" % (payload[0], payload[0] & 7, pid, flip))


if __name__ == "__main__":
    main()
