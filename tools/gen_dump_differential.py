#!/usr/bin/env python3
"""Regenerates io-real/tests/differential/dump.redis: DUMP lines for every
order-independent encoding and RESTORE lines whose binary payloads (CRC-64/REDIS
footers, legacy ziplist/zipmap bodies) are written as \\x escapes.
Run from the repository root: python3 tools/gen_dump_differential.py"""
import struct
POLY=0x95ac9329ac4bc9b5
tab=[]
for i in range(256):
    c=i
    for _ in range(8):
        c = (c>>1)^POLY if c&1 else c>>1
    tab.append(c)
def crc64(b):
    c=0
    for x in b: c=tab[(c^x)&0xff]^(c>>8)
    return c
assert crc64(b"123456789")==0xe9c6d914c4b8d9ca
def q(b):
    return '"'+''.join(chr(c) if (chr(c).isalnum()) else '\\x%02x'%c for c in b)+'"'
def payload(body, ver=10):
    b=body+struct.pack('<H',ver)
    return b+struct.pack('<Q',crc64(b))
hello=payload(b"\x00\x05hello")
L=[]
a=L.append
def R(key, ttl, p, *opts, cmd="RESTORE"):
    a(" ".join([cmd, key, ttl, q(p)]+list(opts)))
a("# DUMP payloads of every encoding whose bytes do not depend on hash-table order,")
a("# and RESTORE with every option and error. Payloads are compared byte for byte.")
a("DUMP nokey")
for k,v in [("s","hello"),("n","300"),("neg","-5"),("big","12345678901"),("i64","-9223372036854775808"),("notint","007"),("empty",'""')]:
    a("SET %s %s"%(k,v)); a("DUMP "+k)
a("SET lz "+"ab"*50)
a("DUMP lz")
a("CONFIG SET rdbcompression no")
a("DUMP lz")
a("CONFIG SET rdbcompression yes")
a("SET rnd "+"".join("%02x"%((i*97+13)%251) for i in range(40)))
a("DUMP rnd")
a("SADD is 1 2 3")
a("DUMP is")
a("SADD is64 1 -70000 5000000000")
a("DUMP is64")
a("SADD one x")
a("DUMP one")
a("HSET h f v n 7")
a("DUMP h")
a("HSET hl f "+"x"*70)
a("DUMP hl")
a("ZADD z 1 m 2.5 n -inf o 1e100 p")
a("DUMP z")
a("RPUSH l a 1 b -2")
a("DUMP l")
a("CONFIG SET zset-max-listpack-entries 0")
a("ZADD z2 1.5 a 2 b -3 c")
a("DUMP z2")
a("CONFIG SET zset-max-listpack-entries 128")
a("CONFIG SET hash-max-listpack-entries 0")
a("HSET h2 f 7")
a("DUMP h2")
a("CONFIG SET hash-max-listpack-entries 512")
a("CONFIG SET list-max-listpack-size 4")
a("CONFIG SET list-compress-depth 1")
a("RPUSH ql "+" ".join(("element-%d-"%i)*6 for i in range(14)))
a("DUMP ql")
a("RPUSH small x y")
a("DUMP small")
a("CONFIG SET list-compress-depth 0")
a("CONFIG SET list-max-listpack-size -2")
a("RPUSH ql2 "+" ".join("e%d"%i for i in range(1000)))
a("DUMP ql2")
a("# RESTORE")
R("r","0",hello)
a("GET r")
a("TTL r")
R("r","0",hello)
R("r","0",hello,"REPLACE")
R("r","0",hello,"replace","ABSTTL")
R("ra","0",hello,cmd="RESTORE-ASKING")
a("GET ra")
R("t","100000",hello)
a("TTL t")
R("t2","9999999999999",hello,"ABSTTL")
a("TTL t2")
R("past","1",hello,"ABSTTL")
a("EXISTS past")
R("r","1",hello,"ABSTTL","REPLACE")
a("EXISTS r")
R("e","-1",hello)
R("e","abc",hello)
R("e","0",hello,"FOO")
R("e","0",hello,"IDLETIME")
R("e","0",hello,"IDLETIME","-1")
R("e","0",hello,"IDLETIME","x")
R("e","0",hello,"FREQ","256")
R("e","0",hello,"FREQ","-1")
R("e","0",hello,"FREQ","1","IDLETIME","1")
R("e","0",hello,"IDLETIME","1","FREQ","1")
R("e","0",hello,"FREQ","7")
a("GET e")
R("e2","0",hello,"IDLETIME","5","REPLACE","ABSTTL")
a("GET e2")
a("RESTORE e3 0 short")
a('RESTORE e3 0 ""')
bad=bytearray(hello); bad[2]^=1
R("e3","0",bytes(bad))
R("e3","0",payload(b'\x00\x05hello',11))
R("e3","0",payload(b'\x00\x05hello',9))
a("GET e3")
for body in [b'\x04\x05\x01f', b'\x0f\x00', b'\xff', b'\x02\x00', b'\x02\x02\x01a\x01a',
             b'\x04\x02\x01f\x01v\x01f\x01w', b'\x0b\x04\x02\x00\x00\x00', b'\x12\x01\x03\x01x',
             b'\x14\x0d\x0d\x00\x00\x00\x01\x00\x81a\x02\xff', b'\x08\x00']:
    R("e4","0",payload(body))
a("EXISTS e4")
a("RESTORE")
a("RESTORE a")
a("DUMP")
a("DUMP a b")
a("# Old encodings RESTORE still reads: ziplist list/hash/zset, zipmap, text-score zset,")
a("# quicklist of ziplists, linked list")
def ziplist(entries):
    body=b''; prev=0; tail=10
    for e in entries:
        start=len(body); tail=10+start
        body+=bytes([prev])
        if isinstance(e,int):
            body+=bytes([0xf1+e]) if 0<=e<=12 else b'\xfe'+struct.pack('<b',e)
        else:
            body+=bytes([len(e)])+e
        prev=len(body)-start
    total=10+len(body)+1
    return struct.pack('<IIH',total,tail,len(entries))+body+b'\xff'
def blob(b): return bytes([len(b)])+b
zl=ziplist([b'a',7,b'bc',-100])
R("zl","0",payload(b'\x0a'+blob(zl)))
a("LRANGE zl 0 -1")
hz=ziplist([b'f',b'v',b'n',1])
R("hz","0",payload(b'\x0d'+blob(hz)))
a("HGETALL hz")
a("OBJECT ENCODING hz")
zz=ziplist([b'a',1,b'b',b'2.5'])
R("zz","0",payload(b'\x0c'+blob(zz)))
a("ZRANGE zz 0 -1 WITHSCORES")
a("OBJECT ENCODING zz")
zm=bytes([2])+b'\x01a\x01\x001'+b'\x01b\x02\x01xy\x00'+b'\xff'
R("zm","0",payload(b'\x09'+blob(zm)))
a("HGETALL zm")
a("OBJECT ENCODING zm")
R("zt","0",payload(b'\x03\x02\x01a\x031.5\x01b\xfe'))
a("ZRANGE zt 0 -1 WITHSCORES")
R("qz","0",payload(b'\x0e\x01'+blob(zl)))
a("LRANGE qz 0 -1")
R("ll","0",payload(b'\x01\x02\x01x\xc0\x05'))
a("LRANGE ll 0 -1")
a("DEBUG DIGEST-VALUE zl hz zz zm zt qz ll")
a("# Notifications")
a("@conn 1")
a("PSUBSCRIBE __key*__:*")
a("@conn 0")
a("CONFIG SET notify-keyspace-events KEA")
R("nk","0",hello)
R("nk","0",hello,"REPLACE")
R("nk","1",hello,"REPLACE","ABSTTL")
R("nk2","1",hello,"ABSTTL")
a("@conn 1")
a("@drain")
a("@conn 0")
a('CONFIG SET notify-keyspace-events ""')
open('io-real/tests/differential/dump.redis','w').write('\n'.join(L)+'\n')
