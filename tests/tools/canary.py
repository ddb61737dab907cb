#!/usr/bin/env python3
"""A canary stream through a tunnel: numbered, timestamped, checksummed UDP datagrams.

usage: canary.py send --to ADDR:PORT [--rate PPS] [--duration S | --count N]
                      [--size BYTES] [--seed N] [--bind ADDR]
       canary.py recv --bind ADDR:PORT [--duration S] [--idle S] [--seed N]
                      [--events FILE]
       canary.py tcp-send --to ADDR:PORT --bytes N [--seed N] [--timeout S]
       canary.py tcp-sink --bind ADDR:PORT [--seed N] [--timeout S]

Each datagram carries a magic, the run id (from --seed), a sequence number,
the sender's wall-clock send time in ns and --size bytes in all, filled with
bytes derived from (seed, sequence), and a CRC-32 over all of it. The sender
paces to --rate (absolute schedule, so a late wakeup does not lower the
rate) and ends with five END datagrams carrying the count it sent.

The receiver runs until it has an END and then 1 s more, or --duration
seconds (default 120), or --idle seconds (default 10) without any datagram
once the stream has started, and prints key=value lines:

  sent        the sender's count (from END; -1 if no END arrived)
  received    datagrams of this run that arrived, intact or not
  unique      distinct intact sequence numbers
  lost        sequence numbers below the stream's end that never arrived
  dup         intact datagrams whose number had arrived before
  reordered   intact datagrams arriving after a higher number
  corrupt     datagrams of this run whose CRC or fill is wrong, plus foreign
              datagrams with our port but not our magic or run id
  gap_ms      longest time between two arrivals while the stream ran
  gap_seq     longest run of consecutive missing numbers
  delay_ms    median / p99 / max one-way delay (same host clock)
  loss_at     up to 50 unix times (ms) at which lost datagrams were due,
              from their neighbours' send times (to line losses up with key
              switches or rebinds); --events FILE gets all of them, one per line

The TCP pair checks that a stream through the tunnel completes intact:
tcp-send writes --bytes bytes of a seeded stream and closes; tcp-sink accepts
one connection, reads to the end and prints bytes=, intact= (the bytes equal
the seeded stream), elapsed_s= and mbps=. Both give up after --timeout
seconds (default 60); the sink then says complete=0.

Bounded: send stops after --count datagrams (default: rate x duration) and
recv after --duration. Python 3 standard library only.
"""
import argparse
import bisect
import random
import select
import socket
import struct
import sys
import time
import zlib

MAGIC = b"CNRY"
END_MAGIC = b"CEND"
HDR = struct.Struct(">4sIQQ")        # magic, run id, seq, send time ns
TRAILER = 4                           # CRC-32
MIN_SIZE = HDR.size + TRAILER


def parse_addr(s):
    host, _, port = s.rpartition(":")
    return (host.strip("[]"), int(port))


def fill(seed, seq, n):
    """n payload bytes that only (seed, seq) decide: a corruption anywhere shows."""
    r = random.Random((seed << 40) ^ seq)
    return r.getrandbits(8 * n).to_bytes(n, "big") if n else b""


def run_id(seed):
    return zlib.crc32(struct.pack(">Q", seed)) & 0xFFFFFFFF


def build(seed, seq, size):
    body = HDR.pack(MAGIC, run_id(seed), seq, time.time_ns())
    body += fill(seed, seq, size - MIN_SIZE)
    return body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def send(a):
    size = max(a.size, MIN_SIZE)
    count = a.count if a.count else int(a.rate * a.duration)
    fam = socket.AF_INET6 if ":" in a.to[0] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if a.bind:
        s.bind((a.bind, 0))
    interval = 1.0 / a.rate
    t0 = time.monotonic()
    sent = errors = late = 0
    for seq in range(count):
        due = t0 + seq * interval
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        elif wait < -0.05:
            late += 1
        try:
            s.sendto(build(a.seed, seq, size), a.to)
            sent += 1
        except OSError:
            errors += 1
    end = END_MAGIC + struct.pack(">IQ", run_id(a.seed), count)
    for _ in range(5):
        time.sleep(0.05)
        try:
            s.sendto(end, a.to)
        except OSError:
            pass
    el = time.monotonic() - t0
    print("canary_send seed=%d to=%s:%d count=%d sent=%d send_errors=%d late=%d size=%d "
          "rate=%g elapsed_s=%.2f" % (a.seed, a.to[0], a.to[1], count, sent, errors, late,
                                      size, a.rate, el))


def pct(v, p):
    if not v:
        return 0.0
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100.0 * len(v)))]


def recv(a):
    fam = socket.AF_INET6 if ":" in a.bind[0] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(a.bind)
    rid = run_id(a.seed)
    seen = {}                 # seq -> send time ns
    received = dup = reordered = corrupt = 0
    top = -1
    sent = -1
    delays = []
    last_arrival = None
    gap = 0.0
    t_end = time.monotonic() + a.duration
    t_stop = None
    started = False
    while True:
        now = time.monotonic()
        if now >= t_end or (t_stop and now >= t_stop):
            break
        if started and last_arrival and now - last_arrival >= a.idle:
            break
        timeout = min(t_end, t_stop or t_end) - now
        if started:
            timeout = min(timeout, a.idle)
        if not select.select([s], [], [], max(0.0, timeout))[0]:
            continue
        data = s.recv(65535)
        arr_ns = time.time_ns()
        now = time.monotonic()
        if data[:4] == END_MAGIC and len(data) == 16:
            r, n = struct.unpack(">IQ", data[4:])
            if r == rid:
                sent = n
                if t_stop is None:
                    t_stop = now + 1.0
            continue
        if len(data) < MIN_SIZE:
            corrupt += 1
            continue
        magic, r, seq, ts = HDR.unpack_from(data)
        if magic != MAGIC or r != rid:
            corrupt += 1
            continue
        received += 1
        crc = struct.unpack(">I", data[-4:])[0]
        if (zlib.crc32(data[:-4]) & 0xFFFFFFFF) != crc or \
                data[HDR.size:-4] != fill(a.seed, seq, len(data) - MIN_SIZE):
            corrupt += 1
            continue
        if last_arrival is not None and started:
            gap = max(gap, now - last_arrival)
        started = True
        last_arrival = now
        if seq in seen:
            dup += 1
            continue
        seen[seq] = ts
        if seq < top:
            reordered += 1
        top = max(top, seq)
        delays.append((arr_ns - ts) / 1e6)
    end = sent if sent >= 0 else top + 1
    missing = [q for q in range(end) if q not in seen]
    gap_seq = run = 0
    prev = None
    for q in missing:
        run = run + 1 if prev is not None and q == prev + 1 else 1
        gap_seq = max(gap_seq, run)
        prev = q
    # When was each lost datagram due? Interpolate between the nearest received ones.
    times = []
    if missing and seen:
        keys = sorted(seen)
        for q in missing:
            i = bisect.bisect_left(keys, q)
            lo = keys[i - 1] if i > 0 else None
            hi = keys[i] if i < len(keys) else None
            if lo is not None and hi is not None:
                t = seen[lo] + (seen[hi] - seen[lo]) * (q - lo) / (hi - lo)
            else:
                t = seen[lo if lo is not None else hi]
            times.append(t / 1e6)
    if a.events:
        with open(a.events, "w") as f:
            for t in times:
                f.write("%.3f\n" % (t / 1000.0))
    print("canary_recv seed=%d sent=%d received=%d unique=%d lost=%d dup=%d reordered=%d "
          "corrupt=%d" % (a.seed, sent, received, len(seen), len(missing), dup, reordered,
                          corrupt))
    print("gap_ms=%.1f gap_seq=%d delay_ms=%.2f/%.2f/%.2f" %
          (gap * 1000, gap_seq, pct(delays, 50), pct(delays, 99), max(delays or [0])))
    print("loss_at=%s" % ",".join("%.3f" % (t / 1000.0) for t in times[:50]))
    sys.stdout.flush()


def stream_chunk(seed, i, n):
    """Chunk i (64 KiB) of the seeded TCP stream, cut to n bytes."""
    return fill(seed ^ 0x7C9, i, 65536)[:n]


def tcp_send(a):
    s = socket.create_connection(a.to, timeout=a.timeout)
    t0 = time.monotonic()
    sent, i = 0, 0
    while sent < a.bytes:
        chunk = stream_chunk(a.seed, i, min(65536, a.bytes - sent))
        s.sendall(chunk)
        sent += len(chunk)
        i += 1
    s.shutdown(socket.SHUT_WR)
    s.recv(1)             # the sink closes once it has read everything
    s.close()
    print("tcp_send bytes=%d elapsed_s=%.2f seed=%d" % (sent, time.monotonic() - t0, a.seed))


def tcp_sink(a):
    ls = socket.socket(socket.AF_INET6 if ":" in a.bind[0] else socket.AF_INET)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(a.bind)
    ls.listen(1)
    ls.settimeout(a.timeout)
    deadline = time.monotonic() + a.timeout
    got, intact, complete, i = 0, True, 0, 0
    pending = b""
    t0 = time.monotonic()
    try:
        c, _ = ls.accept()
        t0 = time.monotonic()
        while True:
            c.settimeout(max(0.1, deadline - time.monotonic()))
            data = c.recv(262144)
            if not data:
                complete = 1
                break
            got += len(data)
            pending += data
            while len(pending) >= 65536:
                intact &= pending[:65536] == stream_chunk(a.seed, i, 65536)
                pending = pending[65536:]
                i += 1
        if pending:
            intact &= pending == stream_chunk(a.seed, i, len(pending))
        c.close()
    except (socket.timeout, OSError):
        pass
    el = time.monotonic() - t0
    print("tcp_sink bytes=%d intact=%d complete=%d elapsed_s=%.2f mbps=%.2f seed=%d" %
          (got, int(intact), complete, el, got * 8 / el / 1e6 if el > 0 else 0, a.seed))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    ps = sub.add_parser("send")
    ps.add_argument("--to", type=parse_addr, required=True)
    ps.add_argument("--bind")
    ps.add_argument("--rate", type=float, default=200.0)
    ps.add_argument("--duration", type=float, default=10.0)
    ps.add_argument("--count", type=int, default=0)
    ps.add_argument("--size", type=int, default=200)
    ps.add_argument("--seed", type=int, default=1)
    pr = sub.add_parser("recv")
    pr.add_argument("--bind", type=parse_addr, required=True)
    pr.add_argument("--duration", type=float, default=120.0)
    pr.add_argument("--idle", type=float, default=10.0)
    pr.add_argument("--seed", type=int, default=1)
    pr.add_argument("--events")
    pt = sub.add_parser("tcp-send")
    pt.add_argument("--to", type=parse_addr, required=True)
    pt.add_argument("--bytes", type=int, required=True)
    pt.add_argument("--seed", type=int, default=1)
    pt.add_argument("--timeout", type=float, default=60.0)
    pk = sub.add_parser("tcp-sink")
    pk.add_argument("--bind", type=parse_addr, required=True)
    pk.add_argument("--seed", type=int, default=1)
    pk.add_argument("--timeout", type=float, default=60.0)
    a = p.parse_args()
    {"send": send, "recv": recv, "tcp-send": tcp_send, "tcp-sink": tcp_sink}[a.cmd](a)


if __name__ == "__main__":
    main()
