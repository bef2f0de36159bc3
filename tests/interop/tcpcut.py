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
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxylib  # noqa: E402


class Cutter(proxylib.Proxy):
    """Forwards bytes as they come (blocking sends: the peers read all
    the time), counts them per socket for `flip`."""

    def __init__(self, to, port, ctl_path):
        self.peer = {}            # socket -> (its peer, direction of its bytes)
        self.count = {}           # socket -> bytes read from it
        self.pairs = []
        self.accepted = 0
        self.cuts = 0
        self.flip = None          # (byte, "in"|"out") for the next pair
        self.flips = {}           # socket -> byte offset to flip
        super().__init__(to, ctl_path, port)

    def accept(self):
        pair = self.connect_pair()
        if not pair:
            return
        c, t = pair
        for x in pair:
            self.count[x] = 0
        self.peer[c] = (t, "out")
        self.peer[t] = (c, "in")
        if self.flip:
            self.flips[t if self.flip[1] == "in" else c] = self.flip[0]
            self.flip = None
        self.accepted += 1
        self.pairs.append(pair)
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
                    proxylib.set_rst(x)
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

    def ready(self, x, events):
        if x not in self.peer:
            return
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


def serve(argv):
    o = proxylib.option
    Cutter(o(argv, "--to"), int(o(argv, "--listen", "0")), o(argv, "--ctl")).serve()


if __name__ == "__main__":
    sys.exit(proxylib.main(__doc__, serve,
                           lambda out: 0 if out.startswith(("ok", "accepted")) else 1))
