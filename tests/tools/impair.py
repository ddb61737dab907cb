#!/usr/bin/env python3
"""A seeded UDP impairment proxy: clients talk to --listen, it talks to --upstream.

usage: impair.py --listen ADDR:PORT --upstream ADDR:PORT [options]

Run it in a namespace between the two ends (tests/tools/README.md shows the
topology): clients send to the proxy's --listen address; for each client
address the proxy opens its own upstream socket (its own source port, like
a NAT mapping) and relays both ways. Every datagram, in each direction, goes
through the same steps, each with its own seeded random draw:

  blackout  inside a --blackout window every datagram is dropped
  loss      dropped with probability --loss (or --loss-up / --loss-down)
  flip      one random bit inverted with probability --flip
  dup       sent twice with probability --dup (each copy delayed on its own)
  delay     held --delay ms plus a uniform -jitter..+jitter ms (jitter alone
            reorders), never negative
  reorder   with probability --reorder held back until DISPLACE later
            datagrams of that direction went out (DISPLACE uniform in
            1..--displace), or --reorder-hold ms passed without traffic

"up" is client to server, "down" server to client. Rebinding (NAT rebinding):
every --rebind-every seconds, at the --rebind-at times, and on SIGUSR1, each
flow's upstream socket is closed and a new one (new source port) takes its
place, so the server sees the client move; datagrams the server still sends
to the old port are lost, as behind a real NAT. SIGUSR2 starts a blackout of
--blackout-len seconds at once.

Bounded: it exits after --duration seconds (default 600) or --max-packets
datagrams received (default 10 million), or on SIGTERM/SIGINT, and then
prints what it did as key=value lines on stdout (or --stats FILE, which is
also rewritten every second while it runs). Events (rebinds, blackouts) go to
stderr with a unix timestamp. The same seed and the same traffic give the
same decisions.

Transport. --proto udp (the default) relays datagrams as above. --proto tcp
relays OpenVPN over TCP: for each accepted client connection the proxy opens
its own upstream connection and moves bytes both ways. TCP repairs loss,
duplication and reordering, so those do not apply; what does, in each
direction, with its own seeded draws:

  split     every chunk read goes out in pieces of 1..--split-max bytes, so
            the receiver sees a length prefix or a frame cut anywhere (and,
            with delay, several frames coalesced into one read)
  delay     each chunk is held --delay ms plus a uniform 0..jitter ms, never
            overtaking the one before (a stream keeps its order)
  blackout  inside a --blackout window nothing is relayed: bytes wait (a
            stalled path, not a lost one) and go out when it ends
  reset     at the --rebind-at / --rebind-every times and on SIGUSR1 every
            connection pair is closed with a reset (SO_LINGER 0) both ways:
            the client must notice and connect again
  frames    each direction's bytes are parsed as 2-byte length-prefixed
            frames and counted (frames_up, frames_down; a zero length or a
            cut at the close is counted as bad_frames)

Each connection's queued bytes are capped (--stream-cap, 4 MiB): beyond it
the proxy stops reading that side until the queue drains.
"""
import argparse
import heapq
import os
import random
import select
import signal
import socket
import sys
import time

DGRAM_MAX = 65535


def parse_addr(s):
    host, _, port = s.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError("expected ADDR:PORT, not %r" % s)
    return (host.strip("[]"), int(port))


def parse_windows(s):
    """'START:LEN,START:LEN' in seconds since start."""
    out = []
    for part in s.split(","):
        a, _, b = part.partition(":")
        out.append((float(a), float(b)))
    return out


class Direction:
    """Impairment parameters and counters of one direction."""

    def __init__(self, name, loss, args):
        self.name = name
        self.loss = loss
        self.dup = args.dup
        self.flip = args.flip
        self.delay = args.delay / 1000.0
        self.jitter = args.jitter / 1000.0
        self.reorder = args.reorder
        self.displace = max(1, args.displace)
        self.hold = args.reorder_hold / 1000.0
        self.held = []            # [packets still to go out before release, deadline, item]
        self.c = dict.fromkeys(("rx", "tx", "lost", "blackout", "dup", "flipped",
                                "reordered", "delayed", "send_errors"), 0)


class UdpLink:
    """The datagram transport: one listening socket, one upstream socket per flow."""

    def __init__(self, listen, upstream, upstream_bind):
        self.upstream = upstream
        self.upstream_bind = upstream_bind
        self.family = socket.AF_INET6 if ":" in listen[0] else socket.AF_INET
        self.lsock = socket.socket(self.family, socket.SOCK_DGRAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(listen)
        self.lsock.setblocking(False)

    def new_upstream(self):
        s = socket.socket(self.family, socket.SOCK_DGRAM)
        s.bind((self.upstream_bind, 0))
        s.connect(self.upstream)
        s.setblocking(False)
        return s


class Proxy:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.link = UdpLink(args.listen, args.upstream, args.upstream_bind)
        up_loss = args.loss if args.loss_up is None else args.loss_up
        down_loss = args.loss if args.loss_down is None else args.loss_down
        self.up = Direction("up", up_loss, args)
        self.down = Direction("down", down_loss, args)
        self.flows = {}           # client addr -> upstream socket
        self.by_sock = {}         # upstream socket -> client addr
        self.timers = []          # heap of (due, seq, direction, client, payload)
        self.seq = 0
        self.t0 = time.monotonic()
        self.blackouts = parse_windows(args.blackout) if args.blackout else []
        self.rebind_at = sorted(float(x) for x in args.rebind_at.split(",")) \
            if args.rebind_at else []
        self.next_rebind = args.rebind_every if args.rebind_every else None
        self.rebinds = 0
        self.rebind_now = False
        self.blackout_now = False
        self.stop = False
        self.received = 0
        self.last_stats = 0.0

    # ---- events ---------------------------------------------------------------
    def event(self, what):
        sys.stderr.write("%.3f impair: %s\n" % (time.time(), what))
        sys.stderr.flush()

    def in_blackout(self, t):
        return any(a <= t < a + n for a, n in self.blackouts)

    def rebind(self, why):
        for client, old in list(self.flows.items()):
            new = self.link.new_upstream()
            del self.by_sock[old]
            old.close()
            self.flows[client] = new
            self.by_sock[new] = client
            self.event("rebind %s:%d upstream port %d (%s)" % (client[0], client[1],
                                                              new.getsockname()[1], why))
        self.rebinds += 1

    # ---- the impairment steps -------------------------------------------------
    def impair(self, d, client, data, now):
        r = self.rng
        d.c["rx"] += 1
        if self.in_blackout(now - self.t0):
            d.c["blackout"] += 1
            return
        if r.random() < d.loss:
            d.c["lost"] += 1
            return
        if d.flip and r.random() < d.flip:
            b = bytearray(data)
            bit = r.randrange(len(b) * 8) if b else 0
            if b:
                b[bit // 8] ^= 1 << (bit % 8)
            data = bytes(b)
            d.c["flipped"] += 1
        copies = 1
        if d.dup and r.random() < d.dup:
            copies = 2
            d.c["dup"] += 1
        for _ in range(copies):
            delay = d.delay
            if d.jitter:
                delay = max(0.0, delay + r.uniform(-d.jitter, d.jitter))
            if d.reorder and r.random() < d.reorder:
                d.c["reordered"] += 1
                d.held.append([r.randint(1, d.displace), now + delay + d.hold,
                               (client, data)])
                continue
            if delay > 0:
                d.c["delayed"] += 1
                self.seq += 1
                heapq.heappush(self.timers, (now + delay, self.seq, d.name, client, data))
            else:
                self.send(d, client, data)

    def send(self, d, client, data):
        try:
            if d is self.up:
                s = self.flows.get(client)
                if s is None:
                    return
                s.send(data)
            else:
                self.link.lsock.sendto(data, client)
            d.c["tx"] += 1
        except OSError:
            d.c["send_errors"] += 1
        # A datagram went out: held ones count it, and go when their turn comes.
        if d.held:
            due, still = [], []
            for h in d.held:
                h[0] -= 1
                (due if h[0] <= 0 else still).append(h)
            d.held = still
            for h in due:
                self.send_held(d, h)

    def send_held(self, d, h):
        client, data = h[2]
        try:
            if d is self.up:
                s = self.flows.get(client)
                if s is not None:
                    s.send(data)
                    d.c["tx"] += 1
            else:
                self.link.lsock.sendto(data, client)
                d.c["tx"] += 1
        except OSError:
            d.c["send_errors"] += 1

    # ---- the loop ---------------------------------------------------------------
    def next_wakeup(self, now):
        t = now + 0.2
        if self.timers:
            t = min(t, self.timers[0][0])
        for d in (self.up, self.down):
            for h in d.held:
                t = min(t, h[1])
        return max(0.0, t - now)

    def run_timers(self, now):
        while self.timers and self.timers[0][0] <= now:
            _, _, dname, client, data = heapq.heappop(self.timers)
            self.send(self.up if dname == "up" else self.down, client, data)
        for d in (self.up, self.down):
            due = [h for h in d.held if h[1] <= now]
            if due:
                d.held = [h for h in d.held if h[1] > now]
                for h in due:
                    self.send_held(d, h)

    def periodic(self, now):
        t = now - self.t0
        if self.rebind_now:
            self.rebind_now = False
            self.rebind("SIGUSR1")
        while self.rebind_at and t >= self.rebind_at[0]:
            self.rebind_at.pop(0)
            self.rebind("at %.1f s" % t)
        if self.next_rebind is not None and t >= self.next_rebind:
            self.next_rebind += self.args.rebind_every
            self.rebind("every %.1f s" % self.args.rebind_every)
        if self.blackout_now:
            self.blackout_now = False
            self.blackouts.append((t, self.args.blackout_len))
            self.event("blackout %.1f s from now (SIGUSR2)" % self.args.blackout_len)
        if self.args.stats and now - self.last_stats >= 1.0:
            self.last_stats = now
            self.write_stats(self.args.stats)

    def rx_client(self, now):
        for _ in range(64):
            try:
                data, client = self.link.lsock.recvfrom(DGRAM_MAX)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            self.received += 1
            if client not in self.flows:
                s = self.link.new_upstream()
                self.flows[client] = s
                self.by_sock[s] = client
                self.event("flow %s:%d upstream port %d" % (client[0], client[1],
                                                           s.getsockname()[1]))
            self.impair(self.up, client, data, now)

    def rx_upstream(self, s, now):
        client = self.by_sock.get(s)
        for _ in range(64):
            try:
                data = s.recv(DGRAM_MAX)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue      # ICMP errors from the server side: not ours to repair
            self.received += 1
            if client is not None:
                self.impair(self.down, client, data, now)

    def run(self):
        a = self.args
        end = self.t0 + a.duration
        while not self.stop and self.received < a.max_packets:
            now = time.monotonic()
            if now >= end:
                break
            self.periodic(now)
            socks = [self.link.lsock] + list(self.by_sock)
            try:
                ready, _, _ = select.select(socks, [], [], min(self.next_wakeup(now),
                                                                end - now))
            except InterruptedError:
                ready = []
            now = time.monotonic()
            for s in ready:
                if s is self.link.lsock:
                    self.rx_client(now)
                elif s in self.by_sock:
                    self.rx_upstream(s, now)
            self.run_timers(now)

    def stats_lines(self):
        a = self.args
        out = ["seed=%d proto=udp listen=%s:%d upstream=%s:%d duration_s=%.1f" %
               (a.seed, a.listen[0], a.listen[1], a.upstream[0], a.upstream[1],
                time.monotonic() - self.t0),
               "loss_up=%g loss_down=%g dup=%g flip=%g delay_ms=%g jitter_ms=%g "
               "reorder=%g displace=%d" % (self.up.loss, self.down.loss, a.dup, a.flip,
                                           a.delay, a.jitter, a.reorder, a.displace)]
        for d in (self.up, self.down):
            out.append(" ".join("%s_%s=%d" % (d.name, k, v) for k, v in d.c.items()))
        out.append("flows=%d rebinds=%d blackouts=%d" % (len(self.flows), self.rebinds,
                                                         len(self.blackouts)))
        return out

    def write_stats(self, path):
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(self.stats_lines()) + "\n")
        os.replace(tmp, path)


class Pipe:
    """One direction of one relayed TCP connection: what waits to go out, and its frames."""

    def __init__(self, name, src, dst):
        self.name, self.src, self.dst = name, src, dst
        self.queue = []           # [due, bytes] in order
        self.queued = 0
        self.out = b""            # the piece being written now
        self.last_due = 0.0
        self.hdr = b""            # frame parser: a partial length prefix
        self.left = 0             # frame parser: bytes of the current frame still to come


class StreamProxy:
    """--proto tcp: accepted client connections, each relayed on its own upstream one."""

    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        fam = socket.AF_INET6 if ":" in args.listen[0] else socket.AF_INET
        self.family = fam
        self.lsock = socket.socket(fam, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(args.listen)
        self.lsock.listen(64)
        self.lsock.setblocking(False)
        self.pipes = {}           # source socket -> Pipe
        self.peer = {}            # socket -> the other socket of its pair
        self.c = {d: dict.fromkeys(("rx_bytes", "tx_bytes", "chunks", "pieces", "frames",
                                    "bad_frames", "blackout_bytes", "send_errors"), 0)
                  for d in ("up", "down")}
        self.conns = self.closes = self.resets = self.refused = 0
        self.t0 = time.monotonic()
        self.blackouts = parse_windows(args.blackout) if args.blackout else []
        self.rebind_at = sorted(float(x) for x in args.rebind_at.split(",")) \
            if args.rebind_at else []
        self.next_rebind = args.rebind_every if args.rebind_every else None
        self.rebinds = 0
        self.rebind_now = self.blackout_now = self.stop = False
        self.received = 0
        self.last_stats = 0.0

    event = Proxy.event
    in_blackout = Proxy.in_blackout
    write_stats = Proxy.write_stats

    def blackout_end(self, t):
        end = t
        for a, n in self.blackouts:
            if a <= end < a + n:
                end = a + n
        return end

    # ---- connections ------------------------------------------------------------
    def accept(self):
        try:
            c, addr = self.lsock.accept()
        except (BlockingIOError, InterruptedError):
            return
        try:
            u = socket.create_connection(self.args.upstream, timeout=3,
                                         source_address=(self.args.upstream_bind, 0))
        except OSError as e:
            self.refused += 1
            self.event("upstream connect for %s:%d failed: %s" % (addr[0], addr[1], e))
            c.close()
            return
        for x in (c, u):
            x.setblocking(False)
            x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pipes[c] = Pipe("up", c, u)
        self.pipes[u] = Pipe("down", u, c)
        self.peer[c], self.peer[u] = u, c
        self.conns += 1
        self.event("connection %s:%d upstream port %d" % (addr[0], addr[1],
                                                          u.getsockname()[1]))

    def close_pair(self, s, reset):
        o = self.peer.pop(s, None)
        for x in (s, o):
            if x is None:
                continue
            self.peer.pop(x, None)
            p = self.pipes.pop(x, None)
            if p is not None and (p.hdr or p.left):
                self.c[p.name]["bad_frames"] += 1     # cut mid-frame
            if reset:
                try:
                    x.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                except OSError:
                    pass
            x.close()
        if reset:
            self.resets += 1
        else:
            self.closes += 1

    def rebind(self, why):
        for s in [x for x, p in self.pipes.items() if p.name == "up"]:
            self.close_pair(s, True)
        self.rebinds += 1
        self.event("reset every connection (%s)" % why)

    # ---- bytes ------------------------------------------------------------------
    def count_frames(self, p, data):
        i, n, c = 0, len(data), self.c[p.name]
        while i < n:
            if p.left:
                k = min(p.left, n - i)
                p.left -= k
                i += k
                continue
            k = min(2 - len(p.hdr), n - i)
            p.hdr += data[i:i + k]
            i += k
            if len(p.hdr) == 2:
                p.left = int.from_bytes(p.hdr, "big")
                p.hdr = b""
                c["frames" if p.left else "bad_frames"] += 1

    def rx(self, s, now):
        p = self.pipes.get(s)
        if p is None:
            return
        try:
            data = s.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.close_pair(s, False)
            return
        self.received += 1
        c, a, t = self.c[p.name], self.args, now - self.t0
        c["rx_bytes"] += len(data)
        c["chunks"] += 1
        self.count_frames(p, data)
        due = now + a.delay / 1000.0 + (self.rng.uniform(0, a.jitter / 1000.0) if a.jitter else 0)
        if self.in_blackout(t):
            c["blackout_bytes"] += len(data)
            due = max(due, self.t0 + self.blackout_end(t))
        due = max(due, p.last_due)
        p.last_due = due
        p.queue.append([due, data])
        p.queued += len(data)

    def tx(self, p, now):
        """Writes what is due on @p, a piece at a time; False if the pair broke."""
        c, a = self.c[p.name], self.args
        while True:
            if not p.out:
                if not p.queue or p.queue[0][0] > now or self.in_blackout(now - self.t0):
                    return True
                if a.split_max:
                    k = self.rng.randint(1, a.split_max)
                    chunk = p.queue[0][1]
                    p.out, rest = chunk[:k], chunk[k:]
                    if rest:
                        p.queue[0][1] = rest
                    else:
                        p.queue.pop(0)
                else:
                    p.out = p.queue.pop(0)[1]
                c["pieces"] += 1
            try:
                n = p.dst.send(p.out)
            except (BlockingIOError, InterruptedError):
                return True
            except OSError:
                c["send_errors"] += 1
                return False
            c["tx_bytes"] += n
            p.queued -= n
            p.out = p.out[n:]
            if p.out:
                return True

    def next_wakeup(self, now):
        t = now + 0.2
        for p in self.pipes.values():
            if p.queue and not p.out:
                t = min(t, p.queue[0][0])
        return max(0.0, t - now)

    # ---- the loop ---------------------------------------------------------------
    periodic = Proxy.periodic

    def run(self):
        a = self.args
        end = self.t0 + a.duration
        while not self.stop and self.received < a.max_packets:
            now = time.monotonic()
            if now >= end:
                break
            self.periodic(now)
            rd = [self.lsock] + [s for s, p in self.pipes.items()
                                 if self.pipes.get(self.peer.get(s)) is None or
                                 p.queued < a.stream_cap]
            wr = [p.dst for p in self.pipes.values() if p.out]
            try:
                r, w, _ = select.select(rd, wr, [], min(self.next_wakeup(now), end - now))
            except InterruptedError:
                r, w = [], []
            now = time.monotonic()
            for s in r:
                if s is self.lsock:
                    self.accept()
                else:
                    self.rx(s, now)
            for p in list(self.pipes.values()):
                if p.src in self.pipes and not self.tx(p, now):
                    self.close_pair(p.src, False)

    def stats_lines(self):
        a = self.args
        out = ["seed=%d proto=tcp listen=%s:%d upstream=%s:%d duration_s=%.1f" %
               (a.seed, a.listen[0], a.listen[1], a.upstream[0], a.upstream[1],
                time.monotonic() - self.t0),
               "split_max=%d delay_ms=%g jitter_ms=%g stream_cap=%d" %
               (a.split_max, a.delay, a.jitter, a.stream_cap)]
        for d in ("up", "down"):
            out.append(" ".join("%s_%s=%d" % (d, k, v) for k, v in self.c[d].items()))
        out.append("conns=%d open=%d closes=%d resets=%d refused=%d rebinds=%d blackouts=%d" %
                   (self.conns, len(self.pipes) // 2, self.closes, self.resets, self.refused,
                    self.rebinds, len(self.blackouts)))
        return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--listen", type=parse_addr, required=True)
    p.add_argument("--upstream", type=parse_addr, required=True)
    p.add_argument("--upstream-bind", default="0.0.0.0",
                   help="source address of the upstream sockets")
    p.add_argument("--proto", default="udp", choices=("udp", "tcp"))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--duration", type=float, default=600.0)
    p.add_argument("--max-packets", type=int, default=10_000_000)
    p.add_argument("--loss", type=float, default=0.0)
    p.add_argument("--loss-up", type=float)
    p.add_argument("--loss-down", type=float)
    p.add_argument("--dup", type=float, default=0.0)
    p.add_argument("--flip", type=float, default=0.0)
    p.add_argument("--delay", type=float, default=0.0, help="ms")
    p.add_argument("--jitter", type=float, default=0.0, help="ms")
    p.add_argument("--reorder", type=float, default=0.0)
    p.add_argument("--displace", type=int, default=4)
    p.add_argument("--reorder-hold", type=float, default=200.0, help="ms")
    p.add_argument("--blackout", help="START:LEN[,START:LEN...] seconds")
    p.add_argument("--blackout-len", type=float, default=2.0, help="SIGUSR2's, seconds")
    p.add_argument("--rebind-at", help="S[,S...] seconds since start")
    p.add_argument("--rebind-every", type=float)
    p.add_argument("--stats", help="also write the key=value lines here (every second)")
    p.add_argument("--split-max", type=int, default=0,
                   help="tcp: write in pieces of 1..N bytes (0: as read)")
    p.add_argument("--stream-cap", type=int, default=4 << 20,
                   help="tcp: bytes queued per direction before reading stops")
    args = p.parse_args()
    if args.proto == "tcp":
        bad = [o for o, v in (("--loss", args.loss), ("--loss-up", args.loss_up),
                              ("--loss-down", args.loss_down), ("--dup", args.dup),
                              ("--flip", args.flip), ("--reorder", args.reorder)) if v]
        if bad:
            sys.exit("impair: %s do not apply to --proto tcp (TCP repairs them)" %
                     ", ".join(bad))
        proxy = StreamProxy(args)
    else:
        proxy = Proxy(args)

    def on_stop(sig, frame):
        proxy.stop = True

    def on_usr1(sig, frame):
        proxy.rebind_now = True

    def on_usr2(sig, frame):
        proxy.blackout_now = True

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGUSR2, on_usr2)
    proxy.event("listening on %s:%d, upstream %s:%d, seed %d" %
                (args.listen[0], args.listen[1], args.upstream[0], args.upstream[1],
                 args.seed))
    proxy.run()
    lines = proxy.stats_lines()
    if args.stats:
        proxy.write_stats(args.stats)
    print("\n".join(lines))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
