#!/usr/bin/env python3
"""pty_prompt.py - runs a command on a new pseudo-terminal and answers its prompts.

    pty_prompt.py LOG PIDFILE PROMPT=ANSWER... -- COMMAND [ARGS...]

Everything the command writes to its terminal goes to LOG (as the terminal
shows it, so typed characters appear only while echo is on). Each
PROMPT=ANSWER pair is used once, in order: when PROMPT appears in the
output after the previous prompt's answer, ANSWER and a newline are typed.
The command's pid goes to PIDFILE. SIGTERM/SIGINT/SIGUSR1 to this helper are
passed on to the command; the helper exits with the command's status.
Helper for tests/interop/client_auth_prompt.sh (not a test itself).
"""
import os
import pty
import select
import signal
import sys


def main():
    args = sys.argv[1:]
    if len(args) < 4 or "--" not in args:
        print(__doc__, file=sys.stderr)
        return 2
    sep = args.index("--")
    log_path, pid_path = args[0], args[1]
    pairs = [a.split("=", 1) for a in args[2:sep]]
    cmd = args[sep + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    with open(pid_path, "w") as f:
        f.write("%d\n" % pid)

    def forward(sig, _frame):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
        signal.signal(sig, forward)
    log = open(log_path, "ab", buffering=0)
    seen = b""
    status = None
    while True:
        try:
            ready, _, _ = select.select([fd], [], [], 0.2)
        except InterruptedError:
            continue
        if ready:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if not data:
                break
            log.write(data)
            seen += data
            while pairs and pairs[0][0].encode() in seen:
                seen = seen[seen.index(pairs[0][0].encode()) + len(pairs[0][0]):]
                os.write(fd, pairs[0][1].encode() + b"\n")
                pairs.pop(0)
        elif status is not None:
            break
        if status is None:
            reaped, st = os.waitpid(pid, os.WNOHANG)
            if reaped:
                status = st     # drain what is left, then leave
    if status is None:
        _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
