#!/usr/bin/env python3
"""Persistence costs, cinnabar next to redis-server, measured end to end in the same run.

Three measurements, each alternating the two servers round by round (the machine is
shared and noisy: compare the ratios, not the absolute figures):

1. RDB throughput. Both servers receive the same keyspace (N string keys
   `key:%012d` of 100-byte values). SAVE is timed on each (MB/s = the file's size over
   SAVE's wall time, which includes the fsync). Then each server is started on a fresh
   directory holding its own file and the other server's file, and the load is timed
   from spawn to the first PING answered with PONG (not -LOADING), minus the time an
   empty server takes to answer (same measure for both; DBSIZE is checked after).
2. Memory during a BGSAVE under a write load. With the same keyspace loaded,
   redis-benchmark overwrites random existing keys (same key names, same value size,
   so the dataset's size stays constant) while BGSAVE runs. Sampled every few ms:
   the server's VmRSS (/proc/<pid>/status) and INFO used_memory; for redis-server also
   its fork child's Private_Dirty (/proc/<child>/smaps_rollup) and INFO
   current_cow_size/current_cow_peak, and rdb_last_cow_size after the save. Peaks are
   reported over a baseline taken under the same write load just before BGSAVE.
3. Write throughput with the AOF: redis-benchmark SET, 50 clients, without and with
   -P 16, `appendonly yes` with `appendfsync always` and `everysec`, a fresh server
   and directory per run.

Usage (from the repository root):

    cargo build --release -p cinnabar-io-real
    python3 bench/persistence.py [--keys 1000000] [--rounds 3] [--only rdb,cow,aof]

Ports --port .. --port+1 (default 7400, 7401); every server runs in a fresh temporary
directory, removed at the end.
"""

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CINNABAR = os.path.join(ROOT, "target", "release", "cinnabar-server")
REDIS = shutil.which("redis-server") or "redis-server"
BENCH = shutil.which("redis-benchmark") or "redis-benchmark"
VALUE_SIZE = 100


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port, timeout=None):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.settimeout(timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
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
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2 :]
            return data
        if kind == b"*":
            return [self.reply() for _ in range(int(line[1:]))]
        raise RuntimeError("unexpected reply %r" % line)

    def call(self, *args):
        self.sock.sendall(encode(args))
        return self.reply()

    def info(self, section):
        fields = {}
        for line in self.call("INFO", section).decode().split("\r\n"):
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                fields[k] = v
        return fields


class Server:
    """One server process on a port, in its own directory, logging to a file there."""

    def __init__(self, name, port, directory, extra):
        self.name, self.port, self.dir = name, port, directory
        program = CINNABAR if name == "cinnabar" else REDIS
        self.log = open(os.path.join(directory, "server.log"), "ab")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [program, "--port", str(port), "--bind", "127.0.0.1", "--dir", directory] + extra,
            stdout=self.log,
            stderr=self.log,
            cwd=directory,
        )

    def wait_pong(self, limit=300.0):
        """Seconds from spawn until PING answers PONG (connect refused and -LOADING retried)."""
        deadline = self.started + limit
        conn = None
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s (log %s)" % (self.name, self.proc.returncode, self.log.name))
            try:
                if conn is None:
                    conn = Conn(self.port)
                if conn.call("PING") == b"PONG":
                    elapsed = time.perf_counter() - self.started
                    conn.close()
                    return elapsed
            except RuntimeError as e:
                if not str(e).startswith("-LOADING"):
                    raise
            except OSError:
                conn = None
            time.sleep(0.002)
        raise RuntimeError("%s did not answer PONG within %ss" % (self.name, limit))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.log.close()


def fresh_dir(parent, label):
    return tempfile.mkdtemp(prefix=label + "-", dir=parent)


def no_persistence():
    return ["--save", "", "--appendonly", "no"]


# Values are slices of a seeded random pool: incompressible, so the RDB file is about
# the dataset's size whether or not a server's LZF pass succeeds, and the same bytes in
# every run.
POOL = random.Random(20260101).randbytes(1 << 20)


def value(i):
    off = (i * 7919) % (len(POOL) - VALUE_SIZE)
    return POOL[off : off + VALUE_SIZE]


def fill(conn, keys, batch=10000):
    """SET key:%012d (redis-benchmark's -r key names) to a 100-byte value, pipelined; checks each +OK."""
    for start in range(0, keys, batch):
        end = min(start + batch, keys)
        payload = b"".join(encode([b"SET", b"key:%012d" % i, value(i)]) for i in range(start, end))
        conn.sock.sendall(payload)
        want = b"+OK\r\n" * (end - start)
        while len(conn.buf) < len(want):
            conn._fill()
        if conn.buf[: len(want)] != want:
            raise RuntimeError("unexpected reply while filling: %r" % conn.buf[:200])
        conn.buf = conn.buf[len(want) :]


def orders(rounds):
    """Round r runs the servers in this order: alternate who goes first."""
    names = ["cinnabar", "redis"]
    return [names if r % 2 == 0 else names[::-1] for r in range(rounds)]


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def ratio(a, b):
    return a / b if b else float("nan")


# ---------------------------------------------------------------------------------------
# 1. RDB save and load throughput


def bench_rdb(args, tmp):
    print("== RDB save/load: %d keys x %d-byte values, %d rounds" % (args.keys, VALUE_SIZE, args.rounds))
    dirs = {n: fresh_dir(tmp, "rdb-" + n) for n in ("cinnabar", "redis")}
    servers = {n: Server(n, args.port + i, dirs[n], no_persistence()) for i, n in enumerate(("cinnabar", "redis"))}
    save_mbs = {"cinnabar": [], "redis": []}
    sizes = {}
    try:
        for s in servers.values():
            s.wait_pong()
        conns = {n: Conn(s.port) for n, s in servers.items()}
        for n in orders(1)[0]:
            t0 = time.perf_counter()
            fill(conns[n], args.keys)
            print("  filled %-8s in %.1fs, used_memory %s" % (n, time.perf_counter() - t0, conns[n].info("memory")["used_memory_human"]))
        for order in orders(args.rounds):
            for n in order:
                t0 = time.perf_counter()
                if conns[n].call("SAVE") != b"OK":
                    raise RuntimeError("SAVE failed on " + n)
                elapsed = time.perf_counter() - t0
                size = os.path.getsize(os.path.join(dirs[n], "dump.rdb"))
                sizes[n] = size
                save_mbs[n].append(size / elapsed / 1e6)
        for c in conns.values():
            c.close()
    finally:
        for s in servers.values():
            s.stop()
    print("  RDB file sizes: cinnabar %.1f MB, redis %.1f MB" % (sizes["cinnabar"] / 1e6, sizes["redis"] / 1e6))
    print("  SAVE MB/s per round: cinnabar %s, redis %s" % (fmt_list(save_mbs["cinnabar"]), fmt_list(save_mbs["redis"])))
    rows = [("SAVE (write + fsync)", med(save_mbs["cinnabar"]), med(save_mbs["redis"]),
             med([ratio(a, b) for a, b in zip(save_mbs["cinnabar"], save_mbs["redis"])]))]

    # Startup time of an empty server, subtracted from the loads.
    empty = {"cinnabar": [], "redis": []}
    load = {(n, f): [] for n in ("cinnabar", "redis") for f in ("cinnabar", "redis")}
    # Peak RSS while loading (VmHWM) over the RSS once loaded: what the load costs on top
    # of the dataset it builds.
    load_peak = {(n, f): [] for n in ("cinnabar", "redis") for f in ("cinnabar", "redis")}
    for order in orders(args.rounds):
        for n in order:
            d = fresh_dir(tmp, "empty-" + n)
            s = Server(n, args.port, d, no_persistence())
            try:
                empty[n].append(s.wait_pong())
            finally:
                s.stop()
                shutil.rmtree(d)
            for f in order:
                d = fresh_dir(tmp, "load-%s-from-%s" % (n, f))
                shutil.copy(os.path.join(dirs[f], "dump.rdb"), os.path.join(d, "dump.rdb"))
                s = Server(n, args.port, d, no_persistence())
                try:
                    load[(n, f)].append(s.wait_pong())
                    c = Conn(args.port)
                    got = int(c.call("DBSIZE"))
                    c.close()
                    hwm = proc_kb(s.proc.pid, "status", "VmHWM")
                    rss = proc_kb(s.proc.pid, "status", "VmRSS")
                    load_peak[(n, f)].append((hwm - rss) * 1024)
                    if got != args.keys:
                        raise RuntimeError("%s loaded %d keys from %s's file, want %d" % (n, got, f, args.keys))
                finally:
                    s.stop()
                    shutil.rmtree(d)
    print("  empty-server start (s): cinnabar %s, redis %s" % (fmt_list(empty["cinnabar"], 3), fmt_list(empty["redis"], 3)))
    for f in ("cinnabar", "redis"):
        mbs = {}
        for n in ("cinnabar", "redis"):
            base = med(empty[n])
            mbs[n] = [sizes[f] / max(t - base, 1e-6) / 1e6 for t in load[(n, f)]]
            print("  load of %s's file by %-8s (s, spawn to PONG): %s; peak RSS over loaded RSS (MB): %s"
                  % (f, n, fmt_list(load[(n, f)], 3), fmt_list([x / 1e6 for x in load_peak[(n, f)]])))
        rows.append(("load %s's file" % f, med(mbs["cinnabar"]), med(mbs["redis"]),
                     med([ratio(a, b) for a, b in zip(mbs["cinnabar"], mbs["redis"])])))
    for d in dirs.values():
        shutil.rmtree(d)
    print()
    print("  %-26s %14s %14s %18s" % ("RDB MB/s (median)", "cinnabar", "redis", "cinnabar/redis"))
    for name, c, r, q in rows:
        print("  %-26s %14.1f %14.1f %18.2f" % (name, c, r, q))
    print()


def fmt_list(xs, digits=1):
    return "[" + ", ".join("%.*f" % (digits, x) for x in xs) + "]"


# ---------------------------------------------------------------------------------------
# 2. Memory during BGSAVE under a write load


def proc_kb(pid, path, field):
    try:
        with open("/proc/%d/%s" % (pid, path)) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return None


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        out = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open("/proc/%s/stat" % entry) as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                            out.append(int(entry))
                except (FileNotFoundError, ProcessLookupError, IndexError):
                    pass
        return out


def writer(port, keys, clients, pipeline):
    """redis-benchmark overwriting random existing keys with same-size values, until killed."""
    return subprocess.Popen(
        [BENCH, "-p", str(port), "-t", "set", "-n", "1000000000", "-r", str(keys), "-d", str(VALUE_SIZE),
         "-c", str(clients), "-P", str(pipeline), "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def cow_once(name, args, tmp):
    d = fresh_dir(tmp, "cow-" + name)
    s = Server(name, args.port, d, no_persistence())
    w = None
    try:
        s.wait_pong()
        conn = Conn(s.port)
        fill(conn, args.keys)
        pid = s.proc.pid
        w = writer(s.port, args.keys, 50, args.cow_pipeline)
        time.sleep(1.0)  # let the write load reach steady state
        rss0, used0 = [], []
        t_end = time.perf_counter() + 1.0
        while time.perf_counter() < t_end:
            rss0.append(proc_kb(pid, "status", "VmRSS"))
            used0.append(int(conn.info("memory")["used_memory"]))
            time.sleep(0.01)
        before_writes = int(conn.info("stats")["total_commands_processed"])
        t0 = time.perf_counter()
        if not conn.call("BGSAVE").startswith(b"Background saving started"):
            raise RuntimeError("BGSAVE refused on " + name)
        # How long the server took to answer BGSAVE, and the slowest INFO round trip
        # while it ran: a server that stops serving clients during the save shows here.
        bgsave_reply = time.perf_counter() - t0
        max_rtt = 0.0
        peak_rss = peak_used = peak_child_dirty = peak_cow = 0
        samples = 0
        while True:
            t_sample = time.perf_counter()
            rss = proc_kb(pid, "status", "VmRSS") or 0
            peak_rss = max(peak_rss, rss)
            for child in children(pid):
                dirty = proc_kb(child, "smaps_rollup", "Private_Dirty")
                if dirty is not None:
                    peak_child_dirty = max(peak_child_dirty, dirty)
            mem = conn.info("memory")
            peak_used = max(peak_used, int(mem["used_memory"]))
            pers = conn.info("persistence")
            peak_cow = max(peak_cow, int(pers.get("current_cow_peak", 0)), int(pers.get("current_cow_size", 0)))
            max_rtt = max(max_rtt, (time.perf_counter() - t_sample) / 2)
            samples += 1
            if pers["rdb_bgsave_in_progress"] == "0":
                break
            time.sleep(0.005)
        elapsed = time.perf_counter() - t0
        writes = int(conn.info("stats")["total_commands_processed"]) - before_writes
        pers = conn.info("persistence")
        if pers["rdb_last_bgsave_status"] != "ok":
            raise RuntimeError("BGSAVE failed on " + name)
        hwm = proc_kb(pid, "status", "VmHWM")
        conn.close()
        base_rss = med(rss0) * 1024
        base_used = med(used0)
        return {
            "bgsave_s": elapsed,
            "bgsave_reply": bgsave_reply,
            "max_rtt": max_rtt,
            "writes_during": writes,
            "samples": samples,
            "base_rss": base_rss,
            "base_used": base_used,
            "rss_over": peak_rss * 1024 - base_rss,
            "used_over": peak_used - base_used,
            "hwm": hwm * 1024,
            "child_dirty": peak_child_dirty * 1024,
            "cow_peak_info": peak_cow,
            "last_cow": int(pers["rdb_last_cow_size"]),
            "file": os.path.getsize(os.path.join(d, "dump.rdb")),
        }
    finally:
        if w is not None:
            w.kill()
            w.wait()
        s.stop()
        shutil.rmtree(d)


def bench_cow(args, tmp):
    print("== BGSAVE under write load: %d keys x %d B, writer redis-benchmark SET -c 50 -P %d -r %d, %d rounds"
          % (args.keys, VALUE_SIZE, args.cow_pipeline, args.keys, args.rounds))
    results = {"cinnabar": [], "redis": []}
    for order in orders(args.rounds):
        for n in order:
            r = cow_once(n, args, tmp)
            results[n].append(r)
            extra = "" if n == "cinnabar" else (
                ", child Private_Dirty peak %.1f MB, INFO cow peak %.1f MB, rdb_last_cow_size %.1f MB"
                % (r["child_dirty"] / 1e6, r["cow_peak_info"] / 1e6, r["last_cow"] / 1e6))
            print("  %-8s BGSAVE %.2fs (reply after %.3fs, slowest INFO %.3fs), %d commands during it, baseline RSS %.1f MB used %.1f MB; "
                  "peak over baseline: RSS %.1f MB, used_memory %.1f MB%s"
                  % (n, r["bgsave_s"], r["bgsave_reply"], r["max_rtt"], r["writes_during"], r["base_rss"] / 1e6, r["base_used"] / 1e6,
                     r["rss_over"] / 1e6, r["used_over"] / 1e6, extra))
    c, rd = results["cinnabar"], results["redis"]
    # Redis's extra memory is its parent's growth plus the pages the child keeps private.
    redis_total = [x["rss_over"] + x["child_dirty"] for x in rd]
    cin_total = [x["rss_over"] for x in c]
    print()
    print("  %-44s %12s %12s" % ("extra memory during BGSAVE (median, MB)", "cinnabar", "redis"))
    print("  %-44s %12.1f %12.1f" % ("server RSS peak over baseline", med(cin_total) / 1e6, med([x["rss_over"] for x in rd]) / 1e6))
    print("  %-44s %12.1f %12.1f" % ("used_memory peak over baseline", med([x["used_over"] for x in c]) / 1e6, med([x["used_over"] for x in rd]) / 1e6))
    print("  %-44s %12s %12.1f" % ("fork child Private_Dirty peak", "-", med([x["child_dirty"] for x in rd]) / 1e6))
    print("  %-44s %12s %12.1f" % ("rdb_last_cow_size", "-", med([x["last_cow"] for x in rd]) / 1e6))
    print("  %-44s %12.1f %12.1f" % ("total extra (RSS over + child Private_Dirty)", med(cin_total) / 1e6, med(redis_total) / 1e6))
    print("  %-44s %12.1f %12.1f" % ("  as % of baseline used_memory",
                                      100 * med([a / x["base_used"] for a, x in zip(cin_total, c)]),
                                      100 * med([a / x["base_used"] for a, x in zip(redis_total, rd)])))
    print("  %-44s %12.2f %12.2f" % ("BGSAVE duration (s)", med([x["bgsave_s"] for x in c]), med([x["bgsave_s"] for x in rd])))
    print("  %-44s %12.3f %12.3f" % ("BGSAVE reply time (s)", med([x["bgsave_reply"] for x in c]), med([x["bgsave_reply"] for x in rd])))
    print("  %-44s %12.3f %12.3f" % ("slowest INFO during BGSAVE (s)", med([x["max_rtt"] for x in c]), med([x["max_rtt"] for x in rd])))
    print("  %-44s %12d %12d" % ("commands processed during BGSAVE", med([x["writes_during"] for x in c]), med([x["writes_during"] for x in rd])))
    print()


# ---------------------------------------------------------------------------------------
# 3. Write throughput with the AOF


def aof_once(name, fsync, pipeline, args, tmp):
    d = fresh_dir(tmp, "aof-" + name)
    s = Server(name, args.port, d, ["--save", "", "--appendonly", "yes", "--appendfsync", fsync])
    try:
        s.wait_pong()
        out = subprocess.run(
            [BENCH, "-p", str(args.port), "-t", "set", "-n", str(args.requests), "-c", "50", "-P", str(pipeline),
             "-r", "100000", "--csv"],
            capture_output=True, text=True, check=True,
        ).stdout
        rps = None
        for line in out.splitlines():
            cols = [c.strip('"') for c in line.split(",")]
            if cols[0] == "SET":
                rps = float(cols[1])
        if rps is None:
            raise RuntimeError("no SET line in redis-benchmark output: %r" % out)
        c = Conn(args.port)
        if c.info("persistence")["aof_enabled"] != "1":
            raise RuntimeError("%s: AOF not enabled" % name)
        c.close()
        return rps
    finally:
        s.stop()
        shutil.rmtree(d)


def bench_aof(args, tmp):
    print("== AOF write throughput: redis-benchmark -t set -n %d -c 50 -r 100000, %d rounds" % (args.requests, args.rounds))
    print("  %-28s %14s %14s %18s" % ("SET requests/s (median)", "cinnabar", "redis", "cinnabar/redis"))
    for fsync in ("always", "everysec"):
        for pipeline in (1, 16):
            rps = {"cinnabar": [], "redis": []}
            for order in orders(args.rounds):
                for n in order:
                    rps[n].append(aof_once(n, fsync, pipeline, args, tmp))
            q = med([ratio(a, b) for a, b in zip(rps["cinnabar"], rps["redis"])])
            print("  %-28s %14.0f %14.0f %18.2f   rounds: cinnabar %s redis %s"
                  % ("appendfsync %s -P %d" % (fsync, pipeline), med(rps["cinnabar"]), med(rps["redis"]), q,
                     fmt_list(rps["cinnabar"], 0), fmt_list(rps["redis"], 0)))
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys", type=int, default=1000000, help="keys in the dataset (100-byte values)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per measurement")
    ap.add_argument("--requests", type=int, default=100000, help="redis-benchmark -n for the AOF runs")
    ap.add_argument("--cow-pipeline", type=int, default=1, help="-P of the write load during BGSAVE")
    ap.add_argument("--only", default="rdb,cow,aof", help="comma-separated: rdb, cow, aof")
    ap.add_argument("--port", type=int, default=7400, help="uses this port and the next")
    ap.add_argument("--tmp", default=None, help="parent of the fresh directories (default: system temp)")
    args = ap.parse_args()
    if not os.path.exists(CINNABAR):
        sys.exit("build first: cargo build --release -p cinnabar-io-real")
    wanted = set(w for w in args.only.split(",") if w)
    tmp = tempfile.mkdtemp(prefix="cinnabar-persist-bench-", dir=args.tmp)
    print("# %s, %d CPUs, temp dir %s (%s)" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.cpu_count(), tmp,
                                              subprocess.run(["df", "--output=source,fstype", tmp], capture_output=True,
                                                             text=True).stdout.split("\n")[1].strip()))
    print("# %s" % subprocess.run([REDIS, "--version"], capture_output=True, text=True).stdout.strip())
    print()
    try:
        if "rdb" in wanted:
            bench_rdb(args, tmp)
        if "cow" in wanted:
            bench_cow(args, tmp)
        if "aof" in wanted:
            bench_aof(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
