#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A TCP forwarding proxy under test control, for the recovery tests.

Server:  tcpcut.py serve --to HOST:PORT --ctl SOCK [--listen PORT]
         listens on 127.0.0.1:PORT (0: a free one, printed as "port N" on
         stdout), forwards every connection to HOST:PORT, and takes
         commands on the unix socket SOCK.
Client:  tcpcut.py ctl SOCK COMMAND...   prints the answer.

Commands:
  cut          reset every current connection (both sides, RST); "ok N"
  cutone       reset the oldest current connection only; "ok 1" ("ok 0":
               none)
  down         stop listening (new connections are refused); "ok"
  up           listen again on the same port; "ok"
  flip N [D]   flip bit 0 of byte N (counted from 0) of the next new
               connection's stream in direction D: "in" (target to
               initiator, default) or "out"; "ok"
  stats        "accepted A cut C live L"
"""
import os
import selectors
import socket
import struct
import sys


class Proxy:
    """One thread, one selector: no socket is closed under another
    thread's select (a file descriptor number reused by the next
    connection would wake the wrong reader)."""

    def __init__(self, to, port, ctl_path):
        host, _, p = to.rpartition(":")
        self.to = (host.strip("[]"), int(p))
        self.port = port
        self.sel = selectors.DefaultSelector()
        self.peer = {}            # socket -> (its peer, direction of its bytes)
        self.count = {}           # socket -> bytes read from it
        self.pairs = []
        self.accepted = 0
        self.cuts = 0
        self.flip = None          # (byte, "in"|"out") for the next pair
        self.flips = {}           # socket -> byte offset to flip
        self.lsock = None
        self.listen()
        if os.path.exists(ctl_path):
            os.unlink(ctl_path)
        self.ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ctl.bind(ctl_path)
        self.ctl.listen(8)
        self.sel.register(self.ctl, selectors.EVENT_READ, "ctl")

    def listen(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(64)
        self.port = s.getsockname()[1]
        self.lsock = s
        self.sel.register(s, selectors.EVENT_READ, "listen")

    def down(self):
        if self.lsock:
            self.sel.unregister(self.lsock)
            self.lsock.close()
            self.lsock = None

    def accept(self):
        c, _ = self.lsock.accept()
        try:
            t = socket.create_connection(self.to, timeout=5)
            t.settimeout(None)
        except OSError:
            c.close()
            return
        for x in (c, t):
            x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.count[x] = 0
        self.peer[c] = (t, "out")
        self.peer[t] = (c, "in")
        if self.flip:
            self.flips[t if self.flip[1] == "in" else c] = self.flip[0]
            self.flip = None
        self.accepted += 1
        self.pairs.append((c, t))
        self.sel.register(c, selectors.EVENT_READ, "data")
        self.sel.register(t, selectors.EVENT_READ, "data")

    def close_pair(self, pair, rst):
        if pair not in self.pairs:
            return
        self.pairs.remove(pair)
        for x in pair:
            self.sel.unregister(x)
            self.peer.pop(x, None)
            self.count.pop(x, None)
            self.flips.pop(x, None)
            try:
                if rst:
                    x.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 struct.pack("ii", 1, 0))
                else:
                    x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            x.close()

    def pair_of(self, x):
        for p in self.pairs:
            if x in p:
                return p
        return None

    def forward(self, x):
        pair = self.pair_of(x)
        try:
            data = x.recv(65536)
            if not data:
                raise OSError("closed")
            at = self.flips.get(x)
            if at is not None and 0 <= at - self.count[x] < len(data):
                b = bytearray(data)
                b[at - self.count[x]] ^= 1
                data = bytes(b)
                del self.flips[x]
            self.count[x] += len(data)
            self.peer[x][0].sendall(data)
        except OSError:
            self.close_pair(pair, rst=False)

    def command(self, words):
        if words[:1] == ["cut"]:
            n = len(self.pairs)
            for p in list(self.pairs):
                self.close_pair(p, rst=True)
            self.cuts += n
            return "ok %d" % n
        if words[:1] == ["cutone"]:
            # The oldest connection only (MC/S: the others survive).
            if not self.pairs:
                return "ok 0"
            self.close_pair(self.pairs[0], rst=True)
            self.cuts += 1
            return "ok 1"
        if words[:1] == ["down"]:
            self.down()
            return "ok"
        if words[:1] == ["up"]:
            if not self.lsock:
                self.listen()
            return "ok"
        if words[:1] == ["flip"] and len(words) >= 2:
            self.flip = (int(words[1]), words[2] if len(words) > 2 else "in")
            return "ok"
        if words[:1] == ["stats"]:
            return "accepted %d cut %d live %d" % (self.accepted, self.cuts,
                                                   len(self.pairs))
        return "error: unknown command"

    def serve(self):
        print("port %d" % self.port, flush=True)
        while True:
            for key, _ in self.sel.select():
                if key.data == "listen":
                    self.accept()
                elif key.data == "ctl":
                    s, _ = self.ctl.accept()
                    with s:
                        s.settimeout(5)
                        try:
                            words = s.recv(4096).decode(errors="replace").split()
                            s.sendall((self.command(words) + "\n").encode())
                        except OSError:
                            pass
                elif key.fileobj in self.peer:
                    self.forward(key.fileobj)


def serve(argv):
    args = dict(zip(argv[::2], argv[1::2]))
    Proxy(args["--to"], int(args.get("--listen", "0")), args["--ctl"]).serve()


def ctl(argv):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(argv[0])
    s.sendall(" ".join(argv[1:]).encode())
    s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        out += b
    sys.stdout.write(out.decode())
    return 0 if out.startswith(b"ok") or out.startswith(b"accepted") else 1


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        serve(sys.argv[2:])
    elif len(sys.argv) >= 4 and sys.argv[1] == "ctl":
        sys.exit(ctl(sys.argv[2:]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(1)
