#!/usr/bin/env python3
"""Memory per element, cinnabar next to redis-server, on the same data in the same run.

For each data shape (one per encoding Redis has), both servers start empty, receive the
same commands, and report INFO memory `used_memory` before and after; the script prints
the growth divided by the number of elements. Usage (from the repository root):

    cargo build --release -p cinnabar-io-real
    python3 bench/memory.py [--only list,hash] [--scale 1.0]

cinnabar counts the bytes its allocator was asked for; redis-server (jemalloc) counts
the usable size of each allocation, which rounds up to size classes. Both are what each
server reports as `used_memory`, which is what operators compare.
"""

import argparse
import os
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CINNABAR = os.path.join(ROOT, "target", "release", "cinnabar-server")


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _reply(self):
        line = self._line()
        kind = line[:1]
        if kind == b"-":
            raise RuntimeError(line.decode())
        if kind in b"+:":
            return line[1:]
        if kind == b"$":
            n = int(line[1:])
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(1 << 20)
            data, self.buf = self.buf[:n], self.buf[n + 2 :]
            return data
        if kind == b"*":
            return [self._reply() for _ in range(int(line[1:]))]
        raise RuntimeError("unexpected reply %r" % line)

    def pipeline(self, commands, batch=1000):
        for i in range(0, len(commands), batch):
            part = commands[i : i + batch]
            self.sock.sendall(b"".join(encode(c) for c in part))
            for _ in part:
                self._reply()

    def call(self, *args):
        self.sock.sendall(encode(args))
        return self._reply()

    def used_memory(self):
        info = self.call("INFO", "memory").decode()
        for line in info.split("\r\n"):
            if line.startswith("used_memory:"):
                return int(line.split(":")[1])
        raise RuntimeError("no used_memory in INFO")


def start(program, port, extra):
    proc = subprocess.Popen(
        [program, "--port", str(port), "--bind", "127.0.0.1"] + extra,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("%s did not start" % program)


def shapes(scale):
    def n(x):
        return max(1, int(x * scale))

    def keys(count, make):
        cmds = []
        for k in range(count):
            cmds.extend(make(k))
        return cmds

    # (name, expected encoding, type of key, elements, commands)
    out = []
    c = n(100000)
    out.append(("string int", "int", "s:0", c, keys(c, lambda k: [["SET", "s:%d" % k, k + 1000000]])))
    out.append(("string embstr 20B", "embstr", "s:0", c, keys(c, lambda k: [["SET", "s:%d" % k, "v" * 20]])))
    lists, per = n(2000), 20
    out.append(("list listpack (20 x 10B)", "listpack", "l:0", lists * per,
                keys(lists, lambda k: [["RPUSH", "l:%d" % k] + ["e%08d" % i for i in range(per)]])))
    big = n(200000)
    out.append(("list quicklist (1 x 200k x 10B)", "quicklist", "l:0", big,
                [["RPUSH", "l:0"] + ["e%08d" % i for i in range(j, min(j + 1000, big))] for j in range(0, big, 1000)]))
    hashes, fields = n(2000), 20
    out.append(("hash listpack (20 x 10B fields)", "listpack", "h:0", hashes * fields,
                keys(hashes, lambda k: [["HSET", "h:%d" % k] + sum((["f%08d" % i, "v%08d" % i] for i in range(fields)), [])])))
    out.append(("hash hashtable (1 x 200k)", "hashtable", "h:0", big,
                [["HSET", "h:0"] + sum((["f%08d" % i, "v%08d" % i] for i in range(j, min(j + 1000, big))), []) for j in range(0, big, 1000)]))
    sets = n(2000)
    out.append(("set intset (20 ints)", "intset", "t:0", sets * 20,
                keys(sets, lambda k: [["SADD", "t:%d" % k] + [i * 7 for i in range(20)]])))
    out.append(("set listpack (20 x 10B)", "listpack", "t:0", sets * 20,
                keys(sets, lambda k: [["SADD", "t:%d" % k] + ["m%08d" % i for i in range(20)]])))
    out.append(("set hashtable (1 x 200k)", "hashtable", "t:0", big,
                [["SADD", "t:0"] + ["m%08d" % i for i in range(j, min(j + 1000, big))] for j in range(0, big, 1000)]))
    out.append(("zset listpack (20 x 10B)", "listpack", "z:0", sets * 20,
                keys(sets, lambda k: [["ZADD", "z:%d" % k] + sum(([i, "m%08d" % i] for i in range(20)), [])])))
    out.append(("zset skiplist (1 x 200k)", "skiplist", "z:0", big,
                [["ZADD", "z:0"] + sum(([i, "m%08d" % i] for i in range(j, min(j + 1000, big))), []) for j in range(0, big, 1000)]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="", help="comma-separated name prefixes (string,list,hash,set,zset)")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--port", type=int, default=7480)
    args = ap.parse_args()
    if not os.path.exists(CINNABAR):
        sys.exit("build first: cargo build --release -p cinnabar-io-real")
    servers = [
        ("cinnabar", start(CINNABAR, args.port, [])),
        ("redis", start("redis-server", args.port + 1, ["--save", "", "--appendonly", "no"])),
    ]
    conns = {name: Conn(args.port + i) for i, (name, _) in enumerate(servers)}
    wanted = [w for w in args.only.split(",") if w]
    print("%-36s %10s %12s %12s %8s" % ("shape", "elements", "cinnabar B/el", "redis B/el", "ratio"))
    try:
        for name, encoding, probe_key, elements, commands in shapes(args.scale):
            if wanted and not any(name.startswith(w) for w in wanted):
                continue
            per = {}
            encodings = {}
            for server, conn in conns.items():
                try:
                    conn.call("FLUSHALL")
                    before = conn.used_memory()
                    conn.pipeline(commands)
                    after = conn.used_memory()
                    per[server] = (after - before) / elements
                    encodings[server] = conn.call("OBJECT", "ENCODING", probe_key).decode()
                except RuntimeError as e:
                    per[server] = float("nan")
                    encodings[server] = "error: %s" % e
            note = ""
            if encodings["cinnabar"] != encodings["redis"] or encodings["cinnabar"] != encoding:
                note = "  encodings: cinnabar=%s redis=%s" % (encodings["cinnabar"], encodings["redis"])
            ratio = per["cinnabar"] / per["redis"] if per["redis"] else float("nan")
            print("%-36s %10d %12.1f %12.1f %8.2f%s" % (name, elements, per["cinnabar"], per["redis"], ratio, note))
    finally:
        for _, proc in servers:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main()
