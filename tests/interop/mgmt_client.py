#!/usr/bin/env python3
"""mgmt_client.py - a small client of OpenVPN's management interface, for the
tests (sluice's and stock's sockets alike) and for transcripts.

usage: mgmt_client.py [--password PW] [--timeout S] [--stdin] ADDR STEP...

ADDR is a Unix socket path or HOST:PORT. With --password the "ENTER PASSWORD:"
prompt is answered first. Each STEP is one of:

  TEXT          send the command TEXT and print its reply (up to the line
                "SUCCESS: ...", "ERROR: ..." or, for a listing, "END")
  =REGEX        wait until a line (a real-time ">..." one included) matches
                REGEX (re.search), at most --timeout seconds (default 30);
                its named groups (?P<name>...) are kept, and "{name}" in a
                later step is replaced by the value
  !TEXT         send TEXT as raw bytes (Python escapes: \\n, \\x00) and do
                not wait for a reply
  @SECONDS      sleep, printing what arrives meanwhile
  +LINES        send several lines at once (a multi-line command such as
                client-auth ... END, lines separated by '|'), wait for the reply

With --stdin the steps come one per line from standard input after the
ones given (a test feeds them as it goes), and each is followed by a line
"#ok STEP" or "#fail STEP"; a failed step does not end the run.

"exit" and "quit" expect no reply. Everything sent is printed as "> TEXT",
everything received as it came. Exits 0 when every step succeeded, 1 when a
wait timed out or the socket closed early (with the lines seen so far), 2
on usage errors.
"""
import codecs
import re
import socket
import sys
import time


class Mgmt:
    """One management connection; lines are kept for wait()."""

    def __init__(self, addr, timeout=30.0, out=sys.stdout):
        self.out = out
        self.timeout = timeout
        self.buf = b""
        self.pending = []
        self.closed = False
        end = time.time() + timeout
        while True:
            try:
                host, _, port = addr.rpartition(":")
                if host and port.isdigit():
                    s = socket.create_connection((host.strip("[]"), int(port)), timeout=2)
                else:
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect(addr)
                break
            except OSError:
                if time.time() >= end:
                    raise
                time.sleep(0.1)
        s.settimeout(0.2)
        self.s = s

    def log(self, text):
        print(text, file=self.out, flush=True)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.s.sendall(data)

    def _fill(self):
        try:
            data = self.s.recv(65536)
        except socket.timeout:
            return
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.decode(errors="replace").rstrip("\r")
            self.log(line)
            self.pending.append(line)

    def _next(self, start, end):
        """Index of the next line at or after @start, reading until @end; None."""
        while len(self.pending) <= start:
            if self.closed or time.time() >= end:
                return None
            self._fill()
        return start

    def prompt(self, password, timeout=None):
        """Answers "ENTER PASSWORD:" (it has no newline) with @password."""
        end = time.time() + (self.timeout if timeout is None else timeout)
        while b"ENTER PASSWORD:" not in self.buf:
            if self.closed or time.time() >= end:
                return False
            self._fill()
        self.buf = self.buf.replace(b"ENTER PASSWORD:", b"", 1)
        self.log("ENTER PASSWORD:")
        self.send(password + "\n")
        return True

    def wait(self, regex, timeout=None):
        """The first line matching @regex (it and the lines before it are used up), or None."""
        end = time.time() + (self.timeout if timeout is None else timeout)
        rx = re.compile(regex)
        i = 0
        while True:
            i = self._next(i, end)
            if i is None:
                return None
            if rx.search(self.pending[i]):
                ln = self.pending[i]
                del self.pending[: i + 1]
                return ln
            i += 1

    def cmd(self, text, timeout=None):
        """Sends @text and returns its reply lines."""
        self.log("> " + text)
        self.send(text + "\n")
        return self.reply(timeout)

    def reply(self, timeout=None):
        """The reply lines up to SUCCESS/ERROR/END; real-time lines stay for wait()."""
        lines = []
        end = time.time() + (self.timeout if timeout is None else timeout)
        i = 0
        while True:
            i = self._next(i, end)
            if i is None:
                return None
            ln = self.pending[i]
            if ln.startswith(">"):
                i += 1
                continue
            del self.pending[i]
            lines.append(ln)
            if ln.startswith("SUCCESS:") or ln.startswith("ERROR:") or ln == "END":
                return lines

    def drain(self, secs):
        """Reads (and prints) for @secs seconds."""
        end = time.time() + secs
        while time.time() < end and not self.closed:
            self._fill()


def run_step(m, step, names):
    """One step; True if it succeeded."""
    for k, v in names.items():
        step = step.replace("{%s}" % k, v)
    if step.startswith("="):
        ln = m.wait(step[1:])
        if ln is None:
            print("mgmt_client: timed out waiting for /%s/" % step[1:], flush=True)
            return False
        names.update(re.search(step[1:], ln).groupdict())
    elif step.startswith("!"):
        raw = codecs.escape_decode(step[1:].encode())[0]
        m.log("> (raw %d bytes)" % len(raw))
        try:
            m.send(raw)
        except OSError as e:
            print("mgmt_client: send failed: %s" % e, flush=True)
            return False
    elif step.startswith("@"):
        m.drain(float(step[1:]))
    elif step.startswith("+"):
        lines = step[1:].split("|")
        for ln in lines:
            m.log("> " + ln)
        m.send("".join(ln + "\n" for ln in lines))
        if m.reply() is None:
            print("mgmt_client: no reply to %s" % lines[0], flush=True)
            return False
    elif step in ("exit", "quit"):
        m.log("> " + step)
        m.send(step + "\n")
        m.drain(1)
    elif m.cmd(step) is None:
        print("mgmt_client: no reply to '%s'" % step, flush=True)
        return False
    return True


def main(argv):
    args = argv[1:]
    password, timeout, use_stdin = None, 30.0, False
    while args and args[0].startswith("--"):
        if args[0] == "--password" and len(args) > 1:
            password = args[1]
            args = args[2:]
        elif args[0] == "--timeout" and len(args) > 1:
            timeout = float(args[1])
            args = args[2:]
        elif args[0] == "--stdin":
            use_stdin = True
            args = args[1:]
        else:
            print(__doc__, file=sys.stderr)
            return 2
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        m = Mgmt(args[0], timeout)
    except OSError as e:
        print("mgmt_client: cannot connect to %s: %s" % (args[0], e), flush=True)
        return 1
    if password is not None and not m.prompt(password):
        print("mgmt_client: no password prompt", flush=True)
        return 1
    names = {}
    for step in args[1:]:
        if not run_step(m, step, names):
            return 1
    if not use_stdin:
        return 0
    rc = 0
    for line in sys.stdin:
        step = line.rstrip("\n")
        if not step:
            continue
        ok = run_step(m, step, names)
        print("#%s %s" % ("ok" if ok else "fail", step), flush=True)
        rc = rc or (0 if ok else 1)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
