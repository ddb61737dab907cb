#!/usr/bin/env python3
"""mgmt_auth.py - answers a stock OpenVPN server's management-client-auth
requests from a script, for the client tests (tests/interop/client_auth_pending.sh).

usage: mgmt_auth.py SOCKET SECONDS ACTION[,ACTION...]

Each ACTION answers the next >CLIENT:CONNECT (or REAUTH) in turn; the last
one is repeated for any later request:
  ok                 client-auth-nt CID KID
  pending:N:EXTRA    client-pending-auth CID KID EXTRA N, then client-auth-nt
                     2 s later
  temp:SECONDS:MSG   client-deny CID KID temp "TEMP[backoff SECONDS]: MSG"
  deny:MSG           client-deny CID KID denied "MSG"

Every command and every server line is printed. Exits after SECONDS (a
bound, not a wait: the test kills it when done), 1 if the socket never
answers.
"""
import socket
import sys
import time


def main():
    path, secs, actions = sys.argv[1], float(sys.argv[2]), sys.argv[3].split(",")
    end = time.time() + secs
    s = None
    while time.time() < end and s is None:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
        except OSError:
            s = None
            time.sleep(0.1)
    if s is None:
        print("mgmt_auth: no management socket at", path, flush=True)
        return 1
    s.settimeout(0.2)
    buf, n, later = b"", 0, []
    print("mgmt_auth: connected", flush=True)

    def send(cmd):
        print("mgmt_auth: >", cmd, flush=True)
        s.sendall(cmd.encode() + b"\n")

    while time.time() < end:
        for t, cmd in list(later):
            if time.time() >= t:
                send(cmd)
                later.remove((t, cmd))
        try:
            data = s.recv(4096)
            if not data:
                break
            buf += data
        except socket.timeout:
            continue
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            line = line.decode(errors="replace").rstrip("\r")
            print("mgmt_auth: <", line, flush=True)
            if not (line.startswith(">CLIENT:CONNECT,") or line.startswith(">CLIENT:REAUTH,")):
                continue
            cid, kid = line.split(",")[1:3]
            act = actions[min(n, len(actions) - 1)]
            n += 1
            kind, _, arg = act.partition(":")
            if kind == "ok":
                send(f"client-auth-nt {cid} {kid}")
            elif kind == "pending":
                tmo, _, extra = arg.partition(":")
                send(f"client-pending-auth {cid} {kid} {extra} {tmo}")
                later.append((time.time() + 2, f"client-auth-nt {cid} {kid}"))
            elif kind == "temp":
                backoff, _, msg = arg.partition(":")
                send(f'client-deny {cid} {kid} temp "TEMP[backoff {backoff}]: {msg}"')
            elif kind == "deny":
                send(f'client-deny {cid} {kid} denied "{arg}"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
