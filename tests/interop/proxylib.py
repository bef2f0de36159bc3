# SPDX-License-Identifier: MIT
"""What the test proxies tcpcut.py and pduflip.py share: the listening
socket on 127.0.0.1, the connection to the target for each client, a close
with RST, the unix control socket (one command per connection, one answer
line), the select loop that serves all of these on one thread, the control
client and the command line. Each proxy keeps its own forwarding (tcpcut:
a byte stream; pduflip: whole PDUs) and its own commands.

A proxy subclasses Proxy and defines:
  accept()             the listening socket is readable (call connect_pair())
  ready(sock, events)  a relayed socket is readable (or writable)
  command(words)       one control command, split into words -> answer line
"""
import os
import selectors
import socket
import struct
import sys


class Proxy:
    """One thread, one selector: no socket is closed under another
    thread's select (a file descriptor number reused by the next
    connection would wake the wrong reader), and no send may block on a
    peer that waits for this thread."""

    def __init__(self, to, ctl_path, port=0):
        host, _, p = to.rpartition(":")
        self.to = (host.strip("[]"), int(p))
        self.port = port
        self.sel = selectors.DefaultSelector()
        self.lsock = None
        self.listen()
        if os.path.exists(ctl_path):
            os.unlink(ctl_path)
        self.ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ctl.bind(ctl_path)
        self.ctl.listen(8)
        self.sel.register(self.ctl, selectors.EVENT_READ, "ctl")

    def listen(self):
        """Listens on 127.0.0.1:self.port (0 the first time: a free one,
        kept for a later listen())."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self.port = s.getsockname()[1]
        self.lsock = s
        self.sel.register(s, selectors.EVENT_READ, "listen")

    def down(self):
        """Stops listening: new connections are refused."""
        if self.lsock:
            self.sel.unregister(self.lsock)
            self.lsock.close()
            self.lsock = None

    def connect_pair(self):
        """Accepts one client and connects it to the target: (client,
        target) with TCP_NODELAY, or None when the target refused (the
        client is closed)."""
        c, _ = self.lsock.accept()
        try:
            t = socket.create_connection(self.to, timeout=5)
            t.settimeout(None)
        except OSError:
            c.close()
            return None
        for x in (c, t):
            x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return c, t

    def serve_ctl(self):
        s, _ = self.ctl.accept()
        with s:
            s.settimeout(5)
            try:
                words = s.recv(4096).decode(errors="replace").split()
                s.sendall((self.command(words) + "\n").encode())
            except OSError:
                pass

    def serve(self):
        """Prints "port N" (what the scripts wait for), then serves forever."""
        print("port %d" % self.port, flush=True)
        while True:
            for key, ev in self.sel.select():
                if key.data == "listen":
                    self.accept()
                elif key.data == "ctl":
                    self.serve_ctl()
                else:
                    self.ready(key.fileobj, ev)


def set_rst(s):
    """The next close() of s resets the connection (RST) instead of FIN."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def ctl_request(path, words):
    """Sends one command to the control socket at path, returns the answer
    (text, as sent: one line and its newline)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with s:
        s.connect(path)
        s.sendall(" ".join(words).encode())
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            out += b
    return out.decode(errors="replace")


def option(argv, name, default=None):
    """The word after name in argv, or default."""
    return argv[argv.index(name) + 1] if name in argv[:-1] else default


def main(doc, serve, answer):
    """The command line of both proxies: "serve ARGS..." calls serve(ARGS)
    (needs --to and --ctl); "ctl SOCK COMMAND..." prints the answer and
    exits with answer(text); anything else prints doc, exit 1."""
    a = sys.argv[1:]
    if len(a) >= 3 and a[0] == "ctl":
        out = ctl_request(a[1], a[2:])
        print(out.strip())
        return answer(out)
    if a and a[0] == "serve" and option(a, "--to") and option(a, "--ctl"):
        serve(a[1:])
        return 0
    sys.stderr.write(doc)
    return 1
