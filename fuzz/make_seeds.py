#!/usr/bin/env python3
"""Writes the hand-made seeds of fuzz/corpus/{resp,commands,rdb_roundtrip}/ in the
byte layouts core/src/fuzz_checks.rs decodes. (The RDB, DUMP and AOF seeds come
from redis-server 7.0: see README.md.) Run from fuzz/: python3 make_seeds.py"""
import os

COMMANDS = """SET GET GETSET GETDEL GETEX SETNX SETEX MSET MSETNX APPEND SETRANGE GETRANGE INCR
INCRBY DECRBY INCRBYFLOAT STRLEN SETBIT BITOP BITCOUNT BITFIELD LPUSH RPUSH LPUSHX LPOP RPOP
LINSERT LSET LREM LTRIM LRANGE LINDEX LMOVE LPOS LMPOP SADD SREM SPOP SMOVE SINTERSTORE
SUNIONSTORE SDIFFSTORE SMEMBERS SRANDMEMBER SISMEMBER SINTERCARD HSET HSETNX HDEL HINCRBY
HINCRBYFLOAT HGETALL HRANDFIELD HSCAN ZADD ZINCRBY ZREM ZREMRANGEBYSCORE ZREMRANGEBYRANK
ZREMRANGEBYLEX ZRANGE ZRANGESTORE ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZPOPMIN ZPOPMAX ZMPOP
ZRANDMEMBER ZSCORE ZRANK ZCOUNT ZLEXCOUNT DEL UNLINK EXISTS TYPE RENAME RENAMENX COPY MOVE
SELECT SWAPDB EXPIRE PEXPIRE PERSIST TTL SORT DUMP RESTORE PFADD PFMERGE MULTI EXEC DISCARD
WATCH""".split()
assert len(COMMANDS) == 96
MEMBERS = ["a", "b", "c", "d", "e", "10", "-3", "20"]
KEYWORDS = """NX XX GT LT CH INCR WITHSCORES LIMIT BYSCORE BYLEX REV EX PX KEEPTTL GET LEFT
RIGHT BEFORE AFTER COUNT MATCH TYPE REPLACE ABSTTL IDLETIME FREQ STORE BY ASC DESC ALPHA
WEIGHTS AGGREGATE SUM MIN MAX RANK MAXLEN WITHVALUES (1 [a - + -inf +inf nan 1.5 0""".split()
assert len(KEYWORDS) == 48


def arg(a):
    """One argument's bytes: k0..k3, an int in -8..23, a member, a keyword, x*n, or raw."""
    if a in ("k0", "k1", "k2", "k3"):
        return bytes([int(a[1]) << 3 | 0])
    if a in MEMBERS:
        return bytes([MEMBERS.index(a) << 3 | 2])
    if a in KEYWORDS:
        return bytes([3, KEYWORDS.index(a)])
    if a.lstrip("-").isdigit() and -8 <= int(a) <= 23:
        return bytes([(int(a) + 8) << 3 | 1])
    if set(a) == {"x"} and 14 <= len(a) <= 45:
        return bytes([(len(a) - 14) << 3 | 6])
    raw = a.encode()
    assert len(raw) < 24
    return bytes([5, len(raw)]) + raw


def commands(lines, conn=0):
    out = b""
    for line in lines:
        words = line.split()
        out += bytes([COMMANDS.index(words[0]) | conn << 7, len(words) - 1])
        for w in words[1:]:
            out += arg(w)
    return out


WRITES = "SET RPUSH SADD HSET ZADD PEXPIRE SELECT SETBIT INCRBY PFADD LPUSH APPEND".split()


def roundtrip(ops):
    """ops: (write, key index, [args]); the count byte says len(args) (or pairs)."""
    out = b""
    for name, key, args in ops:
        out += bytes([key << 4 | WRITES.index(name)])
        if name == "SELECT":
            continue
        if name in ("PEXPIRE", "SETBIT"):
            out += bytes([args[0]])
            continue
        n = len(args) // 2 if name == "ZADD" else len(args)
        out += bytes([n - 1]) + b"".join(arg(a) for a in args)
    return out


def resp(stream, auth=0, seeds=b"\x00\x05\x10\x3f\x01\x02\x07\x20"):
    return bytes([auth]) + seeds + stream


def write(target, name, data):
    os.makedirs(f"corpus/{target}", exist_ok=True)
    with open(f"corpus/{target}/{name}", "wb") as f:
        f.write(data)


write("resp", "multibulk", resp(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*1\r\n$4\r\nPING\r\n"))
write("resp", "inline", resp(b"SET k \"a b\\x41\" 'c'\r\nPING\n\r\n  \r\nGET k\r\n"))
write("resp", "empty-and-null", resp(b"*0\r\n*-1\r\n*2\r\n$0\r\n\r\n$-1\r\n"))
write("resp", "unbalanced", resp(b"SET \"k v\r\n"))
write("resp", "bad-dollar", resp(b"*2\r\n$3\r\nGET\r\n:1\r\n"))
write("resp", "unauth", resp(b"*11\r\n", auth=1))
write("resp", "unauth-bulk", resp(b"*1\r\n$16385\r\n", auth=1))
write("resp", "partial", resp(b"*2\r\n$3\r\nGET\r\n$10\r\nabc"))
write("resp", "bad-count", resp(b"*x\r\n"))
write("resp", "pipelined", resp(b"PING\r\n*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n"))

write("commands", "strings", commands(["SET k0 10", "INCR k0", "APPEND k0 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                                       "SETRANGE k1 5 abc", "INCRBYFLOAT k2 1.5", "GETEX k0 EX 100", "SETBIT k3 7 1"]))
write("commands", "lists", commands(["RPUSH k1 a b c d e", "LPOP k1", "LINSERT k1 BEFORE c 10",
                                     "LTRIM k1 0 1", "LMOVE k1 k2 LEFT RIGHT", "LREM k1 0 a"]))
write("commands", "sets", commands(["SADD k2 10 -3 20", "SADD k2 a", "SREM k2 a 10 -3 20",
                                    "SADD k0 1 2 3 4 5", "SINTERSTORE k3 k0 k2", "SPOP k0 3"]))
write("commands", "hashes", commands(["HSET k3 a b c d", "HSET k3 e 10 xxxxxxxxxxxxxxxxxxxxxx 1",
                                      "HDEL k3 a c e", "HINCRBYFLOAT k3 b 1.5", "HRANDFIELD k3 -5 WITHVALUES"]))
write("commands", "zsets", commands(["ZADD k0 1.5 a 0 b", "ZADD k0 GT CH 3 a 4 c 5 d 6 e",
                                     "ZREMRANGEBYRANK k0 0 2", "ZUNIONSTORE k1 2 k0 k0 WEIGHTS 2 3",
                                     "ZRANGESTORE k2 k0 0 -1", "ZPOPMIN k0 2"]))
write("commands", "keyspace", commands(["SET k0 a", "RENAME k0 k1", "COPY k1 k2", "MOVE k2 1",
                                        "SWAPDB 0 1", "EXPIRE k1 100", "PERSIST k1", "SORT k3 ALPHA STORE k0"]))
write("commands", "transaction", commands(["WATCH k0", "MULTI", "SET k0 1", "INCR k0", "EXEC"]) +
      commands(["SET k0 2"], conn=1) + commands(["MULTI", "LPUSH k1 a", "DISCARD"]))
write("commands", "dump-restore", commands(["RPUSH k1 a b", "DUMP k1", "PFADD k2 a b c", "PFMERGE k3 k2 k1"]))

write("rdb_roundtrip", "every-type", roundtrip([
    ("SET", 0, ["10"]), ("RPUSH", 1, ["a", "b", "c"]), ("SADD", 2, ["10", "20"]),
    ("HSET", 3, ["a", "b"]), ("SELECT", 1, []), ("ZADD", 0, ["1", "a", "2", "b"]),
    ("PEXPIRE", 0, [5]), ("PFADD", 1, ["a", "b"]), ("SETBIT", 2, [40])]))
write("rdb_roundtrip", "big-encodings", roundtrip([
    ("RPUSH", 1, ["a", "b", "c", "d"]), ("RPUSH", 1, ["xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "e"]),
    ("SADD", 2, ["10", "20", "-3", "a"]), ("SADD", 2, ["b", "c"]),
    ("HSET", 3, ["a", "b", "c", "d"]), ("HSET", 3, ["e", "10", "xxxxxxxxxxxxxxxxxxxxxxx", "1"]),
    ("ZADD", 0, ["1", "a", "2", "b", "3", "c", "4", "d"]), ("ZADD", 0, ["5", "e"]),
    ("APPEND", 1, ["xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"])]))
write("rdb_roundtrip", "strings", roundtrip([
    ("SET", 0, ["xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"]), ("INCRBY", 1, ["-8"]),
    ("SET", 2, ["20"]), ("APPEND", 3, ["a"]), ("SELECT", 2, []), ("SET", 3, ["-3"])]))


# A version-9 RDB file of the encodings Redis 7 reads but no longer writes
# (ziplists, zipmap, quicklist of ziplists), checksum 0 (rdbchecksum no).
def zl_entry(prev, v):
    pre = bytes([prev]) if prev < 254 else b"\xfe" + prev.to_bytes(4, "little")
    if isinstance(v, int):
        if 0 <= v <= 12:
            enc = bytes([0xF1 + v])
        elif -128 <= v < 128:
            enc = b"\xfe" + v.to_bytes(1, "little", signed=True)
        elif -(1 << 15) <= v < 1 << 15:
            enc = b"\xc0" + v.to_bytes(2, "little", signed=True)
        elif -(1 << 23) <= v < 1 << 23:
            enc = b"\xf0" + v.to_bytes(3, "little", signed=True)
        elif -(1 << 31) <= v < 1 << 31:
            enc = b"\xd0" + v.to_bytes(4, "little", signed=True)
        else:
            enc = b"\xe0" + v.to_bytes(8, "little", signed=True)
    else:
        n = len(v)
        if n < 64:
            enc = bytes([n]) + v
        elif n < 16384:
            enc = bytes([0x40 | n >> 8, n & 0xFF]) + v
        else:
            enc = b"\x80" + n.to_bytes(4, "big") + v
    return pre + enc


def ziplist(items):
    body, prev, tail = b"", 0, 10
    for v in items:
        e = zl_entry(prev, v)
        tail = 10 + len(body)
        body += e
        prev = len(e)
    total = 10 + len(body) + 1
    return total.to_bytes(4, "little") + tail.to_bytes(4, "little") + \
        len(items).to_bytes(2, "little") + body + b"\xff"


def zipmap(pairs, free):
    out = bytes([len(pairs)])
    for k, v in pairs:
        out += bytes([len(k)]) + k + bytes([len(v)]) + bytes([free]) + v + b"\0" * free
    return out + b"\xff"


def blob(b):
    n = len(b)
    return (bytes([n]) if n < 64 else bytes([0x40 | n >> 8, n & 0xFF])) + b


def legacy_rdb():
    f = b"REDIS0009\xfe\x00"

    def key(t, name, body):
        return bytes([t]) + blob(name) + body
    f += key(10, b"ziplist-list", blob(ziplist([b"a", 7, -100, 70000, 5_000_000_000, b"L" * 100, b""])))
    f += key(14, b"quicklist-of-ziplists", b"\x02" + blob(ziplist([b"x", 1])) + blob(ziplist([b"y", 2, 3])))
    f += key(13, b"ziplist-hash", blob(ziplist([b"f", b"v", b"num", 12, b"big", b"L" * 70])))
    f += key(12, b"ziplist-zset", blob(ziplist([b"a", 1, b"b", b"2.5", b"c", 3])))
    f += key(9, b"zipmap-hash", blob(zipmap([(b"a", b"1"), (b"field", b"value")], 3)))
    f += key(3, b"old-zset", b"\x03\x01a\x031.5\x01b\xfe\x01c\xff")
    f += key(1, b"linked-list", b"\x03\x01x\xc0\x05\xc1\x00\x10")
    return f + b"\xff" + b"\0" * 8


write("rdb_load", "legacy-v9.rdb", legacy_rdb())
